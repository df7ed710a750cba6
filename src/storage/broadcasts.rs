//! Broadcasts (notices, outage notices, fee reminders: one row each, copied to
//! groups through the outbox) and the outages they announce.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Context, Result, StorageError, Store, Tx, from_ms, ms};
use crate::domain::notice::{BroadcastKind, OutagePlan, Targets, Utility};

pub struct NewBroadcast<'a> {
    pub kind: BroadcastKind,
    pub sender_id: Option<i64>,
    pub text: &'a str,
    pub targets: &'a Targets,
    pub dedupe_key: &'a str,
    pub outage_id: Option<i64>,
    pub report_chat: Option<i64>,
    pub pin: bool,
    /// The estate whose groups `targets` names (`""`: the implicit one).
    pub estate: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broadcast {
    pub id: i64,
    pub kind: BroadcastKind,
    pub sender_id: Option<i64>,
    pub text: String,
    pub targets: Targets,
    pub outage_id: Option<i64>,
    pub report_chat: Option<i64>,
    pub pin: bool,
    pub created_at: DateTime<Utc>,
    pub recalled_at: Option<DateTime<Utc>>,
    /// The estate whose groups `targets` names.
    pub estate: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    pub id: i64,
    pub utility: Utility,
    pub targets: Targets,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
    pub cancelled: bool,
    /// The estate whose buildings `targets` names.
    pub estate: String,
}

/// The notices an outage gets after its announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutageStep {
    /// "starts soon"
    Reminded,
    /// "已恢复"
    Ended,
}

