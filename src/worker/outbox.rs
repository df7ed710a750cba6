//! The outbox worker: delivers queued rows under the chat platform's limits.
//!
//! Each round leases a small batch of due rows (most urgent lane first), sends
//! rows for different chats concurrently and rows for one chat in order, and
//! records each outcome. Retry-after answers defer the chat; server errors and
//! timeouts back off exponentially; permanent refusals (bot removed, chat gone)
//! fail the row. The batch is kept small so an emergency queued mid-broadcast
//! waits at most one short batch.
//!
//! Delivery is exactly once except for one window no chat API lets us close: if
//! the process dies after the platform accepted a message and before the row is
//! marked, the lease expires and the row is sent again. Graceful shutdown finishes
//! the batch in flight first, so only a hard kill can hit that window.

use chrono::Utc;
use futures::future::join_all;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::desk::Desk;
use crate::domain::outgoing::{Keyboard, Op};
use crate::storage::{OutboxRow, Store};

/// Why a delivery did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The platform asked us to wait.
    RetryAfter(Duration),
    /// Worth trying again later (server error, timeout, network).
    Transient(String),
    /// Will never work (chat gone, bot removed, message too old to edit).
    Permanent(String),
    /// The group became a supergroup with this id: move the chat and send again.
    Migrated(i64),
}

/// A chat platform's outbound API, as the worker needs it.
pub trait Transport: Send + Sync + 'static {
    /// Send a message; the platform's id for it.
    fn send(
        &self,
        chat: i64,
        text: &str,
        reply_to: Option<i64>,
        keyboard: Option<&Keyboard>,
    ) -> impl Future<Output = Result<i64, SendError>> + Send;
    fn edit(
        &self,
        chat: i64,
        message: i64,
        text: &str,
        keyboard: Option<&Keyboard>,
    ) -> impl Future<Output = Result<(), SendError>> + Send;
    fn delete(&self, chat: i64, message: i64)
    -> impl Future<Output = Result<(), SendError>> + Send;
    fn pin(&self, chat: i64, message: i64) -> impl Future<Output = Result<(), SendError>> + Send;
    fn unpin(&self, chat: i64, message: i64) -> impl Future<Output = Result<(), SendError>> + Send;
}

/// Limits and timings for the worker.
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    pub per_second: u32,
    pub per_chat_per_minute: u32,
    /// How long a leased row is ours before another worker may take it.
    pub lease: chrono::Duration,
    /// Give up on a row after this many transient failures.
    pub max_attempts: i64,
}

impl OutboxConfig {
    pub fn new(per_second: u32, per_chat_per_minute: u32) -> Self {
        Self {
            per_second,
            per_chat_per_minute,
            lease: chrono::Duration::seconds(30),
            max_attempts: 12,
        }
    }

    fn batch_size(&self) -> i64 {
        // About a quarter second of sending at the global limit.
        i64::from((self.per_second / 4).clamp(4, 64))
    }
}

/// Sliding windows of recent sends: the global one and one per chat. A send is
/// allowed when the window has room; the slot is reserved before the request
/// goes out, so concurrent senders cannot overshoot.
struct Limiter {
    per_second: usize,
    per_chat: usize,
    global: VecDeque<Instant>,
    chats: HashMap<i64, VecDeque<Instant>>,
}

/// A margin against clock skew between our send and the server's receipt.
const MARGIN: Duration = Duration::from_millis(25);

impl Limiter {
    fn new(cfg: &OutboxConfig) -> Self {
        Self {
            per_second: cfg.per_second as usize,
            per_chat: cfg.per_chat_per_minute as usize,
            global: VecDeque::new(),
            chats: HashMap::new(),
        }
    }

