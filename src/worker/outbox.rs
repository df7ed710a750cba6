//! The outbox worker: delivers queued rows under the chat platform's limits.
//!
//! The worker leases due rows (most urgent lane first) while fewer than
//! `in_flight` are in hand, and hands each to its chat's queue: one task per
//! chat sends that chat's rows in order, chats run side by side, and one slow
//! chat (a 5xx, a retry-after) never holds up another. The in-flight bound keeps
//! the wait for a rate-limit slot short, so an emergency queued mid-broadcast is
//! leased within moments and sent within about a second.
//!
//! A chat's queue is kept in lane order: an emergency leased while ordinary rows
//! of the same chat are in hand goes ahead of them, so it is the next message the
//! chat receives (only a request already on the wire goes before it).
//!
//! A retry-after answer holds the chat: Telegram lengthens the ban for every
//! request inside the window, so nothing goes to that chat until it ends, whatever
//! was queued or leased when the answer came. The hold is part of the limiter,
//! consulted before every send like the chat's minute window, and set under the
//! same lock as soon as the answer is in; it is also written to the database
//! (`chat_holds`), where leasing skips held chats and a restart (or, on PostgreSQL,
//! another instance) finds it. Server errors and timeouts back off exponentially;
//! permanent refusals (bot removed, chat gone) fail the row.
//!
//! **Several instances.** Only the instance holding the `sender` lease sends
//! (`worker::instance` says why); the others' workers wait. On taking over, the
//! worker seeds its windows from the sends the database recorded in the last
//! minute (a send still leased counts, as made now: it may have reached Telegram)
//! and the stored holds, then makes the previous sender's leased rows due at once.
//! On losing the lease it gives back what it had in hand and stops leasing.
//!
//! Delivery is exactly once except for one window no chat API lets us close: if
//! the process dies after the platform accepted a message and before the row is
//! marked, the lease expires and the row is sent again. Graceful shutdown finishes
//! the batch in flight first, so only a hard kill can hit that window.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, Notify, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::desk::Notices;
use crate::domain::media::Media;
use crate::domain::outgoing::{Keyboard, Op};
use crate::domain::survey::Poll;
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

impl SendError {
    /// The label it is counted under in `/metrics`.
    pub fn kind(&self) -> &'static str {
        match self {
            SendError::RetryAfter(_) => "retry_after",
            SendError::Transient(_) => "transient",
            SendError::Permanent(_) => "permanent",
            SendError::Migrated(_) => "migrated",
        }
    }
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
    /// Send a photo or voice message by the platform's file id, `caption` under it.
    fn send_media(
        &self,
        chat: i64,
        media: &Media,
        caption: &str,
        reply_to: Option<i64>,
        keyboard: Option<&Keyboard>,
    ) -> impl Future<Output = Result<i64, SendError>> + Send;
    fn delete(&self, chat: i64, message: i64)
    -> impl Future<Output = Result<(), SendError>> + Send;
    fn pin(&self, chat: i64, message: i64) -> impl Future<Output = Result<(), SendError>> + Send;
    fn unpin(&self, chat: i64, message: i64) -> impl Future<Output = Result<(), SendError>> + Send;
    /// Send an anonymous poll; the platform's ids for the message and the poll
    /// (answers arrive under the poll's id). A platform without polls says so.
    fn send_poll(
        &self,
        chat: i64,
        poll: &Poll,
    ) -> impl Future<Output = Result<(i64, String), SendError>> + Send {
        let _ = (chat, poll);
        async { Err(SendError::Permanent("this platform has no polls".into())) }
    }
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

    /// Rows in hand at once: a quarter second of sending at the global limit.
    /// Rows in hand have reserved their rate-limit slots, so this bounds how long
    /// an owner's reply queued behind a broadcast waits (and no lease runs out).
    fn in_flight(&self) -> usize {
        (self.per_second as usize / 4).clamp(4, 64)
    }
}

