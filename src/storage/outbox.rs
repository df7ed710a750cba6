//! The outbox table: queued messages, their leases and their outcomes.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Context, Result, StorageError, Store, Tx, from_ms, ms};
use crate::domain::outgoing::{Keyboard, Lane, Op, Outgoing};

/// A queued message as the worker sees it.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub chat_id: i64,
    pub op: Op,
    pub text: Option<String>,
    pub reply_to: Option<i64>,
    pub keyboard: Option<Keyboard>,
    pub ref_tag: Option<String>,
    pub target_message: Option<i64>,
    pub tag: Option<String>,
    pub lane: Lane,
    pub broadcast_id: Option<i64>,
    /// Including this one.
    pub attempts: i64,
}

/// Delivery counts for one broadcast.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxStats {
    pub sent: i64,
    pub pending: i64,
    pub failed: i64,
    pub cancelled: i64,
    /// Chats whose message failed for good.
    pub failed_chats: Vec<i64>,
}

const ROW_COLUMNS: &str = "id, chat_id, op, text, reply_to, buttons, ref_tag, tag, priority, broadcast_id, attempts, target_message_id";

fn row_from(r: &AnyRow) -> Result<OutboxRow> {
    let c = "reading the outbox";
    let op: String = r.try_get(2).ctx(c)?;
    let buttons: Option<String> = r.try_get(5).ctx(c)?;
    Ok(OutboxRow {
        id: r.try_get(0).ctx(c)?,
        chat_id: r.try_get(1).ctx(c)?,
        op: Op::parse(&op).ok_or_else(|| StorageError::Corrupt(format!("outbox op '{op}'")))?,
        text: r.try_get(3).ctx(c)?,
        reply_to: r.try_get(4).ctx(c)?,
        keyboard: buttons
            .map(|b| serde_json::from_str(&b))
            .transpose()
            .map_err(|e| StorageError::Corrupt(format!("outbox buttons: {e}")))?,
        ref_tag: r.try_get(6).ctx(c)?,
        tag: r.try_get(7).ctx(c)?,
        lane: Lane::from_i64(r.try_get(8).ctx(c)?),
        broadcast_id: r.try_get(9).ctx(c)?,
        attempts: r.try_get(10).ctx(c)?,
        target_message: r.try_get(11).ctx(c)?,
    })
}

impl Tx {
    /// Queue a message. Queuing a tag that is already queued does nothing, which is
    /// what makes a re-delivered update harmless. An edit of a message that has not
    /// been sent yet rewrites the queued message instead, and an edit supersedes
    /// older queued edits of the same message.
    pub async fn enqueue(&mut self, m: &Outgoing, now: DateTime<Utc>) -> Result<bool> {
        let buttons = m
            .keyboard
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StorageError::Corrupt(format!("buttons: {e}")))?;
        if m.op == Op::Edit
            && let Some(target) = &m.ref_tag
        {
            let rewritten = sqlx::query(
                    "UPDATE outbox SET text = $1, buttons = $2 WHERE tag = $3 AND op = 'send' AND state = 'pending'",
                )
                .bind(m.text.as_deref())
                .bind(buttons.as_deref())
                .bind(target)
                .execute(&mut *self.tx)
                .await
                .ctx("rewriting a queued message")?;
            if rewritten.rows_affected() == 1 {
                return Ok(true);
            }
            sqlx::query("UPDATE outbox SET state = 'cancelled', done_at = $2 WHERE ref_tag = $1 AND op = 'edit' AND state = 'pending'")
                    .bind(target)
                    .bind(ms(now))
                    .execute(&mut *self.tx)
                    .await
                    .ctx("superseding queued edits")?;
        }
        let done = sqlx::query(
            "INSERT INTO outbox (chat_id, op, text, reply_to, buttons, ref_tag, tag, priority, broadcast_id,
                 state, attempts, due_at, created_at, target_message_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $10, $11, $12)
             ON CONFLICT (tag) DO NOTHING",
        )
        .bind(m.chat_id)
        .bind(m.op.as_str())
        .bind(m.text.as_deref())
        .bind(m.reply_to)
        .bind(buttons.as_deref())
        .bind(m.ref_tag.as_deref())
        .bind(m.tag.as_deref())
        .bind(m.lane as i64)
        .bind(m.broadcast_id)
        .bind(ms(m.not_before.unwrap_or(now)))
        .bind(ms(now))
        .bind(m.target_message)
        .execute(&mut *self.tx)
        .await
        .ctx("queuing a message")?;
        Ok(done.rows_affected() == 1)
    }

    /// Stop a broadcast: queued copies are cancelled; the chats and tags of the copies
    /// already delivered are returned so they can be deleted.
    pub async fn recall_broadcast(
        &mut self,
        broadcast_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, String)>> {
        sqlx::query("UPDATE outbox SET state = 'cancelled', done_at = $2 WHERE broadcast_id = $1 AND state = 'pending'")
            .bind(broadcast_id)
            .bind(ms(now))
            .execute(&mut *self.tx)
            .await
            .ctx("cancelling queued copies")?;
        let rows = sqlx::query(
            "SELECT chat_id, tag FROM outbox WHERE broadcast_id = $1 AND op = 'send' AND tag IS NOT NULL
               AND state IN ('sent', 'sending')",
        )
        .bind(broadcast_id)
        .fetch_all(&mut *self.tx)
        .await
        .ctx("finding delivered copies")?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0).ctx("reading the outbox")?,
                    r.try_get(1).ctx("reading the outbox")?,
                ))
            })
            .collect()
    }
}