    /// When this chat may next receive a message, if not now.
    fn chat_free_at(&mut self, chat: i64, now: Instant) -> Option<Instant> {
        let window = self.chats.entry(chat).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            window.pop_front();
        }
        (window.len() >= self.per_chat).then(|| window[0] + Duration::from_secs(60) + MARGIN)
    }

    /// Reserve a global slot for `chat`; returns when the send may start.
    fn reserve(&mut self, chat: i64, now: Instant) -> Instant {
        while self
            .global
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= Duration::from_secs(1))
        {
            self.global.pop_front();
        }
        let mut at = now;
        if self.global.len() >= self.per_second {
            let oldest = self.global[self.global.len() - self.per_second];
            at = at.max(oldest + Duration::from_secs(1) + MARGIN);
        }
        self.global.push_back(at);
        self.chats.entry(chat).or_default().push_back(at);
        at
    }
}

pub struct OutboxWorker<T: Transport> {
    desk: Desk,
    store: Store,
    transport: Arc<T>,
    cfg: OutboxConfig,
    limiter: Mutex<Limiter>,
    wake: Arc<Notify>,
}

impl<T: Transport> OutboxWorker<T> {
    pub fn new(desk: Desk, transport: Arc<T>, cfg: OutboxConfig) -> Self {
        Self {
            store: desk.store().clone(),
            wake: desk.outbox_wake(),
            limiter: Mutex::new(Limiter::new(&cfg)),
            desk,
            transport,
            cfg,
        }
    }