/// Sliding windows of recent sends: the global one and one per chat, and the
/// chats Telegram told to wait. A send is allowed when the windows have room and
/// the chat is not held; the slot is reserved before the request goes out, so
/// concurrent senders cannot overshoot.
struct Limiter {
    per_second: usize,
    per_chat: usize,
    global: VecDeque<Instant>,
    chats: HashMap<i64, VecDeque<Instant>>,
    /// Chats held by a retry-after answer, until when (margin included).
    holds: HashMap<i64, Instant>,
}

/// How often an idle worker looks for rows that fell due (retries, deferred
/// chats, scheduled notices); new rows wake it at once.
const IDLE_POLL: Duration = Duration::from_millis(250);

/// A margin against clock skew between our send and the server's receipt.
const MARGIN: Duration = Duration::from_millis(25);

impl Limiter {
    fn new(cfg: &OutboxConfig) -> Self {
        Self {
            per_second: cfg.per_second as usize,
            per_chat: cfg.per_chat_per_minute as usize,
            global: VecDeque::new(),
            chats: HashMap::new(),
            holds: HashMap::new(),
        }
    }

    /// When this chat may next receive a message, if not now: its hold, or a
    /// free slot in its minute.
    fn chat_free_at(&mut self, chat: i64, now: Instant) -> Option<Instant> {
        let held = match self.holds.get(&chat) {
            Some(until) if *until > now => Some(*until),
            Some(_) => {
                self.holds.remove(&chat);
                None
            }
            None => None,
        };
        let window = self.chats.entry(chat).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            window.pop_front();
        }
        let full =
            (window.len() >= self.per_chat).then(|| window[0] + Duration::from_secs(60) + MARGIN);
        held.max(full)
    }

    /// Nothing goes to `chat` before `until` (a longer hold stands).
    fn hold(&mut self, chat: i64, until: Instant) {
        let held = self.holds.entry(chat).or_insert(until);
        *held = (*held).max(until);
    }

    /// Seed the windows with sends made before a restart (wall-clock ages).
    fn remember(&mut self, chat: i64, age: Duration, now: Instant) {
        let Some(at) = now.checked_sub(age) else {
            return;
        };
        if age < Duration::from_secs(1) {
            self.global.push_back(at);
        }
        self.chats.entry(chat).or_default().push_back(at);
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
        if self.chats.len() > MAX_IDLE_WINDOWS {
            // Forget chats that have not been sent to for a minute.
            self.chats.retain(|_, w| {
                w.back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < Duration::from_secs(60))
            });
        }
        self.chats.entry(chat).or_default().push_back(at);
        at
    }

    /// A slot is stamped when it is reserved, but Telegram counts a message when
    /// it arrives, which a slow request makes later. Re-stamp it with the time the
    /// answer came back (no earlier than the arrival), so the windows never
    /// undercount.
    fn settle(&mut self, chat: i64, reserved: Instant, done: Instant) {
        restamp(&mut self.global, reserved, done);
        if let Some(window) = self.chats.get_mut(&chat) {
            restamp(window, reserved, done);
        }
    }
}

fn restamp(window: &mut VecDeque<Instant>, reserved: Instant, done: Instant) {
    if let Some(pos) = window.iter().rposition(|t| *t == reserved) {
        window[pos] = done.max(reserved);
        window.make_contiguous().sort();
    }
}

/// Per-chat windows kept before idle ones are dropped.
const MAX_IDLE_WINDOWS: usize = 10_000;

/// Delivers the outbox. Cheap to share between its chat tasks.
pub struct OutboxWorker<T: Transport> {
    inner: Arc<Shared<T>>,
}

