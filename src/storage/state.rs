//! The desk's remembered settings (`desk_state`): small values set by a command
//! that must outlive a restart.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Context, Result, Store, Tx, ms};

impl Store {
    /// The value stored under `key`, if any.
    pub async fn desk_state(&self, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM desk_state WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .ctx("reading the desk's state")?;
        row.map(|r| r.try_get(0).ctx("reading the desk's state"))
            .transpose()
    }
}

impl Tx {
    /// Store `value` under `key`, replacing what was there.
    pub async fn set_desk_state(
        &mut self,
        key: &str,
        value: &str,
        by: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO desk_state (key, value, set_by, set_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, set_by = excluded.set_by, set_at = excluded.set_at",
        )
        .bind(key)
        .bind(value)
        .bind(by)
        .bind(ms(now))
        .execute(&mut *self.tx)
        .await
        .ctx("storing the desk's state")?;
        Ok(())
    }
}