impl Store {
    pub async fn broadcast(&self, id: i64) -> Result<Option<Broadcast>> {
        sqlx::query(
            "SELECT id, kind, sender_id, text, targets, outage_id, pin, created_at, recalled_at, report_chat, estate FROM broadcasts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .ctx("reading a broadcast")?
        .map(|r| broadcast_from_row(&r))
        .transpose()
    }

    pub async fn broadcast_by_key(&self, key: &str) -> Result<Option<Broadcast>> {
        sqlx::query(
            "SELECT id, kind, sender_id, text, targets, outage_id, pin, created_at, recalled_at, report_chat, estate FROM broadcasts WHERE dedupe_key = $1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .ctx("reading a broadcast")?
        .map(|r| broadcast_from_row(&r))
        .transpose()
    }

    /// The latest broadcasts, newest first: the broadcast log.
    pub async fn recent_broadcasts(&self, limit: i64) -> Result<Vec<Broadcast>> {
        let sql = format!(
            "SELECT id, kind, sender_id, text, targets, outage_id, pin, created_at, recalled_at, report_chat, estate
             FROM broadcasts ORDER BY id DESC LIMIT {}",
            limit.clamp(1, 100)
        );
        let rows = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .ctx("listing broadcasts")?;
        rows.iter().map(broadcast_from_row).collect()
    }

    /// The broadcast that first announced outage `id`.
    pub async fn outage_announcement(&self, outage_id: i64) -> Result<Option<Broadcast>> {
        sqlx::query(
            "SELECT id, kind, sender_id, text, targets, outage_id, pin, created_at, recalled_at, report_chat, estate FROM broadcasts
             WHERE outage_id = $1 AND kind = $2 ORDER BY id LIMIT 1",
        )
        .bind(outage_id)
        .bind(BroadcastKind::Outage.as_str())
        .fetch_optional(&self.pool)
        .await
        .ctx("reading an outage announcement")?
        .map(|r| broadcast_from_row(&r))
        .transpose()
    }

    pub async fn outage(&self, id: i64) -> Result<Option<Outage>> {
        let sql = format!("SELECT {OUTAGE_COLUMNS} FROM outages WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .ctx("reading an outage")?
            .map(|r| outage_from_row(&r))
            .transpose()
    }

    /// Planned outages that have not ended by `now`.
    pub async fn current_outages(&self, now: DateTime<Utc>) -> Result<Vec<Outage>> {
        let sql = format!(
            "SELECT {OUTAGE_COLUMNS} FROM outages WHERE status = 'planned' AND ends_at > $1 ORDER BY starts_at"
        );
        let rows = sqlx::query(&sql)
            .bind(ms(now))
            .fetch_all(&self.reader)
            .await
            .ctx("listing outages")?;
        rows.iter().map(outage_from_row).collect()
    }

    /// Outages whose "starts soon" reminder is due and not yet sent.
    pub async fn due_outage_reminders(
        &self,
        now: DateTime<Utc>,
        lead: chrono::Duration,
    ) -> Result<Vec<Outage>> {
        let sql = format!(
            "SELECT {OUTAGE_COLUMNS} FROM outages
             WHERE status = 'planned' AND reminded_at IS NULL AND starts_at > $1 AND starts_at <= $2"
        );
        let rows = sqlx::query(&sql)
            .bind(ms(now))
            .bind(ms(now + lead))
            .fetch_all(&self.pool)
            .await
            .ctx("finding due outage reminders")?;
        rows.iter().map(outage_from_row).collect()
    }

    /// Outages that have ended and whose "已恢复" is not yet sent.
    pub async fn due_outage_ends(&self, now: DateTime<Utc>) -> Result<Vec<Outage>> {
        let sql = format!(
            "SELECT {OUTAGE_COLUMNS} FROM outages WHERE status = 'planned' AND ended_at IS NULL AND ends_at <= $1"
        );
        let rows = sqlx::query(&sql)
            .bind(ms(now))
            .fetch_all(&self.pool)
            .await
            .ctx("finding ended outages")?;
        rows.iter().map(outage_from_row).collect()
    }
}

impl Tx {
    /// Create a broadcast. `None` if the same command already created one.
    pub async fn insert_broadcast(
        &mut self,
        b: &NewBroadcast<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "INSERT INTO broadcasts (kind, sender_id, text, targets, dedupe_key, outage_id, pin, created_at, report_chat, estate)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        )
        .bind(b.kind.as_str())
        .bind(b.sender_id)
        .bind(b.text)
        .bind(b.targets.to_stored())
        .bind(b.dedupe_key)
        .bind(b.outage_id)
        .bind(i64::from(b.pin))
        .bind(ms(now))
        .bind(b.report_chat)
        .bind(b.estate)
        .fetch_optional(&mut *self.tx)
        .await
        .ctx("recording a broadcast")?;
        row.map(|r| r.try_get::<i64, _>(0))
            .transpose()
            .ctx("reading a broadcast id")
    }

    pub async fn mark_recalled(&mut self, id: i64, by: i64, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query("UPDATE broadcasts SET recalled_at = $1, recalled_by = $2 WHERE id = $3 AND recalled_at IS NULL")
            .bind(ms(now))
            .bind(by)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .ctx("recalling a broadcast")?;
        Ok(done.rows_affected() == 1)
    }

    /// `reminded`: the announcement itself is close enough to the start to be the
    /// reminder. `estate`: whose buildings the plan names.
    pub async fn insert_outage(
        &mut self,
        plan: &OutagePlan,
        estate: &str,
        by: i64,
        now: DateTime<Utc>,
        reminded: bool,
    ) -> Result<i64> {
        sqlx::query(
            "INSERT INTO outages (utility, buildings, starts_at, ends_at, reason, status, created_by, created_at, reminded_at, estate)
             VALUES ($1, $2, $3, $4, $5, 'planned', $6, $7, $8, $9) RETURNING id",
        )
        .bind(plan.utility.as_str())
        .bind(plan.targets.to_stored())
        .bind(ms(plan.starts_at))
        .bind(ms(plan.ends_at))
        .bind(&plan.reason)
        .bind(by)
        .bind(ms(now))
        .bind(reminded.then(|| ms(now)))
        .bind(estate)
        .fetch_one(&mut *self.tx)
        .await
        .ctx("recording an outage")?
        .try_get::<i64, _>(0)
        .ctx("reading an outage id")
    }

    /// Record that an outage's reminder (`reminded_at`) or "已恢复" (`ended_at`) is
    /// queued. False if another run already did.
    pub async fn mark_outage(
        &mut self,
        id: i64,
        step: OutageStep,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let sql = match step {
            OutageStep::Reminded => {
                "UPDATE outages SET reminded_at = $2 WHERE id = $1 AND reminded_at IS NULL"
            }
            OutageStep::Ended => {
                "UPDATE outages SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL"
            }
        };
        let done = sqlx::query(sql)
            .bind(id)
            .bind(ms(now))
            .execute(&mut *self.tx)
            .await
            .ctx("marking an outage")?;
        Ok(done.rows_affected() == 1)
    }

    /// Cancel a planned outage. False if it was not planned (already cancelled).
    pub async fn cancel_outage(&mut self, id: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE outages SET status = 'cancelled' WHERE id = $1 AND status = 'planned'",
        )
        .bind(id)
        .execute(&mut *self.tx)
        .await
        .ctx("cancelling an outage")?;
        Ok(done.rows_affected() == 1)
    }
}

fn broadcast_from_row(r: &AnyRow) -> Result<Broadcast> {
    let c = "reading a broadcast";
    let targets: String = r.try_get(4).ctx(c)?;
    let kind: String = r.try_get(1).ctx(c)?;
    Ok(Broadcast {
        id: r.try_get(0).ctx(c)?,
        kind: BroadcastKind::parse(&kind)
            .ok_or_else(|| StorageError::Corrupt(format!("broadcast kind '{kind}'")))?,
        sender_id: r.try_get(2).ctx(c)?,
        text: r.try_get(3).ctx(c)?,
        targets: Targets::from_stored(&targets),
        outage_id: r.try_get(5).ctx(c)?,
        pin: r.try_get::<i64, _>(6).ctx(c)? != 0,
        created_at: from_ms(r.try_get(7).ctx(c)?),
        recalled_at: r.try_get::<Option<i64>, _>(8).ctx(c)?.map(from_ms),
        report_chat: r.try_get(9).ctx(c)?,
        estate: r.try_get(10).ctx(c)?,
    })
}

const OUTAGE_COLUMNS: &str = "id, utility, buildings, starts_at, ends_at, reason, status, estate";

fn outage_from_row(r: &AnyRow) -> Result<Outage> {
    let c = "reading an outage";
    let utility: String = r.try_get(1).ctx(c)?;
    let buildings: String = r.try_get(2).ctx(c)?;
    Ok(Outage {
        id: r.try_get(0).ctx(c)?,
        utility: Utility::parse(&utility)
            .map_err(|_| StorageError::Corrupt(format!("utility '{utility}'")))?,
        targets: Targets::from_stored(&buildings),
        starts_at: from_ms(r.try_get(3).ctx(c)?),
        ends_at: from_ms(r.try_get(4).ctx(c)?),
        reason: r.try_get(5).ctx(c)?,
        cancelled: r.try_get::<String, _>(6).ctx(c)? == "cancelled",
        estate: r.try_get(7).ctx(c)?,
    })
}
