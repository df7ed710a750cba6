//! The outbox table: queued messages, their leases and their outcomes; the holds
//! Telegram put on chats; and the retention of finished rows.
//!
//! **Holds.** A 429 `retry_after` on a chat is written to `chat_holds`, and a row
//! of a held chat is never leased until the hold ends. The worker keeps the same
//! hold in memory for rows it already had in hand; the table makes it outlive a
//! restart and reach the other instances on PostgreSQL.
//!
//! **Retention.** Finished rows (sent, failed, cancelled) older than the retention
//! are deleted by [`Store::outbox_prune`], but two things later work reads from them
//! are kept, compactly, first:
//! * a delivered send's message id, by tag, in `sent_messages`: an edit, pin,
//!   unpin or delete names its target by tag ([`Store::outbox_target`]), and a
//!   ticket's acknowledgement and staff post are edited whenever the ticket moves,
//!   an outage notice is unpinned when the outage ends, `/recall` deletes a
//!   broadcast's copies. Only tagged sends are kept (an untagged one cannot be
//!   named), as a tag, a chat, a message id and a broadcast id: no text. This
//!   table is not pruned (an edit may name any of them, at any time); its rows
//!   hold a few numbers and a short tag, where the outbox rows held texts and buttons.
//! * a broadcast's delivery counts, in `broadcast_tallies`, so `/broadcasts` still
//!   says how it went ([`Store::broadcast_stats`] adds them to the live rows). The
//!   list of chats that failed is not kept: it is reported when the broadcast settles.
//!
//! A tag also keeps a message from being queued twice. Pruned tags no longer do;
//! they are all tied to an update, a ticket version or a broadcast that cannot come
//! back after the retention (Telegram redelivers an update for 24 hours at most).

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Context, Result, StorageError, Store, Tx, from_ms, ms};
use crate::domain::media::{Media, MediaKind};
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
    /// Send this photo or voice message, with `text` as its caption.
    pub media: Option<Media>,
    /// Send this poll instead of a text.
    pub poll: Option<crate::domain::survey::Poll>,
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

/// Finished rows deleted per [`Store::outbox_prune`] call.
const PRUNE_BATCH: u64 = 5000;

const ROW_COLUMNS: &str = "id, chat_id, op, text, reply_to, buttons, ref_tag, tag, priority, broadcast_id, attempts, target_message_id, media_kind, media_file_id, poll";

