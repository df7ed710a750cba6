//! Reading tickets for the manager's report: whole days from their kept tallies
//! (the roll-up, migration 0012), the rest as a stream, so a million tickets
//! never sit in memory at once and a year is not a million rows read.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use futures::TryStreamExt;
use sqlx::Row;

use super::{Context, Result, StorageError, Store, from_ms, ms};
use crate::domain::stats::{Report, ReportBuilder, Tally, TicketFacts};
use serde::{Deserialize, Serialize};

/// The unit of `report_dirty`: every timezone's offset is a whole number of
/// quarter hours, so a quarter lies in one local day.
const QUARTER_MS: i64 = 900_000;

/// One local day's counts, estate by estate (`""`: the implicit estate), as
/// kept in `report_days`: a report of some estates merges theirs, the desk's
/// merges them all.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DayTally {
    by_estate: BTreeMap<String, Tally>,
}

impl DayTally {
    /// When the first deadline this day's counts relied on passes.
    fn stable_until(&self) -> Option<DateTime<Utc>> {
        self.by_estate
            .values()
            .filter_map(Tally::stable_until)
            .min()
    }
}

/// When `day` begins in `tz` (the first valid local time of it, should a
/// daylight-saving change skip midnight).
fn day_start(day: NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    (0..24)
        .find_map(|h| {
            tz.from_local_datetime(&day.and_hms_opt(h, 0, 0)?)
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}

/// The whole local days inside `[since, until)` up to `now`'s day, as
/// `[first, end)`; `None` if there is none. (Days still to come have no
/// tickets to keep a tally of.)
fn whole_days(
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Option<(NaiveDate, NaiveDate)> {
    let mut first = since.with_timezone(&tz).date_naive();
    if day_start(first, tz) < since {
        first = first.succ_opt()?;
    }
    let end = until
        .with_timezone(&tz)
        .date_naive()
        .min(now.with_timezone(&tz).date_naive().succ_opt()?);
    (first < end).then_some((first, end))
}

impl Store {
    /// The manager's figures for tickets opened in `[since, until)`, as of `now`.
    ///
    /// Whole days of the period come from their kept tallies (`report_days`),
    /// counted again only where a ticket of the day changed since (`report_dirty`,
    /// marked by triggers) or a deadline the tally counted on has passed; the
    /// part days at either end are counted from their tickets. A year over a
    /// million tickets is then a few hundred small reads, and memory stays flat.
    pub async fn report(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
        tz: chrono_tz::Tz,
    ) -> Result<Report> {
        self.report_in(None, since, until, now, tz).await
    }

    /// [`Store::report`] of the tickets and surveys of `estates` only (`None`:
    /// every estate); the classifier's corrections are the desk's, counted whole.
    pub async fn report_in(
        &self,
        estates: Option<&[String]>,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
        tz: chrono_tz::Tz,
    ) -> Result<Report> {
        let mut builder = ReportBuilder::new(now, tz);
        match whole_days(since, until, now, tz) {
            None => {
                self.for_each_ticket_fact(estates, since, until, |f| builder.add(&f))
                    .await?;
            }
            Some((first, end)) => {
                let (from, to) = (day_start(first, tz), day_start(end, tz));
                self.for_each_ticket_fact(estates, since, from, |f| builder.add(&f))
                    .await?;
                for day in self.day_tallies(first, end, now, tz).await? {
                    for (estate, tally) in &day.by_estate {
                        if estates.is_none_or(|e| e.contains(estate)) {
                            builder.merge(tally);
                        }
                    }
                }
                self.for_each_ticket_fact(estates, to, until, |f| builder.add(&f))
                    .await?;
            }
        }
        let mut report = builder.finish();
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
        report.surveys = self.survey_results(estates, since, until, tz).await?;
        Ok(report)
    }

    /// The tallies of the days `[first, end)`, counting again the days whose
    /// kept tally no longer holds at `now`.
    async fn day_tallies(
        &self,
        first: NaiveDate,
        end: NaiveDate,
        now: DateTime<Utc>,
        tz: chrono_tz::Tz,
    ) -> Result<Vec<DayTally>> {
        let dirty = self.dirty_days(tz).await?;
        let c = "reading the report's kept days";
        let mut kept: HashMap<NaiveDate, DayTally> = HashMap::new();
        let mut rows = sqlx::query(
            "SELECT day, tally, computed_at, stable_until FROM report_days
             WHERE tz = $1 AND day >= $2 AND day < $3",
        )
        .bind(tz.name())
        .bind(first.to_string())
        .bind(end.to_string())
        .fetch(&self.reader);
        while let Some(r) = rows.try_next().await.ctx(c)? {
            let day: String = r.try_get(0).ctx(c)?;
            let Ok(day) = day.parse::<NaiveDate>() else {
                continue; // counted again below
            };
            let computed_at: i64 = r.try_get(2).ctx(c)?;
            let stable_until: Option<i64> = r.try_get(3).ctx(c)?;
            let holds = !dirty.contains(&day)
                && computed_at <= ms(now)
                && stable_until.is_none_or(|u| ms(now) < u);
            if holds {
                let text: String = r.try_get(1).ctx(c)?;
                // A tally that does not parse (written by another version, such
                // as one before tallies were kept per estate) is counted again
                // rather than trusted.
                if let Ok(tally) = serde_json::from_str::<DayTally>(&text) {
                    kept.insert(day, tally);
                }
            }
        }
        drop(rows);
        let mut tallies = Vec::new();
        for day in first.iter_days().take_while(|d| *d < end) {
            match kept.remove(&day) {
                Some(tally) => tallies.push(tally),
                None => tallies.push(self.count_day(day, now, tz).await?),
            }
        }
        Ok(tallies)
    }

    /// Count the tickets opened on `day` (in `tz`), estate by estate, and keep
    /// the tally.
    async fn count_day(
        &self,
        day: NaiveDate,
        now: DateTime<Utc>,
        tz: chrono_tz::Tz,
    ) -> Result<DayTally> {
        let (start, end) = (
            day_start(day, tz),
            day_start(day.succ_opt().unwrap_or(day), tz),
        );
        // The marks go first: a ticket changed while the day is being counted
        // marks it again, and the next report counts it again.
        sqlx::query("DELETE FROM report_dirty WHERE quarter >= $1 AND quarter < $2")
            .bind(ms(start).div_euclid(QUARTER_MS))
            .bind(ms(end).div_euclid(QUARTER_MS))
            .execute(&self.pool)
            .await
            .ctx("clearing the report's marks")?;
        let mut builders: BTreeMap<String, ReportBuilder> = BTreeMap::new();
        self.ticket_facts(None, start, end, |estate, f| {
            builders
                .entry(estate)
                .or_insert_with(|| ReportBuilder::new(now, tz))
                .add(&f)
        })
        .await?;
        let tally = DayTally {
            by_estate: builders
                .into_iter()
                .map(|(estate, b)| (estate, b.into_tally()))
                .collect(),
        };
        let text = serde_json::to_string(&tally)
            .map_err(|e| StorageError::Corrupt(format!("a report tally: {e}")))?;
        // Two instances counting the same day: the later count stays.
        sqlx::query(
            "INSERT INTO report_days (tz, day, tally, computed_at, stable_until)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tz, day) DO UPDATE SET tally = excluded.tally,
                 computed_at = excluded.computed_at, stable_until = excluded.stable_until
             WHERE report_days.computed_at <= excluded.computed_at",
        )
        .bind(tz.name())
        .bind(day.to_string())
        .bind(text)
        .bind(ms(now))
        .bind(tally.stable_until().map(ms))
        .execute(&self.pool)
        .await
        .ctx("keeping a report day")?;
        Ok(tally)
    }

    /// Local days with a ticket opened or changed since they were last counted.
    async fn dirty_days(&self, tz: chrono_tz::Tz) -> Result<HashSet<NaiveDate>> {
        let quarters: Vec<i64> = sqlx::query_scalar("SELECT DISTINCT quarter FROM report_dirty")
            .fetch_all(&self.reader)
            .await
            .ctx("reading the report's marks")?;
        let mut days = HashSet::new();
        for q in quarters {
            days.insert(from_ms(q * QUARTER_MS).with_timezone(&tz).date_naive());
        }
        Ok(days)
    }

    /// Count again every day marked since it was last counted, up to `now`'s
    /// day, so the first report after a busy week does not have to. The clock
    /// runs it in the background (see `worker::clock`). Returns the days counted.
    pub async fn refresh_report_days(&self, now: DateTime<Utc>, tz: chrono_tz::Tz) -> Result<u64> {
        let today = now.with_timezone(&tz).date_naive();
        let mut days: Vec<NaiveDate> = self
            .dirty_days(tz)
            .await?
            .into_iter()
            .filter(|d| *d < today)
            .collect();
        days.sort();
        for day in &days {
            self.count_day(*day, now, tz).await?;
        }
        Ok(days.len() as u64)
    }

    /// Call `each` with the facts of every ticket of `estates` (`None`: all)
    /// opened in `[since, until)`.
    pub async fn for_each_ticket_fact(
        &self,
        estates: Option<&[String]>,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        mut each: impl FnMut(TicketFacts),
    ) -> Result<u64> {
        self.ticket_facts(estates, since, until, |_, f| each(f))
            .await
    }

    /// [`Store::for_each_ticket_fact`], with each ticket's estate.
    async fn ticket_facts(
        &self,
        estates: Option<&[String]>,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        mut each: impl FnMut(String, TicketFacts),
    ) -> Result<u64> {
        // The first claim, the last finish and the reopens are kept on the
        // ticket (with their events), so this is one pass over one table.
        let sql = format!(
            "SELECT t.intent, t.category, t.building, t.created_at, t.respond_by, t.resolve_by,
                    t.rating, t.assignee_name,
                    t.claimed_at, t.finished_at, t.reopens, t.escalation + t.overdue, t.upset,
                    t.estate
             FROM tickets t WHERE t.created_at >= $1 AND t.created_at < $2{}",
            in_estates("t.estate", 3, estates)
        );
        let mut rows = bind_estates(sqlx::query(&sql).bind(ms(since)).bind(ms(until)), estates)
            .fetch(&self.reader);
        let mut n = 0;
        let c = "reading tickets for a report";
        while let Some(r) = rows.try_next().await.ctx(c)? {
            let intent: String = r.try_get(0).ctx(c)?;
            let rating: Option<i64> = r.try_get(6).ctx(c)?;
            let claimed: Option<i64> = r.try_get(8).ctx(c)?;
            let done: Option<i64> = r.try_get(9).ctx(c)?;
            let reopened: i64 = r.try_get(10).ctx(c)?;
            let estate: String = r.try_get(13).ctx(c)?;
            each(
                estate,
                TicketFacts {
                    intent: serde_json::from_value(serde_json::Value::String(intent.clone()))
                        .map_err(|_| StorageError::Corrupt(format!("ticket intent '{intent}'")))?,
                    category: r.try_get(1).ctx(c)?,
                    building: r.try_get(2).ctx(c)?,
                    created_at: from_ms(r.try_get(3).ctx(c)?),
                    respond_by: from_ms(r.try_get(4).ctx(c)?),
                    resolve_by: from_ms(r.try_get(5).ctx(c)?),
                    claimed_at: claimed.map(from_ms),
                    finished_at: done.map(from_ms),
                    rating: rating.and_then(|r| u8::try_from(r).ok()),
                    reopened: reopened > 0,
                    assignee: r.try_get(7).ctx(c)?,
                    escalated: r.try_get::<i64, _>(11).ctx(c)? > 0,
                    upset: r.try_get::<i64, _>(12).ctx(c)? != 0,
                },
            );
            n += 1;
        }
        Ok(n)
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
        estates: Option<&[String]>,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        mut each: impl FnMut(EventLine) -> std::io::Result<()>,
    ) -> Result<u64> {
        let sql = format!(
            "SELECT t.id, t.created_at, t.intent, t.category, t.building, t.priority, t.status, t.rating,
                    e.at, e.kind, e.actor_id, e.actor_name, e.detail, t.reporter_id
             FROM tickets t JOIN ticket_events e ON e.ticket_id = t.id
             WHERE t.created_at >= $1 AND t.created_at < $2{}
             ORDER BY t.id, e.id",
            in_estates("t.estate", 3, estates)
        );
        let mut rows = bind_estates(sqlx::query(&sql).bind(ms(since)).bind(ms(until)), estates)
            .fetch(&self.reader);
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

/// ` AND <column> IN ($first, …)` for `estates`, or nothing for every estate.
/// No estate at all matches nothing.
pub(super) fn in_estates(column: &str, first: usize, estates: Option<&[String]>) -> String {
    match estates {
        None => String::new(),
        Some([]) => " AND 1 = 0".into(),
        Some(list) => {
            let marks: Vec<String> = (first..first + list.len())
                .map(|i| format!("${i}"))
                .collect();
            format!(" AND {column} IN ({})", marks.join(", "))
        }
    }
}

/// Bind the estates [`in_estates`] made placeholders for.
pub(super) fn bind_estates<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    estates: Option<&'q [String]>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for e in estates.unwrap_or_default() {
        query = query.bind(e.as_str());
    }
    query
}