struct Shared<T: Transport> {
    /// The clock, and where a broadcast's last delivery is reported.
    notices: Notices,
    store: Store,
    transport: Arc<T>,
    cfg: OutboxConfig,
    limiter: Mutex<Limiter>,
    wake: Arc<Notify>,
    /// Leased rows waiting in a chat's queue, by chat. A chat has an entry exactly
    /// while a task is sending for it; the task removes it, under this lock, when
    /// the queue is empty, so a row is never handed to a task that is leaving.
    queues: std::sync::Mutex<HashMap<i64, VecDeque<OutboxRow>>>,
    /// Rows leased and not yet settled.
    in_hand: AtomicUsize,
    /// Rung when a chat task finishes, so the leaser can take more.
    freed: Notify,
    stopping: CancellationToken,
    /// Whether this instance is the one that sends (always, alone on a database).
    leading: super::instance::Leading,
    /// Deliveries to record, written in batches by [`record_deliveries`].
    marks: mpsc::UnboundedSender<Delivered>,
    /// The other end, until `run` starts the writer.
    marks_rx: std::sync::Mutex<Option<mpsc::UnboundedReceiver<Delivered>>>,
}

/// A send the platform accepted: the row, the message id it got, when, and who
/// waits for the record to be written.
struct Delivered {
    row: i64,
    message_id: Option<i64>,
    at: chrono::DateTime<chrono::Utc>,
    written: oneshot::Sender<()>,
}

/// Records deliveries as many at a time as have come in while the last write
/// ran: a chat's next send does not wait for the previous one's record, so one
/// busy chat (the staff group, a broadcast) is not paced by the database, and
/// under load one write records the deliveries of many chats. A chat still waits
/// for its records before it acts on a message it sent (an edit finds the
/// message id in the database) and before its task ends, so stopping writes
/// them all. A record that cannot be written leaves the row leased: it is sent
/// again when the lease runs out, as when a single write failed.
async fn record_deliveries(store: Store, mut rx: mpsc::UnboundedReceiver<Delivered>) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, 1_000).await > 0 {
        let now = batch.iter().map(|d| d.at).max().unwrap_or_default();
        let rows: Vec<(i64, Option<i64>)> = batch.iter().map(|d| (d.row, d.message_id)).collect();
        if let Err(e) = store.outbox_sent_many(&rows, now).await {
            tracing::error!(rows = rows.len(), error = %e, "could not record deliveries");
        }
        for d in batch.drain(..) {
            let _ = d.written.send(());
        }
    }
}

impl<T: Transport> OutboxWorker<T> {
    /// `notices`: the desk's notices service (a `Desk` will do).
    pub fn new(notices: impl Into<Notices>, transport: Arc<T>, cfg: OutboxConfig) -> Self {
        let notices = notices.into();
        let (marks, marks_rx) = mpsc::unbounded_channel();
        Self {
            inner: Arc::new(Shared {
                marks,
                marks_rx: std::sync::Mutex::new(Some(marks_rx)),
                store: notices.store().clone(),
                wake: notices.outbox_wake(),
                limiter: Mutex::new(Limiter::new(&cfg)),
                notices,
                transport,
                cfg,
                queues: std::sync::Mutex::new(HashMap::new()),
                in_hand: AtomicUsize::new(0),
                freed: Notify::new(),
                stopping: CancellationToken::new(),
                leading: super::instance::alone(),
            }),
        }
    }

