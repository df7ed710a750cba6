//! What an operator's probe and dashboard read: is the database answering, how
//! much is queued and how late, how many tickets of each kind.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Context, Result, Store, from_ms, ms};

/// The figures `/metrics` and `/healthz` take from the database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpsSnapshot {
    /// Messages queued and not yet delivered.
    pub outbox_depth: i64,
    /// How long the oldest message that is due has been waiting; zero when
    /// nothing due is waiting (a reminder queued for later is not late).
    pub outbox_lag: chrono::Duration,
    /// Tickets ever opened, by intent (`repair`, `complaint`, `emergency`).
    pub tickets_by_intent: Vec<(String, i64)>,
}

impl Store {
    /// A trivial query: the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .ctx("pinging the database")?;
        Ok(())
    }

    pub async fn ops_snapshot(&self, now: DateTime<Utc>) -> Result<OpsSnapshot> {
        let c = "reading the outbox depth";
        let row = sqlx::query(
            "SELECT COUNT(*), MIN(CASE WHEN due_at <= $1 THEN due_at END)
             FROM outbox WHERE state IN ('pending', 'sending')",
        )
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await
        .ctx(c)?;
        let outbox_depth: i64 = row.try_get(0).ctx(c)?;
        let oldest: Option<i64> = row.try_get(1).ctx(c)?;
        let outbox_lag = oldest
            .map(|t| (now - from_ms(t)).max(chrono::Duration::zero()))
            .unwrap_or_default();
        let c = "counting tickets";
        let rows =
            sqlx::query("SELECT intent, COUNT(*) FROM tickets GROUP BY intent ORDER BY intent")
                .fetch_all(&self.pool)
                .await
                .ctx(c)?;
        let tickets_by_intent = rows
            .iter()
            .map(|r| Ok((r.try_get(0).ctx(c)?, r.try_get(1).ctx(c)?)))
            .collect::<Result<_>>()?;
        Ok(OpsSnapshot {
            outbox_depth,
            outbox_lag,
            tickets_by_intent,
        })
    }
}
