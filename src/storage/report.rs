//! Reading tickets for the manager's report, as a stream: a million tickets never
//! sit in memory at once.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use sqlx::Row;

use super::{Context, Result, StorageError, Store, from_ms, ms};
use crate::domain::stats::{Report, ReportBuilder, Share, Totals, iso_week};

impl Store {
    /// The manager's figures for tickets opened in `[since, until)`, as of `now`.
    ///
    /// Counted by the database in groups (a handful of grouped scans of one
    /// table), so a million tickets reach the desk as a few thousand rows. Days
    /// and ISO weeks are the desk's, at its UTC offset at `since` (a ticket within
    /// an hour of midnight on a daylight-saving change may count on the next day).
    pub async fn report(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
        tz: chrono_tz::Tz,
    ) -> Result<Report> {
        use chrono::Offset;
        let offset_ms = i64::from(since.with_timezone(&tz).offset().fix().local_minus_utc()) * 1000;
        let day = |d: i64| {
            chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
                + chrono::Duration::days(d)
        };
        let c = "counting tickets for a report";
        let (from, to) = (ms(since), ms(until));
        let range = "created_at >= $1 AND created_at < $2";
        let mut b = ReportBuilder::new(now, tz);
        let n = |v: i64| u64::try_from(v).unwrap_or(0);

        let sql = format!(
            "SELECT COUNT(*),
                CAST(COALESCE(SUM(CASE WHEN claimed_at IS NOT NULL AND claimed_at <= respond_by THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN claimed_at IS NOT NULL OR respond_by < $3 THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN finished_at IS NOT NULL AND finished_at <= resolve_by THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN finished_at IS NOT NULL OR resolve_by < $3 THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN rating IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(COALESCE(rating, 0)), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN rating <= 2 THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN reopens > 0 THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN escalation + overdue > 0 THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN upset <> 0 THEN 1 ELSE 0 END), 0) AS BIGINT)
             FROM tickets WHERE {range}"
        );
        let r = sqlx::query(&sql)
            .bind(from)
            .bind(to)
            .bind(ms(now))
            .fetch_one(&self.pool)
            .await
            .ctx(c)?;
        let g = |i: usize| -> Result<u64> { Ok(n(r.try_get::<i64, _>(i).ctx(c)?)) };
        b.count_totals(&Totals {
            tickets: g(0)?,
            claimed_in_time: Share {
                part: g(1)?,
                whole: g(2)?,
            },
            finished_in_time: Share {
                part: g(3)?,
                whole: g(4)?,
            },
            rated: g(5)?,
            rating_sum: g(6)?,
            unhappy: g(7)?,
            reopened: g(8)?,
            escalated: g(9)?,
            upset: g(10)?,
        });

        for r in sqlx::query(&format!(
            "SELECT intent, COUNT(*) FROM tickets WHERE {range} GROUP BY intent"
        ))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .ctx(c)?
        {
            b.count_intent(&r.try_get::<String, _>(0).ctx(c)?, n(r.try_get(1).ctx(c)?));
        }
        for r in sqlx::query(&format!(
            "SELECT building, COUNT(*) FROM tickets WHERE {range} GROUP BY building"
        ))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .ctx(c)?
        {
            let building: Option<String> = r.try_get(0).ctx(c)?;
            b.count_building(building.as_deref().unwrap_or("—"), n(r.try_get(1).ctx(c)?));
        }
        for r in sqlx::query(&format!(
            "SELECT category, (created_at + $3) / 86400000, COUNT(*) FROM tickets WHERE {range}
             GROUP BY category, (created_at + $3) / 86400000"
        ))
        .bind(from)
        .bind(to)
        .bind(offset_ms)
        .fetch_all(&self.pool)
        .await
        .ctx(c)?
        {
            let category: Option<String> = r.try_get(0).ctx(c)?;
            b.count_day(
                category.as_deref().unwrap_or("other"),
                day(r.try_get(1).ctx(c)?),
                n(r.try_get(2).ctx(c)?),
            );
        }
        // Weeks numbered from the Monday before the epoch (1970-01-01 was a Thursday).
        for r in sqlx::query(&format!(
            "SELECT category, building, ((created_at + $3) / 86400000 + 3) / 7, COUNT(*) FROM tickets
             WHERE {range} AND category IS NOT NULL AND building IS NOT NULL
             GROUP BY category, building, ((created_at + $3) / 86400000 + 3) / 7
             HAVING COUNT(*) >= 2"
        ))
        .bind(from)
        .bind(to)
        .bind(offset_ms)
        .fetch_all(&self.pool)
        .await
        .ctx(c)?
        {
            let monday = day(r.try_get::<i64, _>(2).ctx(c)? * 7 - 3);
            b.count_week(
                &r.try_get::<String, _>(0).ctx(c)?,
                &r.try_get::<String, _>(1).ctx(c)?,
                &iso_week(monday),
                n(r.try_get(3).ctx(c)?),
            );
        }
        for (column, claim) in [("claimed_at", true), ("finished_at", false)] {
            for r in sqlx::query(&format!(
                "SELECT ({column} - created_at) / 60000, COUNT(*) FROM tickets
                 WHERE {range} AND {column} IS NOT NULL GROUP BY ({column} - created_at) / 60000"
            ))
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await
            .ctx(c)?
            {
                let minutes = r.try_get::<i64, _>(0).ctx(c)?.max(0);
                let count = n(r.try_get(1).ctx(c)?);
                if claim {
                    b.count_claim_minutes(minutes, count);
                } else {
                    b.count_finish_minutes(minutes, count);
                }
            }
        }
        for r in sqlx::query(&format!(
            "SELECT assignee_name, COUNT(*),
                    CAST(COALESCE(SUM(CASE WHEN finished_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT)
             FROM tickets WHERE {range} AND assignee_name IS NOT NULL GROUP BY assignee_name"
        ))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .ctx(c)?
        {
            b.count_staff(
                &r.try_get::<String, _>(0).ctx(c)?,
                n(r.try_get(1).ctx(c)?),
                n(r.try_get(2).ctx(c)?),
            );
        }
        let mut report = b.finish();
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) FROM corrections WHERE decided_at >= $1 AND decided_at < $2",
        )
        .bind(ms(since))
        .bind(ms(until))
        .fetch_one(&self.pool)
        .await
        .ctx("counting corrections")?
        .try_get(0)
        .ctx("counting corrections")?;
        report.corrections = u64::try_from(n).unwrap_or(0);
        report.surveys = self.survey_results(since, until, tz).await?;
        Ok(report)
    }
}