    /// Send only while `leading` says so (several instances on one database).
    pub fn with_leading(mut self, leading: super::instance::Leading) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.leading = leading;
        }
        self
    }

    /// Deliver until `shutdown`. Rows already being sent finish; rows still
    /// queued are given back for the next start.
    pub async fn run(self, shutdown: CancellationToken) {
        let w = self.inner;
        let mut leading = w.leading.clone();
        let mut tasks = JoinSet::new();
        let marks = w.marks_rx.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(rx) = marks {
            // Ends with the worker (which holds the sender); every chat task
            // waits for its own records before it ends, so none is left unwritten.
            tokio::spawn(record_deliveries(w.store.clone(), rx));
        }
        'instance: loop {
            // Wait for our turn to send.
            while !*leading.borrow_and_update() {
                tokio::select! {
                    changed = leading.changed() => {
                        if changed.is_err() {
                            break 'instance;
                        }
                    }
                    _ = shutdown.cancelled() => break 'instance,
                }
            }
            w.take_over().await;
            loop {
                if shutdown.is_cancelled() {
                    break 'instance;
                }
                if !w.leads() {
                    // Another instance sends now: what we have is given back.
                    tracing::info!("no longer the sender; giving back the rows in hand");
                    while tasks.join_next().await.is_some() {}
                    continue 'instance;
                }
                while tasks.try_join_next().is_some() {}
                let room = w
                    .cfg
                    .in_flight()
                    .saturating_sub(w.in_hand.load(Ordering::SeqCst));
                let leased = if room == 0 {
                    Ok(0)
                } else {
                    w.lease(room as i64, &mut tasks).await
                };
                match leased {
                    // A full lease: more may be due already.
                    Ok(n) if room > 0 && n == room => {}
                    Ok(_) => {
                        // Woken by a commit, by a chat finishing while we were full, or
                        // by the poll that picks up retries and scheduled rows. A chat
                        // finishing matters only when we were full: otherwise waking
                        // for it would lease nothing.
                        let full = room == 0;
                        // Alone on a database nobody ever changes it (the sender is gone).
                        let watched = leading.has_changed().is_ok();
                        tokio::select! {
                            _ = w.wake.notified() => {}
                            _ = w.freed.notified(), if full => {}
                            _ = tokio::time::sleep(IDLE_POLL) => {}
                            _ = leading.changed(), if watched => {}
                            _ = shutdown.cancelled() => break 'instance,
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "could not lease messages; retrying shortly");
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                            _ = shutdown.cancelled() => break 'instance,
                        }
                    }
                }
            }
        }
        w.stopping.cancel();
        while tasks.join_next().await.is_some() {}
        tracing::info!("outbox worker stopped");
    }
}

impl<T: Transport> Shared<T> {
    /// Whether this instance sends now.
    fn leads(&self) -> bool {
        *self.leading.borrow()
    }

