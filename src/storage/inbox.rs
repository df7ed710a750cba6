//! The inbox: updates stored before they are acknowledged, failed attempts, and
//! the dead letters that failed them all.
//!
//! An update is stored before it is acknowledged (`Store::inbox_accept`). A handler
//! that fails leaves it pending with its attempt counted; after the last attempt it
//! moves here, to `dead_letters`, in the same transaction that tells staff, so staff
//! hear of each one once and nothing is dropped without a trace.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Context, Result, Store, Tx, from_ms, ms};

/// An update that failed every attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub update_id: i64,
    /// The update as the platform delivered it (JSON for Telegram).
    pub payload: String,
    pub chat_id: Option<i64>,
    pub attempts: i64,
    pub error: String,
    pub failed_at: DateTime<Utc>,
}

impl Store {
    /// Store delivered updates before they are acknowledged, as this instance's to
    /// handle. Returns the ids that are new; an id seen before (a re-delivery, to
    /// this instance or another) is not handled again.
    pub async fn inbox_accept(
        &self,
        updates: &[(i64, String)],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>> {
        let mut tx = self.begin().await?;
        let mut fresh = Vec::with_capacity(updates.len());
        for (id, payload) in updates {
            let done = sqlx::query(
                "INSERT INTO inbox (update_id, payload, received_at, owner) VALUES ($1, $2, $3, $4) ON CONFLICT (update_id) DO NOTHING",
            )
            .bind(id)
            .bind(payload)
            .bind(ms(now))
            .bind(self.instance())
            .execute(&mut *tx.tx)
            .await
            .ctx("storing an update")?;
            if done.rows_affected() == 1 {
                fresh.push(*id);
            }
        }
        tx.commit().await?;
        Ok(fresh)
    }

    /// Updates stored but not handled (a crash or failing handlers interrupted
    /// them), with the attempts already made: (update id, payload, attempts).
    pub async fn inbox_pending(&self) -> Result<Vec<(i64, String, i64)>> {
        let rows = sqlx::query(
            "SELECT update_id, payload, attempts FROM inbox WHERE done_at IS NULL ORDER BY update_id",
        )
        .fetch_all(&self.pool)
        .await
        .ctx("reading unhandled updates")?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0).ctx("reading the inbox")?,
                    r.try_get(1).ctx("reading the inbox")?,
                    r.try_get(2).ctx("reading the inbox")?,
                ))
            })
            .collect()
    }

    pub async fn inbox_done(&self, update_id: i64, now: DateTime<Utc>) -> Result<()> {
        self.inbox_done_many(&[update_id], now).await
    }

    /// Mark handled updates in one statement per few hundred: under load the
    /// marks of many messages share one write.
    pub async fn inbox_done_many(&self, update_ids: &[i64], now: DateTime<Utc>) -> Result<()> {
        for chunk in update_ids.chunks(500) {
            let places: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "UPDATE inbox SET done_at = $1 WHERE update_id IN ({})",
                places.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(ms(now));
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(&self.pool).await.ctx("marking updates handled")?;
        }
        Ok(())
    }

    /// Forget handled updates older than `before` (a re-delivery that late is not expected).
    pub async fn inbox_prune(&self, before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM inbox WHERE done_at IS NOT NULL AND done_at < $1")
            .bind(ms(before))
            .execute(&self.pool)
            .await
            .ctx("pruning the inbox")?;
        Ok(done.rows_affected())
    }

    /// Count a failed attempt at handling an update; returns the attempts so far.
    pub async fn inbox_failed(&self, update_id: i64, error: &str) -> Result<i64> {
        let row = sqlx::query(
            "UPDATE inbox SET attempts = attempts + 1, last_error = $2 WHERE update_id = $1 RETURNING attempts",
        )
        .bind(update_id)
        .bind(error)
        .fetch_optional(&self.pool)
        .await
        .ctx("counting a failed attempt")?;
        match row {
            Some(r) => r.try_get(0).ctx("reading the inbox"),
            None => Ok(0),
        }
    }

    /// Dead letters, newest first.
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>> {
        let rows = sqlx::query(
            "SELECT update_id, payload, chat_id, attempts, error, failed_at FROM dead_letters ORDER BY failed_at DESC, update_id DESC",
        )
        .fetch_all(&self.pool)
        .await
        .ctx("listing dead letters")?;
        rows.iter()
            .map(|r| {
                let c = "reading dead letters";
                Ok(DeadLetter {
                    update_id: r.try_get(0).ctx(c)?,
                    payload: r.try_get(1).ctx(c)?,
                    chat_id: r.try_get(2).ctx(c)?,
                    attempts: r.try_get(3).ctx(c)?,
                    error: r.try_get(4).ctx(c)?,
                    failed_at: from_ms(r.try_get(5).ctx(c)?),
                })
            })
            .collect()
    }

    /// Put a dead letter back in the inbox, pending with no attempts: the daemon
    /// handles it on its next start (on PostgreSQL a running instance takes it
    /// within seconds: it has no owner). False if there is no such dead letter.
    pub async fn retry_dead_letter(&self, update_id: i64, now: DateTime<Utc>) -> Result<bool> {
        let mut tx = self.begin().await?;
        let row = sqlx::query("DELETE FROM dead_letters WHERE update_id = $1 RETURNING payload")
            .bind(update_id)
            .fetch_optional(&mut *tx.tx)
            .await
            .ctx("taking a dead letter")?;
        let Some(row) = row else {
            return Ok(false);
        };
        let payload: String = row.try_get(0).ctx("reading a dead letter")?;
        // The inbox row may have been pruned by retention since: store it again.
        sqlx::query(
            "INSERT INTO inbox (update_id, payload, received_at, attempts) VALUES ($1, $2, $3, 0)
             ON CONFLICT (update_id) DO UPDATE SET done_at = NULL, attempts = 0, last_error = NULL, owner = NULL",
        )
        .bind(update_id)
        .bind(&payload)
        .bind(ms(now))
        .execute(&mut *tx.tx)
        .await
        .ctx("returning a dead letter to the inbox")?;
        tx.commit().await?;
        Ok(true)
    }
}

impl Tx {
    /// Move an update that failed every attempt out of the pending inbox. False if
    /// it was already moved (a second instance, or a replay): tell nobody again.
    pub async fn dead_letter(
        &mut self,
        update_id: i64,
        chat_id: Option<i64>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO dead_letters (update_id, payload, chat_id, attempts, error, failed_at)
             SELECT update_id, payload, $2, attempts, $3, $4 FROM inbox WHERE update_id = $1
             ON CONFLICT (update_id) DO NOTHING",
        )
        .bind(update_id)
        .bind(chat_id)
        .bind(error)
        .bind(ms(now))
        .execute(&mut *self.tx)
        .await
        .ctx("recording a dead letter")?;
        sqlx::query("UPDATE inbox SET done_at = $2 WHERE update_id = $1")
            .bind(update_id)
            .bind(ms(now))
            .execute(&mut *self.tx)
            .await
            .ctx("closing a dead letter's inbox row")?;
        Ok(done.rows_affected() == 1)
    }
}