/// One line of a ticket's history, for the CSV export: what happened to which
/// ticket, when and by whom. Owners are not named and their own words are left
/// out (they may hold a room or a phone number); `/ticket N` shows those.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLine {
    pub ticket: i64,
    pub opened_at: DateTime<Utc>,
    pub intent: String,
    pub category: Option<String>,
    pub building: Option<String>,
    pub priority: String,
    pub status: String,
    pub rating: Option<i64>,
    pub at: DateTime<Utc>,
    pub kind: String,
    /// A staff member's name; `None` for the owner or the desk itself.
    pub actor: Option<String>,
    pub detail: Option<String>,
}

impl Store {
    /// Call `each` with every event of every ticket opened in `[since, until)`,
    /// ticket by ticket in order, streamed.
    pub async fn for_each_ticket_event(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        mut each: impl FnMut(EventLine) -> std::io::Result<()>,
    ) -> Result<u64> {
        let mut rows = sqlx::query(
            "SELECT t.id, t.created_at, t.intent, t.category, t.building, t.priority, t.status, t.rating,
                    e.at, e.kind, e.actor_id, e.actor_name, e.detail, t.reporter_id
             FROM tickets t JOIN ticket_events e ON e.ticket_id = t.id
             WHERE t.created_at >= $1 AND t.created_at < $2
             ORDER BY t.id, e.id",
        )
        .bind(ms(since))
        .bind(ms(until))
        .fetch(&self.pool);
        let c = "reading ticket events for an export";
        let mut n = 0;
        while let Some(r) = rows.try_next().await.ctx(c)? {
            let kind: String = r.try_get(9).ctx(c)?;
            let actor_id: Option<i64> = r.try_get(10).ctx(c)?;
            let reporter: i64 = r.try_get(13).ctx(c)?;
            // Owners (the reporter, or a neighbour who joined) are never named,
            // nor their words repeated.
            let by_owner = actor_id == Some(reporter)
                || matches!(kind.as_str(), "repeated" | "owner_details" | "location");
            let line = EventLine {
                ticket: r.try_get(0).ctx(c)?,
                opened_at: from_ms(r.try_get(1).ctx(c)?),
                intent: r.try_get(2).ctx(c)?,
                category: r.try_get(3).ctx(c)?,
                building: r.try_get(4).ctx(c)?,
                priority: r.try_get(5).ctx(c)?,
                status: r.try_get(6).ctx(c)?,
                rating: r.try_get(7).ctx(c)?,
                at: from_ms(r.try_get(8).ctx(c)?),
                kind,
                actor: if by_owner {
                    None
                } else {
                    r.try_get(11).ctx(c)?
                },
                detail: if by_owner {
                    None
                } else {
                    r.try_get(12).ctx(c)?
                },
            };
            each(line).map_err(StorageError::Write)?;
            n += 1;
        }
        Ok(n)
    }
}