    /// Become the sender: the windows start from what the database says was sent
    /// (by us before a restart, or by the instance that sent before us), then the
    /// rows a previous sender left leased are due at once. In that order, so those
    /// rows count in the windows as possibly sent.
    async fn take_over(&self) {
        *self.limiter.lock().await = Limiter::new(&self.cfg);
        self.seed_limiter().await;
        match self.store.outbox_recover_leases().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                rows = n,
                "resending messages a previous sender left unconfirmed"
            ),
            Err(e) => tracing::error!(error = %e, "could not recover leased messages"),
        }
    }

    /// Fill the limiter's windows from the database, so a restart (or another
    /// instance taking over) does not burst past Telegram's limits with sends
    /// already made.
    async fn seed_limiter(&self) {
        let now = self.notices.now();
        match self
            .store
            .outbox_recent_sends(now - chrono::Duration::seconds(60), now)
            .await
        {
            Ok(recent) => {
                let mut limiter = self.limiter.lock().await;
                let instant = Instant::now();
                for (chat, at) in recent {
                    limiter.remember(chat, (now - at).to_std().unwrap_or_default(), instant);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read recent sends"),
        }
        self.load_holds().await;
    }

    /// Copy the database's chat holds into the limiter: those a previous process
    /// (or another instance) was given still stand.
    async fn load_holds(&self) {
        let now = self.notices.now();
        match self.store.chat_holds(now).await {
            Ok(holds) => {
                let mut limiter = self.limiter.lock().await;
                let instant = Instant::now();
                for (chat, until) in holds {
                    limiter.hold(chat, instant + (until - now).to_std().unwrap_or_default());
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read chat holds"),
        }
    }

    /// Lease up to `room` due rows and queue each to its chat. Returns how many.
    async fn lease(
        self: &Arc<Self>,
        room: i64,
        tasks: &mut JoinSet<()>,
    ) -> Result<usize, crate::storage::StorageError> {
        if self.store.backend() == crate::storage::Backend::Postgres {
            // Another instance may have been told to wait for a chat we hold rows of.
            self.load_holds().await;
        }
        let rows = self
            .store
            .claim_outbox(self.notices.now(), self.cfg.lease, room)
            .await?;
        let count = rows.len();
        self.in_hand.fetch_add(count, Ordering::SeqCst);
        for row in rows {
            let chat = row.chat_id;
            let start = {
                let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
                match queues.get_mut(&chat) {
                    Some(queue) => {
                        // Behind its own lane, ahead of less urgent ones; but an
                        // edit (pin, delete) never ahead of the message it acts
                        // on, which it could not find yet.
                        let after_target = row.ref_tag.as_ref().and_then(|target| {
                            queue
                                .iter()
                                .rposition(|r| r.tag.as_ref() == Some(target))
                                .map(|p| p + 1)
                        });
                        let at = queue
                            .iter()
                            .position(|r| r.lane > row.lane)
                            .unwrap_or(queue.len())
                            .max(after_target.unwrap_or(0));
                        queue.insert(at, row);
                        false
                    }
                    None => {
                        queues.insert(chat, VecDeque::from([row]));
                        true
                    }
                }
            };
            if start {
                let me = self.clone();
                tasks.spawn(async move { me.serve_chat(chat).await });
            }
        }
        Ok(count)
    }

    /// The next row of `chat`'s queue; `None` (and the queue is gone) when empty.
    fn next_row(&self, chat: i64) -> Option<OutboxRow> {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let queue = queues.get_mut(&chat)?;
        match queue.pop_front() {
            Some(row) => Some(row),
            None => {
                queues.remove(&chat);
                None
            }
        }
    }

    /// Take the rest of `chat`'s queue (to give it back).
    fn take_queue(&self, chat: i64) -> Vec<OutboxRow> {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        queues.remove(&chat).map(Vec::from).unwrap_or_default()
    }

    fn settle(&self, n: usize) {
        self.in_hand.fetch_sub(n, Ordering::SeqCst);
        self.freed.notify_one();
    }

    /// Give `row` and the rest of the chat's queue back, due at `due`.
    async fn give_back(
        &self,
        chat: i64,
        row: Option<OutboxRow>,
        due: chrono::DateTime<chrono::Utc>,
    ) {
        let rows: Vec<OutboxRow> = row.into_iter().chain(self.take_queue(chat)).collect();
        for r in &rows {
            self.record(self.store.outbox_release(r.id, due).await, r.id);
        }
        self.settle(rows.len());
    }

    async fn serve_chat(&self, chat: i64) {
        let mut recorded = None;
        self.send_queue(chat, &mut recorded).await;
        // The last deliveries are on record before the task ends.
        if let Some(written) = recorded {
            let _ = written.await;
        }
    }

    /// Queue a delivery's record; the receiver fires once it was written (or
    /// failed to be).
    fn delivered(
        &self,
        row: i64,
        message_id: Option<i64>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> oneshot::Receiver<()> {
        let (written, rx) = oneshot::channel();
        if let Err(mpsc::error::SendError(d)) = self.marks.send(Delivered {
            row,
            message_id,
            at,
            written,
        }) {
            // No writer (the worker is not running): nobody would record it.
            tracing::error!(
                row = d.row,
                "no delivery writer; the row will be sent again"
            );
        }
        rx
    }

    /// Send `chat`'s queue in order. `recorded` fires when this chat's last
    /// delivery is on record.
    async fn send_queue(&self, chat: i64, recorded: &mut Option<oneshot::Receiver<()>>) {
        while let Some(row) = self.next_row(chat) {
            if self.stopping.is_cancelled() || !self.leads() {
                return self.give_back(chat, Some(row), self.notices.now()).await;
            }
            let start = {
                let mut limiter = self.limiter.lock().await;
                let now = Instant::now();
                if let Some(free) = limiter.chat_free_at(chat, now) {
                    drop(limiter);
                    // This chat's minute is used up: its rows wait until it frees.
                    let due = self.notices.now()
                        + chrono::Duration::from_std(free - now).unwrap_or_default();
                    return self.give_back(chat, Some(row), due).await;
                }
                limiter.reserve(chat, now)
            };
            tokio::time::sleep_until(start).await;
            if !self.leads() {
                // The lease went while we waited for the slot (unused, so harmless).
                return self.give_back(chat, Some(row), self.notices.now()).await;
            }
            if row.target_message.is_none()
                && row.ref_tag.is_some()
                && let Some(written) = recorded.take()
            {
                // The message it acts on may be ours, its record still on the way.
                let _ = written.await;
            }
            let outcome = self.perform(&row).await;
            match &outcome {
                Ok(_) => crate::metrics::metrics().sent(),
                Err(e) => crate::metrics::metrics().send_error(e.kind()),
            }
            {
                let mut limiter = self.limiter.lock().await;
                let done = Instant::now();
                limiter.settle(chat, start, done);
                if let Err(SendError::RetryAfter(wait)) = &outcome {
                    // Held before anything else can look at this chat.
                    limiter.hold(chat, done + *wait + MARGIN);
                }
            }
            let now = self.notices.now();
            let result = match outcome {
                Ok(message_id) => {
                    let written = self.delivered(row.id, message_id, now);
                    if row.broadcast_id.is_some() {
                        // The broadcast's counts (reported below) must include it.
                        let _ = written.await;
                    } else {
                        *recorded = Some(written);
                    }
                    Ok(())
                }
                Err(SendError::RetryAfter(wait)) => {
                    tracing::warn!(chat, seconds = wait.as_secs(), "told to wait");
                    let until = now + chrono::Duration::from_std(wait + MARGIN).unwrap_or_default();
                    self.record(self.store.hold_chat(chat, until).await, row.id);
                    self.record(
                        self.store.outbox_retry(row.id, until, "retry after").await,
                        row.id,
                    );
                    self.settle(1);
                    return self.give_back(chat, None, until).await;
                }
                Err(SendError::Migrated(new_chat)) => {
                    tracing::info!(chat, new_chat, "group moved to a supergroup; following it");
                    self.record(self.store.migrate_chat(chat, new_chat).await, row.id);
                    self.record(
                        self.store.outbox_retry(row.id, now, "chat migrated").await,
                        row.id,
                    );
                    self.settle(1);
                    return self.give_back(chat, None, now).await;
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
            self.settle(1);
            if let Some(b) = row.broadcast_id
                && let Err(e) = self.notices.broadcast_settled(b).await
            {
                tracing::warn!(broadcast = b, error = %e, "could not report a broadcast");
            }
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
        if row.op == Op::Send
            && let Some(poll) = &row.poll
        {
            let (message, poll_id) = self.transport.send_poll(row.chat_id, poll).await?;
            // Answers arrive under the poll's id; whoever asked for the poll
            // (a survey) finds it by the row's tag. Not retried: the poll is out.
            if let Some(tag) = &row.tag
                && let Err(e) = self.store.poll_sent(tag, &poll_id).await
            {
                tracing::error!(row = row.id, error = %e, "could not record a poll's id");
            }
            return Ok(Some(message));
        }
        if row.op == Op::Send
            && let Some(media) = &row.media
        {
            return self
                .transport
                .send_media(
                    row.chat_id,
                    media,
                    text,
                    row.reply_to,
                    row.keyboard.as_ref(),
                )
                .await
                .map(Some);
        }
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
