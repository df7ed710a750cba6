//! Scheduled runs (`job_runs`): a `(job, slot)` key makes a reminder fire once,
//! however many instances tick, and tells a restarted one what it missed.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Context, Result, Store, from_ms, ms};

impl Store {
    /// Record that scheduled `job` ran for `slot`. False if it already had.
    pub async fn claim_job_slot(
        &self,
        job: &str,
        slot: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query("INSERT INTO job_runs (job, slot, fired_at) VALUES ($1, $2, $3) ON CONFLICT (job, slot) DO NOTHING")
            .bind(job)
            .bind(ms(slot))
            .bind(ms(now))
            .execute(&self.pool)
            .await
            .ctx("recording a scheduled run")?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn last_job_slot(&self, job: &str) -> Result<Option<DateTime<Utc>>> {
        let row = sqlx::query("SELECT MAX(slot) FROM job_runs WHERE job = $1")
            .bind(job)
            .fetch_one(&self.pool)
            .await
            .ctx("reading scheduled runs")?;
        Ok(row
            .try_get::<Option<i64>, _>(0)
            .ctx("reading scheduled runs")?
            .map(from_ms))
    }
}