    /// Deliver until `shutdown`; the batch in flight is finished first.
    pub async fn run(self, shutdown: CancellationToken) {
        match self.store.outbox_recover_leases().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(rows = n, "resending messages a crash left unconfirmed"),
            Err(e) => tracing::error!(error = %e, "could not recover leased messages"),
        }
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            match self.round().await {
                Ok(0) => {
                    let idle = self.idle_for().await;
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(idle) => {}
                        _ = shutdown.cancelled() => break,
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "outbox round failed; retrying shortly");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown.cancelled() => break,
                    }
                }
            }
        }
        tracing::info!("outbox worker stopped");
    }

    /// How long to sleep when nothing is due: until the next row falls due, at most 1 s.
    async fn idle_for(&self) -> Duration {
        match self.store.next_outbox_due().await {
            Ok(Some(due)) => (due - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(Duration::from_secs(1)),
            _ => Duration::from_secs(1),
        }
        .max(Duration::from_millis(5))
    }

    /// One batch. Returns how many rows it handled.
    pub async fn round(&self) -> Result<usize, crate::storage::StorageError> {
        let rows = self
            .store
            .claim_outbox(Utc::now(), self.cfg.lease, self.cfg.batch_size())
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let count = rows.len();
        // Per chat, in order; chats side by side.
        let mut by_chat: Vec<(i64, Vec<OutboxRow>)> = Vec::new();
        for row in rows {
            match by_chat.iter_mut().find(|(c, _)| *c == row.chat_id) {
                Some((_, list)) => list.push(row),
                None => by_chat.push((row.chat_id, vec![row])),
            }
        }
        let broadcasts: BTreeSet<i64> = by_chat
            .iter()
            .flat_map(|(_, r)| r.iter().filter_map(|r| r.broadcast_id))
            .collect();
        join_all(
            by_chat
                .into_iter()
                .map(|(chat, rows)| self.deliver_chat(chat, rows)),
        )
        .await;
        for b in broadcasts {
            if let Err(e) = self.desk.broadcast_settled(b).await {
                tracing::warn!(broadcast = b, error = %e, "could not report a broadcast");
            }
        }
        Ok(count)
    }

    async fn deliver_chat(&self, chat: i64, rows: Vec<OutboxRow>) {
        let mut rows = rows.into_iter();
        while let Some(row) = rows.next() {
            let start = {
                let mut limiter = self.limiter.lock().await;
                let now = Instant::now();
                if let Some(free) = limiter.chat_free_at(chat, now) {
                    drop(limiter);
                    // This chat's minute is used up: give its rows back until it frees.
                    let due =
                        Utc::now() + chrono::Duration::from_std(free - now).unwrap_or_default();
                    for r in std::iter::once(row).chain(rows.by_ref()) {
                        self.record(self.store.outbox_release(r.id, due).await, r.id);
                    }
                    return;
                }
                limiter.reserve(chat, now)
            };
            tokio::time::sleep_until(start).await;
            let outcome = self.perform(&row).await;
            let now = Utc::now();
            let result = match outcome {
                Ok(message_id) => self.store.outbox_sent(row.id, message_id, now).await,
                Err(SendError::RetryAfter(wait)) => {
                    tracing::warn!(chat, seconds = wait.as_secs(), "told to wait");
                    let until = now + chrono::Duration::from_std(wait).unwrap_or_default();
                    self.record(
                        self.store.outbox_retry(row.id, until, "retry after").await,
                        row.id,
                    );
                    // The rest of this chat's rows wait too, in order.
                    for r in rows.by_ref() {
                        self.record(self.store.outbox_release(r.id, until).await, r.id);
                    }
                    self.record(self.store.outbox_defer_chat(chat, until).await, row.id);
                    return;
                }
                Err(SendError::Migrated(new_chat)) => {
                    tracing::info!(chat, new_chat, "group moved to a supergroup; following it");
                    let moved = self.store.migrate_chat(chat, new_chat).await;
                    self.record(moved, row.id);
                    for r in rows.by_ref() {
                        self.record(self.store.outbox_release(r.id, now).await, r.id);
                    }
                    self.record(
                        self.store.outbox_retry(row.id, now, "chat migrated").await,
                        row.id,
                    );
                    return;
                }
                Err(SendError::Transient(e)) if row.attempts < self.cfg.max_attempts => {
                    let backoff = 2i64
                        .saturating_pow(row.attempts.clamp(0, 8) as u32)
                        .min(300);
                    tracing::warn!(chat, row = row.id, attempt = row.attempts, error = %e, "delivery failed; will retry");
                    self.store
                        .outbox_retry(row.id, now + chrono::Duration::seconds(backoff), &e)
                        .await
                }
                Err(SendError::Transient(e)) | Err(SendError::Permanent(e)) => {
                    tracing::warn!(chat, row = row.id, error = %e, "delivery failed for good");
                    self.store.outbox_failed(row.id, &e, now).await
                }
            };
            self.record(result, row.id);
        }
    }

    fn record(&self, result: Result<(), crate::storage::StorageError>, row: i64) {
        if let Err(e) = result {
            // The lease will expire and the row will be tried again.
            tracing::error!(row, error = %e, "could not record a delivery");
        }
    }

    /// Do what the row says. Edits and the like first find the message they act on.
    async fn perform(&self, row: &OutboxRow) -> Result<Option<i64>, SendError> {
        let text = row.text.as_deref().unwrap_or("");
        if row.op == Op::Send {
            return self
                .transport
                .send(row.chat_id, text, row.reply_to, row.keyboard.as_ref())
                .await
                .map(Some);
        }
        let target = match (row.target_message, &row.ref_tag) {
            (Some(m), _) => m,
            (None, Some(tag)) => match self.store.outbox_target(tag).await {
                Ok(Some((state, Some(m)))) if state == "sent" => m,
                Ok(Some((state, _))) if state == "pending" || state == "sending" => {
                    return Err(SendError::Transient(format!(
                        "waiting for '{tag}' to be delivered first"
                    )));
                }
                Ok(_) => return Err(SendError::Permanent(format!("'{tag}' was never delivered"))),
                Err(e) => return Err(SendError::Transient(e.to_string())),
            },
            (None, None) => return Err(SendError::Permanent("nothing to act on".into())),
        };
        match row.op {
            Op::Edit => {
                self.transport
                    .edit(row.chat_id, target, text, row.keyboard.as_ref())
                    .await
            }
            Op::Delete => self.transport.delete(row.chat_id, target).await,
            Op::Pin => self.transport.pin(row.chat_id, target).await,
            Op::Unpin => self.transport.unpin(row.chat_id, target).await,
            Op::Send => unreachable!("handled above"),
        }
        .map(|()| None)
    }
}