impl Store {
    /// Lease up to `limit` due rows, most urgent first. A row whose lease ran out
    /// (its sender died) is due again. The outer `state` test makes the lease safe
    /// when several workers race: a row another worker just took no longer matches.
    pub async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: i64,
    ) -> Result<Vec<OutboxRow>> {
        let sql = format!(
            "UPDATE outbox SET state = 'sending', lease_until = $1, attempts = attempts + 1
             WHERE id IN (SELECT id FROM outbox
                          WHERE (state = 'pending' OR (state = 'sending' AND lease_until < $2)) AND due_at <= $2
                          ORDER BY priority, id LIMIT $3)
               AND (state = 'pending' OR (state = 'sending' AND lease_until < $2))
             RETURNING {ROW_COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(ms(now + lease))
            .bind(ms(now))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .ctx("leasing queued messages")?;
        let mut rows = rows.iter().map(row_from).collect::<Result<Vec<_>>>()?;
        rows.sort_by_key(|r| (r.lane, r.id));
        Ok(rows)
    }

    /// When the next queued row falls due, so the worker can sleep until then.
    pub async fn next_outbox_due(&self) -> Result<Option<DateTime<Utc>>> {
        let row = sqlx::query(
            "SELECT MIN(COALESCE(CASE WHEN state = 'sending' THEN lease_until END, due_at)) FROM outbox
             WHERE state IN ('pending', 'sending')",
        )
        .fetch_one(&self.pool)
        .await
        .ctx("reading the outbox")?;
        Ok(row
            .try_get::<Option<i64>, _>(0)
            .ctx("reading the outbox")?
            .map(from_ms))
    }

    /// The state and delivered message id of the row tagged `tag`.
    pub async fn outbox_target(&self, tag: &str) -> Result<Option<(String, Option<i64>)>> {
        sqlx::query("SELECT state, sent_message_id FROM outbox WHERE tag = $1")
            .bind(tag)
            .fetch_optional(&self.pool)
            .await
            .ctx("finding a sent message")?
            .map(|r| {
                Ok((
                    r.try_get(0).ctx("reading the outbox")?,
                    r.try_get(1).ctx("reading the outbox")?,
                ))
            })
            .transpose()
    }

    pub async fn outbox_sent(
        &self,
        id: i64,
        message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("UPDATE outbox SET state = 'sent', sent_message_id = $2, done_at = $3, lease_until = NULL WHERE id = $1")
            .bind(id)
            .bind(message_id)
            .bind(ms(now))
            .execute(&self.pool)
            .await
            .ctx("recording a delivery")?;
        Ok(())
    }

    pub async fn outbox_retry(&self, id: i64, due: DateTime<Utc>, error: &str) -> Result<()> {
        sqlx::query("UPDATE outbox SET state = 'pending', due_at = $2, last_error = $3, lease_until = NULL WHERE id = $1")
            .bind(id)
            .bind(ms(due))
            .bind(error)
            .execute(&self.pool)
            .await
            .ctx("rescheduling a message")?;
        Ok(())
    }

    pub async fn outbox_failed(&self, id: i64, error: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE outbox SET state = 'failed', last_error = $2, done_at = $3, lease_until = NULL WHERE id = $1")
            .bind(id)
            .bind(error)
            .bind(ms(now))
            .execute(&self.pool)
            .await
            .ctx("recording a failed delivery")?;
        Ok(())
    }

    /// Give back a leased row untouched (e.g. its chat must wait for the rate limit).
    pub async fn outbox_release(&self, id: i64, due: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE outbox SET state = 'pending', due_at = $2, lease_until = NULL, attempts = attempts - 1 WHERE id = $1")
            .bind(id)
            .bind(ms(due))
            .execute(&self.pool)
            .await
            .ctx("releasing a message")?;
        Ok(())
    }

    /// At start-up on SQLite, where only one daemon can own the database, rows a
    /// crashed predecessor had leased are due at once instead of when the lease
    /// runs out. (On PostgreSQL other instances may hold live leases: they expire.)
    pub async fn outbox_recover_leases(&self) -> Result<u64> {
        if self.backend != super::Backend::Sqlite {
            return Ok(0);
        }
        let done = sqlx::query(
            "UPDATE outbox SET state = 'pending', lease_until = NULL WHERE state = 'sending'",
        )
        .execute(&self.pool)
        .await
        .ctx("recovering leased messages")?;
        Ok(done.rows_affected())
    }

    /// Telegram asked us to wait for this chat: nothing queued for it goes before `until`.
    pub async fn outbox_defer_chat(&self, chat_id: i64, until: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE outbox SET due_at = $2 WHERE chat_id = $1 AND state = 'pending' AND due_at < $2")
            .bind(chat_id)
            .bind(ms(until))
            .execute(&self.pool)
            .await
            .ctx("deferring a chat's messages")?;
        Ok(())
    }

    pub async fn broadcast_stats(&self, broadcast_id: i64) -> Result<OutboxStats> {
        let rows = sqlx::query(
            "SELECT state, chat_id FROM outbox WHERE broadcast_id = $1 AND op = 'send' ORDER BY chat_id",
        )
        .bind(broadcast_id)
        .fetch_all(&self.pool)
        .await
        .ctx("counting deliveries")?;
        let mut stats = OutboxStats::default();
        for r in &rows {
            let state: String = r.try_get(0).ctx("reading the outbox")?;
            match state.as_str() {
                "sent" => stats.sent += 1,
                "failed" => {
                    stats.failed += 1;
                    stats
                        .failed_chats
                        .push(r.try_get(1).ctx("reading the outbox")?);
                }
                "cancelled" => stats.cancelled += 1,
                _ => stats.pending += 1,
            }
        }
        Ok(stats)
    }

    /// Sends completed since `since`: chat and when, to seed the rate limiter.
    pub async fn outbox_recent_sends(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(i64, DateTime<Utc>)>> {
        let rows = sqlx::query("SELECT chat_id, done_at FROM outbox WHERE state = 'sent' AND done_at > $1 AND op = 'send'")
            .bind(ms(since))
            .fetch_all(&self.pool)
            .await
            .ctx("reading recent sends")?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0).ctx("reading the outbox")?,
                    from_ms(r.try_get(1).ctx("reading the outbox")?),
                ))
            })
            .collect()
    }

    /// Is anything of this broadcast still to be delivered?
    pub async fn broadcast_pending(&self, broadcast_id: i64) -> Result<bool> {
        Ok(sqlx::query("SELECT 1 FROM outbox WHERE broadcast_id = $1 AND state IN ('pending', 'sending') LIMIT 1")
            .bind(broadcast_id)
            .fetch_optional(&self.pool)
            .await
            .ctx("checking a broadcast")?
            .is_some())
    }

    /// How many rows are still to be delivered (for shutdown logs and tests).
    pub async fn outbox_backlog(&self) -> Result<i64> {
        sqlx::query("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')")
            .fetch_one(&self.pool)
            .await
            .ctx("counting the outbox")?
            .try_get::<i64, _>(0)
            .ctx("counting the outbox")
    }
}