fn row_from(r: &AnyRow) -> Result<OutboxRow> {
    let c = "reading the outbox";
    let op: String = r.try_get(2).ctx(c)?;
    let buttons: Option<String> = r.try_get(5).ctx(c)?;
    let media_kind: Option<String> = r.try_get(12).ctx(c)?;
    let media_file: Option<String> = r.try_get(13).ctx(c)?;
    let poll: Option<String> = r.try_get(14).ctx(c)?;
    let media = match (media_kind, media_file) {
        (Some(k), Some(f)) => Some(
            MediaKind::parse(&k)
                .and_then(|k| Media::new(k, f))
                .ok_or_else(|| StorageError::Corrupt(format!("outbox media '{k}'")))?,
        ),
        _ => None,
    };
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
        media,
        poll: poll
            .map(|p| serde_json::from_str(&p))
            .transpose()
            .map_err(|e| StorageError::Corrupt(format!("outbox poll: {e}")))?,
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
                 state, attempts, due_at, created_at, target_message_id, media_kind, media_file_id, poll)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $10, $11, $12, $13, $14, $15)
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
        .bind(m.media.as_ref().map(|x| x.kind.as_str()))
        .bind(m.media.as_ref().map(|x| x.file_id()))
        .bind(
            m.poll
                .as_ref()
                .map(|p| serde_json::to_string(p).expect("a poll serialises")),
        )
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
        let archived = sqlx::query(
            "SELECT chat_id, tag FROM sent_messages WHERE broadcast_id = $1 ORDER BY chat_id",
        )
        .bind(broadcast_id)
        .fetch_all(&mut *self.tx)
        .await
        .ctx("finding delivered copies")?;
        rows.iter()
            .chain(&archived)
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
    /// (its sender died) is due again; a row of a held chat is not. The outer
    /// `state` test makes the lease safe when several workers race: a row another
    /// worker just took no longer matches. On PostgreSQL the rows are also locked
    /// with `FOR UPDATE SKIP LOCKED`, so a racing worker skips them and takes the
    /// next ones instead of waiting for the first to commit and then finding none.
    pub async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: i64,
    ) -> Result<Vec<OutboxRow>> {
        let skip_locked = match self.backend {
            super::Backend::Postgres => "FOR UPDATE OF o SKIP LOCKED",
            super::Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET state = 'sending', lease_until = $1, attempts = attempts + 1
             WHERE id IN (SELECT o.id FROM outbox o
                          WHERE (o.state = 'pending' OR (o.state = 'sending' AND o.lease_until < $2))
                            AND o.due_at <= $2
                            AND NOT EXISTS (SELECT 1 FROM chat_holds h
                                            WHERE h.chat_id = o.chat_id AND h.hold_until > $2)
                          ORDER BY o.priority, o.id LIMIT $3 {skip_locked})
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

    /// When the next queued row falls due (or its chat's hold ends), so the worker
    /// can sleep until then.
    pub async fn next_outbox_due(&self) -> Result<Option<DateTime<Utc>>> {
        let row = sqlx::query(
            "SELECT MIN(CASE WHEN o.state = 'sending' AND o.lease_until IS NOT NULL THEN o.lease_until
                             WHEN h.hold_until > o.due_at THEN h.hold_until
                             ELSE o.due_at END)
             FROM outbox o LEFT JOIN chat_holds h ON h.chat_id = o.chat_id
             WHERE o.state IN ('pending', 'sending')",
        )
        .fetch_one(&self.pool)
        .await
        .ctx("reading the outbox")?;
        Ok(row
            .try_get::<Option<i64>, _>(0)
            .ctx("reading the outbox")?
            .map(from_ms))
    }

    /// The state and delivered message id of the row tagged `tag`; a delivered row
    /// the retention pruned is still found (as `sent`). Read beside the writes
    /// (what is committed), so an edit does not queue behind them.
    pub async fn outbox_target(&self, tag: &str) -> Result<Option<(String, Option<i64>)>> {
        let live: Option<(String, Option<i64>)> =
            sqlx::query("SELECT state, sent_message_id FROM outbox WHERE tag = $1")
                .bind(tag)
                .fetch_optional(&self.reader)
                .await
                .ctx("finding a sent message")?
                .map(|r| -> Result<_> {
                    Ok((
                        r.try_get(0).ctx("reading the outbox")?,
                        r.try_get(1).ctx("reading the outbox")?,
                    ))
                })
                .transpose()?;
        if live.is_some() {
            return Ok(live);
        }
        sqlx::query("SELECT message_id FROM sent_messages WHERE tag = $1")
            .bind(tag)
            .fetch_optional(&self.reader)
            .await
            .ctx("finding a sent message")?
            .map(|r| {
                Ok((
                    "sent".to_string(),
                    Some(r.try_get(0).ctx("reading sent messages")?),
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
        self.outbox_sent_many(&[(id, message_id)], now).await
    }

    /// Record deliveries (row id, the platform's message id) in one statement per
    /// few hundred: the sender's chats finish their sends side by side, and one
    /// write records what they all delivered.
    pub async fn outbox_sent_many(
        &self,
        sent: &[(i64, Option<i64>)],
        now: DateTime<Utc>,
    ) -> Result<()> {
        for chunk in sent.chunks(400) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, ${})", 2 * i + 2, 2 * i + 3))
                .collect();
            let sql = format!(
                "WITH v (id, message_id) AS (VALUES {})
                 UPDATE outbox SET state = 'sent', sent_message_id = v.message_id,
                                   done_at = $1, lease_until = NULL
                 FROM v WHERE outbox.id = v.id",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(ms(now));
            for (id, message_id) in chunk {
                q = q.bind(*id).bind(*message_id);
            }
            q.execute(&self.pool).await.ctx("recording deliveries")?;
        }
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

    /// Rows a previous sender leased and never settled are due at once instead
    /// of when their lease runs out. Called by the one sending instance when it
    /// starts sending (at start-up on SQLite, where only one daemon can own the
    /// database; on taking the `sender` lease on PostgreSQL, which only lapses
    /// once its previous holder stopped sending).
    pub async fn outbox_recover_leases(&self) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'pending', lease_until = NULL WHERE state = 'sending'",
        )
        .execute(&self.pool)
        .await
        .ctx("recovering leased messages")?;
        Ok(done.rows_affected())
    }

    /// Telegram asked us to wait for this chat: no row of it is leased before
    /// `until` (a longer hold already there stands).
    pub async fn hold_chat(&self, chat_id: i64, until: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO chat_holds (chat_id, hold_until) VALUES ($1, $2)
             ON CONFLICT (chat_id) DO UPDATE SET hold_until =
                 CASE WHEN excluded.hold_until > chat_holds.hold_until
                      THEN excluded.hold_until ELSE chat_holds.hold_until END",
        )
        .bind(chat_id)
        .bind(ms(until))
        .execute(&self.pool)
        .await
        .ctx("holding a chat")?;
        Ok(())
    }

    /// Chats held past `now`, and until when.
    pub async fn chat_holds(&self, now: DateTime<Utc>) -> Result<Vec<(i64, DateTime<Utc>)>> {
        let rows = sqlx::query("SELECT chat_id, hold_until FROM chat_holds WHERE hold_until > $1")
            .bind(ms(now))
            .fetch_all(&self.pool)
            .await
            .ctx("reading chat holds")?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0).ctx("reading chat holds")?,
                    from_ms(r.try_get(1).ctx("reading chat holds")?),
                ))
            })
            .collect()
    }

    /// Forget holds that ended.
    pub async fn chat_holds_prune(&self, now: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM chat_holds WHERE hold_until <= $1")
            .bind(ms(now))
            .execute(&self.pool)
            .await
            .ctx("forgetting ended holds")?;
        Ok(done.rows_affected())
    }

    /// Delete a batch (5,000) of finished rows (sent, failed, cancelled) done
    /// before `before`, oldest first, keeping what later work reads from them (see
    /// the module docs). Returns how many went; call again until it returns 0.
    /// One batch is one short transaction, so a first prune of a
    /// large table never holds SQLite's only connection for long.
    pub async fn outbox_prune(&self, before: DateTime<Utc>) -> Result<u64> {
        const FINISHED: &str = "state IN ('sent', 'failed', 'cancelled') AND done_at IS NOT NULL";
        // The batch's cutoff: no later than the PRUNE_BATCH-th oldest finished row.
        let nth = sqlx::query(&format!(
            "SELECT done_at FROM outbox WHERE {FINISHED} AND done_at < $1
             ORDER BY done_at LIMIT 1 OFFSET $2"
        ))
        .bind(ms(before))
        .bind(PRUNE_BATCH as i64 - 1)
        .fetch_optional(&self.pool)
        .await
        .ctx("finding old outbox rows")?
        .map(|r| r.try_get::<i64, _>(0))
        .transpose()
        .ctx("reading the outbox")?;
        let cutoff = nth.map_or(ms(before), |at| (at + 1).min(ms(before)));
        let mut tx = self.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO sent_messages (tag, chat_id, message_id, broadcast_id, sent_at)
             SELECT tag, chat_id, sent_message_id, broadcast_id, done_at FROM outbox
             WHERE {FINISHED} AND done_at < $1 AND state = 'sent' AND op = 'send'
               AND tag IS NOT NULL AND sent_message_id IS NOT NULL
             ON CONFLICT (tag) DO NOTHING"
        ))
        .bind(cutoff)
        .execute(&mut *tx.tx)
        .await
        .ctx("keeping sent message ids")?;
        sqlx::query(&format!(
            "INSERT INTO broadcast_tallies (broadcast_id, sent, failed, cancelled)
             SELECT broadcast_id,
                    SUM(CASE WHEN state = 'sent' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN state = 'cancelled' THEN 1 ELSE 0 END)
             FROM outbox
             WHERE {FINISHED} AND done_at < $1 AND broadcast_id IS NOT NULL AND op = 'send'
             GROUP BY broadcast_id
             ON CONFLICT (broadcast_id) DO UPDATE SET
                 sent = broadcast_tallies.sent + excluded.sent,
                 failed = broadcast_tallies.failed + excluded.failed,
                 cancelled = broadcast_tallies.cancelled + excluded.cancelled"
        ))
        .bind(cutoff)
        .execute(&mut *tx.tx)
        .await
        .ctx("keeping broadcast counts")?;
        let done = sqlx::query(&format!(
            "DELETE FROM outbox WHERE {FINISHED} AND done_at < $1"
        ))
        .bind(cutoff)
        .execute(&mut *tx.tx)
        .await
        .ctx("pruning the outbox")?;
        tx.commit().await?;
        Ok(done.rows_affected())
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
        if let Some(t) = sqlx::query(
            "SELECT sent, failed, cancelled FROM broadcast_tallies WHERE broadcast_id = $1",
        )
        .bind(broadcast_id)
        .fetch_optional(&self.pool)
        .await
        .ctx("counting deliveries")?
        {
            stats.sent = t.try_get(0).ctx("reading broadcast counts")?;
            stats.failed = t.try_get(1).ctx("reading broadcast counts")?;
            stats.cancelled = t.try_get(2).ctx("reading broadcast counts")?;
        }
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
    /// A send still leased (its sender died or stopped sending with it on the
    /// wire) may have reached Telegram: it counts too, as made at `now`.
    pub async fn outbox_recent_sends(
        &self,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, DateTime<Utc>)>> {
        let rows = sqlx::query(
            "SELECT chat_id, COALESCE(done_at, $2) FROM outbox
             WHERE op = 'send' AND ((state = 'sent' AND done_at > $1) OR state = 'sending')",
        )
        .bind(ms(since))
        .bind(ms(now))
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
