//! Durable update intake: long polling that never loses an accepted update.
//!
//! teloxide's own polling acknowledges a batch (its next `getUpdates` offset) as
//! soon as the batch is queued to handlers, so a crash mid-handling loses those
//! updates. Here each batch is stored in the `inbox` table *before* the next poll
//! acknowledges it, handled through the same dptree [`schema`](super::schema), and
//! marked done only when a handler succeeded. On start, stored but unhandled
//! updates are replayed; handlers are idempotent, so a replay of something
//! half-done is harmless. A re-delivered update id is recognised and skipped.
//!
//! A handler that fails (a database timeout, a bug, a panic) does not mark its
//! update done: the update is tried again with backoff, in place, so the chat's
//! later messages still come after it. Each attempt is counted in the database;
//! after `[inbox] max_attempts` the update becomes a dead letter, staff are told
//! once and the sender gets an apology. If even that cannot be stored, the update
//! stays pending and is tried again, at the longest backoff, until it can.
//!
//! Updates of one chat are handled in order by one task; chats run side by side.
//!
//! With several instances on PostgreSQL each update is handled by the instance
//! that stored it (a re-delivery to another instance is recognised by the inbox
//! and not stored twice). An instance that dies leaves its pending updates owned
//! by a heartbeat that lapses: every [`SWEEP`](crate::worker::instance::SWEEP) the
//! others look for such updates and one takes each (`Store::inbox_take_over`),
//! which is also how a restarted instance finds its own.
//!
//! Polling and the webhook (`super::webhook`) share everything from "stored in
//! the inbox" on: both hand what Telegram delivered to [`Accept::accept`], and
//! acknowledge it (the next poll's offset, the webhook's 200) only once that
//! returned `Ok`.

use futures::FutureExt;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use teloxide::RequestError;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, Me, UpdateKind};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::desk::{Desk, FailedUpdate};
use crate::metrics::metrics;
use crate::storage::StorageError;

/// A chat's task ends after this long without updates.
const CHAT_IDLE: Duration = Duration::from_secs(60);
/// Ended chats' queues are swept once this many are known.
const MAX_QUIET_CHATS: usize = 1_000;

type Handler = UpdateHandler<Box<dyn std::error::Error + Send + Sync + 'static>>;

struct Router {
    bot: Bot,
    desk: Desk,
    me: Me,
    handler: Arc<Handler>,
    /// One queue per chat: its updates are handled in arrival order.
    chats: HashMap<i64, mpsc::UnboundedSender<Job>>,
    tasks: JoinSet<()>,
    /// Ends the waits between attempts at shutdown (the update stays pending).
    shutdown: CancellationToken,
    done: DoneMarks,
}

/// Handled updates are marked done by one task, as many at a time as have
/// finished while the last mark was written: under load one write marks many
/// messages, idle it marks each at once. The mark only spares a replay after a
/// crash (handlers are safe to run twice), so a mark lost with the process costs
/// a harmless replay, never a message.
#[derive(Clone)]
struct DoneMarks(mpsc::UnboundedSender<i64>);

impl DoneMarks {
    fn start(desk: Desk) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<i64>();
        let task = tokio::spawn(async move {
            let mut ids = Vec::new();
            while rx.recv_many(&mut ids, 2_000).await > 0 {
                if let Err(e) = desk.store().inbox_done_many(&ids, desk.now()).await {
                    // They replay on the next start; handlers are idempotent.
                    tracing::error!(count = ids.len(), error = %e, "could not mark updates handled");
                }
                ids.clear();
            }
        });
        (Self(tx), task)
    }

    async fn mark(&self, desk: &Desk, id: i64) {
        if self.0.send(id).is_err()
            && let Err(e) = desk.store().inbox_done(id, desk.now()).await
        {
            tracing::error!(update = id, error = %e, "could not mark an update handled");
        }
    }
}

/// An update to handle, with the attempts already made at it.
struct Job {
    id: i64,
    update: Update,
    attempts: i64,
}

impl Router {
    fn route(&mut self, id: i64, update: Update, attempts: i64) {
        // A group that became a supergroup: the notice (in the old chat) is queued
        // with the new chat's messages, ahead of them, so the first report in the
        // new group finds its building already moved over instead of racing it.
        let migrated_to = match &update.kind {
            UpdateKind::Message(m) => m.migrate_to_chat_id().map(|c| c.0),
            _ => None,
        };
        let key = migrated_to
            .or_else(|| update.chat().map(|c| c.id.0))
            .or_else(|| update.from().map(|u| u.id.0 as i64))
            .unwrap_or(0);
        let item = Job {
            id,
            update,
            attempts,
        };
        let item = match self.chats.get(&key) {
            Some(tx) => match tx.send(item) {
                Ok(()) => return,
                Err(mpsc::error::SendError(item)) => item,
            },
            None => item,
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let _ = tx.send(item);
        if self.chats.len() >= MAX_QUIET_CHATS {
            self.chats.retain(|_, tx| !tx.is_closed());
            while self.tasks.try_join_next().is_some() {}
        }
        self.chats.insert(key, tx);
        let (bot, desk, me, handler, shutdown, done) = (
            self.bot.clone(),
            self.desk.clone(),
            self.me.clone(),
            self.handler.clone(),
            self.shutdown.clone(),
            self.done.clone(),
        );
        self.tasks.spawn(async move {
            loop {
                let next = tokio::select! {
                    next = rx.recv() => next,
                    _ = tokio::time::sleep(CHAT_IDLE) => {
                        // Quiet for a while: stop taking more (the router starts a
                        // new task on the next update) and finish what arrived.
                        rx.close();
                        rx.recv().await
                    }
                };
                let Some(job) = next else { break };
                handle(&bot, &desk, &me, &handler, job, &shutdown, &done).await;
            }
        });
    }
}

/// Handle one update until a handler succeeds, it becomes a dead letter, or we
/// shut down (then it stays pending and replays on the next start).
async fn handle(
    bot: &Bot,
    desk: &Desk,
    me: &Me,
    handler: &Handler,
    job: Job,
    shutdown: &CancellationToken,
    done: &DoneMarks,
) {
    let Job {
        id,
        update,
        mut attempts,
    } = job;
    let policy = desk.settings().inbox.clone();
    loop {
        let deps = dptree::deps![update.clone(), bot.clone(), desk.clone(), me.clone()];
        let started = std::time::Instant::now();
        let outcome = AssertUnwindSafe(handler.dispatch(deps))
            .catch_unwind()
            .await;
        metrics().handled(started.elapsed());
        let error = match outcome {
            Ok(std::ops::ControlFlow::Break(Ok(()))) => None,
            Ok(std::ops::ControlFlow::Continue(_)) => {
                tracing::debug!(update = id, "no route for update");
                None
            }
            Ok(std::ops::ControlFlow::Break(Err(e))) => Some(e.to_string()),
            Err(panic) => Some(format!("handler panicked: {}", panic_text(&panic))),
        };
        let Some(error) = error else {
            done.mark(desk, id).await;
            return;
        };
        attempts = match desk.store().inbox_failed(id, &error).await {
            Ok(counted) => counted.max(attempts + 1),
            Err(_) => attempts + 1,
        };
        if attempts >= policy.max_attempts {
            match desk
                .dead_letter(&failed_update(id, &update, attempts, error))
                .await
            {
                Ok(_) => return,
                Err(e) => {
                    tracing::error!(update = id, error = %e, "could not record a dead letter; keeping the update")
                }
            }
        } else {
            tracing::warn!(update = id, attempt = attempts, error = %error, "handling failed; will try again");
        }
        tokio::select! {
            _ = tokio::time::sleep(policy.backoff(attempts)) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

fn failed_update(id: i64, update: &Update, attempts: i64, error: String) -> FailedUpdate {
    let text = match &update.kind {
        UpdateKind::Message(m) => m.text().or(m.caption()).map(str::to_string),
        UpdateKind::CallbackQuery(q) => q.data.clone(),
        _ => None,
    };
    FailedUpdate {
        update_id: id,
        chat_id: update.chat().map(|c| c.id.0),
        sender: update
            .from()
            .map(|u| crate::domain::ticket::person_name(&u.first_name, u.last_name.as_deref())),
        text,
        attempts,
        error,
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// The way into the desk for what Telegram delivered: store it in the inbox,
/// then queue it for its chat. Cheap to clone; the router stops taking updates
/// once every clone is dropped.
#[derive(Clone)]
pub struct Accept {
    commits: mpsc::UnboundedSender<Delivery>,
}

/// An update for the router: its id, itself, and the attempts already made.
type Queued = (i64, Update, i64);

/// What one `accept` call brought, on its way to the inbox: (id, JSON) rows,
/// the parsed updates by id, and where to say how many were new.
struct Delivery {
    rows: Vec<(i64, String)>,
    parsed: HashMap<i64, Update>,
    answer: oneshot::Sender<Result<usize, StorageError>>,
}

/// Most deliveries stored in one commit.
const GROUP_COMMIT: usize = 256;

/// Stores deliveries in the inbox, as many in one commit as arrived while the
/// last commit ran (webhook posts come side by side, each waiting for its
/// `200`), then queues the new updates in the order they arrived. If the shared
/// commit fails, each delivery is stored on its own, so one that cannot be
/// stored does not refuse its neighbours; each caller hears only of its own.
async fn group_commit(
    desk: Desk,
    mut rx: mpsc::UnboundedReceiver<Delivery>,
    queue: mpsc::UnboundedSender<Queued>,
) {
    let store = desk.store();
    let mut deliveries = Vec::new();
    while rx.recv_many(&mut deliveries, GROUP_COMMIT).await > 0 {
        let now = desk.now();
        let together = if deliveries.len() > 1 {
            let all: Vec<(i64, String)> = deliveries
                .iter()
                .flat_map(|d| d.rows.iter().cloned())
                .collect();
            match store.inbox_accept(&all, now).await {
                Ok(fresh) => Some(fresh),
                Err(e) => {
                    tracing::warn!(deliveries = deliveries.len(), error = %e, "storing updates together failed; storing them one delivery at a time");
                    None
                }
            }
        } else {
            None
        };
        let mut fresh: std::collections::HashSet<i64> = match together {
            Some(fresh) => fresh.into_iter().collect(),
            None => {
                let mut fresh = std::collections::HashSet::new();
                for d in std::mem::take(&mut deliveries) {
                    match store.inbox_accept(&d.rows, now).await {
                        Ok(ids) => {
                            fresh.extend(ids);
                            deliveries.push(d);
                        }
                        Err(e) => {
                            let _ = d.answer.send(Err(e));
                        }
                    }
                }
                fresh
            }
        };
        for mut d in deliveries.drain(..) {
            let mut count = 0;
            for (id, _) in &d.rows {
                // Once: the same update twice in flight (a re-delivery) is queued once.
                if fresh.remove(id)
                    && let Some(update) = d.parsed.remove(id)
                {
                    metrics().update_stored(kind_of(&update.kind));
                    count += 1;
                    // Stored: if the router is gone (shutting down), it replays on the next start.
                    let _ = queue.send((*id, update, 0));
                }
            }
            let _ = d.answer.send(Ok(count));
        }
    }
}

impl Accept {
    /// Store `updates` in the inbox (committed) and queue the new ones for
    /// handling; a re-delivered id is recognised and skipped. Returns how many
    /// were new. An error means nothing was stored: do not acknowledge them.
    pub async fn accept(&self, updates: Vec<Update>) -> Result<usize, StorageError> {
        let mut batch = Vec::with_capacity(updates.len());
        let mut parsed = HashMap::with_capacity(updates.len());
        for update in updates {
            if let UpdateKind::Error(raw) = &update.kind {
                tracing::warn!(update = update.id.0, raw = %crate::desk::excerpt(&raw.to_string(), 300), "unreadable update skipped");
                continue;
            }
            let id = i64::from(update.id.0);
            match serde_json::to_string(&update) {
                Ok(json) => {
                    batch.push((id, json));
                    parsed.insert(id, update);
                }
                Err(e) => {
                    tracing::warn!(update = id, error = %e, "update cannot be stored; skipped")
                }
            }
        }
        if batch.is_empty() {
            return Ok(0);
        }
        let (answer, stored) = oneshot::channel();
        self.commits
            .send(Delivery {
                rows: batch,
                parsed,
                answer,
            })
            .map_err(|_| StorageError::Stopped("the inbox writer"))?;
        stored
            .await
            .map_err(|_| StorageError::Stopped("the inbox writer"))?
    }
}

fn kind_of(kind: &UpdateKind) -> &'static str {
    match kind {
        UpdateKind::Message(_) => "message",
        UpdateKind::EditedMessage(_) => "edited_message",
        UpdateKind::CallbackQuery(_) => "callback_query",
        UpdateKind::MyChatMember(_) => "my_chat_member",
        UpdateKind::Poll(_) => "poll",
        _ => "other",
    }
}

/// The kinds of update the desk asks Telegram for (polling and webhook alike).
pub fn allowed_updates() -> Vec<AllowedUpdate> {
    vec![
        AllowedUpdate::Message,
        AllowedUpdate::CallbackQuery,
        AllowedUpdate::MyChatMember,
        AllowedUpdate::Poll,
    ]
}

/// Replay what a restart interrupted, then start the router. It handles what
/// the returned [`Accept`] is given until every clone of it is dropped, then
/// lets each chat finish what it has; the handle ends when they did.
pub async fn start(
    bot: Bot,
    desk: Desk,
    me: Me,
    shutdown: CancellationToken,
) -> (Accept, tokio::task::JoinHandle<()>) {
    let (done, marks) = DoneMarks::start(desk.clone());
    let mut router = Router {
        bot,
        desk: desk.clone(),
        me,
        handler: Arc::new(super::schema()),
        chats: HashMap::new(),
        tasks: JoinSet::new(),
        shutdown,
        done,
    };
    // Before anything can be accepted, so nothing is both replayed and queued.
    replay(&mut router, &desk).await;
    let (queue, mut rx) = mpsc::unbounded_channel::<Queued>();
    if desk.store().backend() == crate::storage::Backend::Postgres {
        tokio::spawn(sweep(desk.clone(), queue.clone(), router.shutdown.clone()));
    }
    let handle = tokio::spawn(async move {
        while let Some((id, update, attempts)) = rx.recv().await {
            router.route(id, update, attempts);
        }
        // Close the queues and let each chat finish what it has.
        router.chats.clear();
        let drain = async { while router.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(10), drain)
            .await
            .is_err()
        {
            tracing::warn!(
                "some updates were still being handled at shutdown; they replay on the next start"
            );
        }
        // The last marks: every sender is gone with the router and its chats.
        drop(router);
        let _ = marks.await;
    });
    let (commits, deliveries) = mpsc::unbounded_channel();
    tokio::spawn(group_commit(desk, deliveries, queue));
    (Accept { commits }, handle)
}

/// Updates stored and not handled: on SQLite, where this daemon is alone, all of
/// them (a crash interrupted them); on PostgreSQL those whose instance is gone.
async fn unhandled(desk: &Desk) -> Result<Vec<(i64, String, i64)>, StorageError> {
    let store = desk.store();
    match store.backend() {
        crate::storage::Backend::Sqlite => store.inbox_pending().await,
        crate::storage::Backend::Postgres => {
            let lapse =
                chrono::Duration::from_std(crate::worker::instance::LAPSE).unwrap_or_default();
            store.inbox_take_over(chrono::Utc::now() - lapse).await
        }
    }
}

/// Every few seconds until `shutdown`: take over the updates a dead instance
/// left, and take up a staff group set through another instance.
async fn sweep(desk: Desk, queue: mpsc::UnboundedSender<Queued>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(crate::worker::instance::SWEEP) => {}
            _ = shutdown.cancelled() => return,
        }
        // `/set_staff_group` typed to another instance is stored, not told.
        if let Err(e) = desk.admin().follow_staff_group().await {
            tracing::warn!(error = %e, "could not check for a staff group set elsewhere");
        }
        match unhandled(&desk).await {
            Ok(taken) => {
                if !taken.is_empty() {
                    tracing::warn!(
                        count = taken.len(),
                        "taking over updates a stopped instance left unhandled"
                    );
                }
                for (id, payload, attempts) in taken {
                    match serde_json::from_str::<Update>(&payload) {
                        Ok(update) => {
                            if queue.send((id, update, attempts)).is_err() {
                                return;
                            }
                        }
                        Err(e) => unreadable(&desk, id, &payload, attempts, e).await,
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not look for updates left by a stopped instance")
            }
        }
    }
}

async fn unreadable(desk: &Desk, id: i64, payload: &str, attempts: i64, e: serde_json::Error) {
    // Kept for staff rather than dropped: a dead letter at once.
    let failed = FailedUpdate {
        update_id: id,
        chat_id: None,
        sender: None,
        text: Some(crate::desk::excerpt(payload, 300)),
        attempts,
        error: format!("stored update no longer parses: {e}"),
    };
    if let Err(e) = desk.dead_letter(&failed).await {
        tracing::error!(update = id, error = %e, "could not record a dead letter");
    }
}

async fn replay(router: &mut Router, desk: &Desk) {
    let pending = match unhandled(desk).await {
        Ok(pending) => pending,
        Err(e) => {
            tracing::error!(error = %e, "could not read the inbox");
            return;
        }
    };
    if !pending.is_empty() {
        tracing::info!(
            count = pending.len(),
            "replaying updates a restart interrupted"
        );
    }
    for (id, payload, attempts) in pending {
        match serde_json::from_str::<Update>(&payload) {
            Ok(update) => router.route(id, update, attempts),
            Err(e) => unreadable(desk, id, &payload, attempts, e).await,
        }
    }
}

/// Long-poll until `shutdown`. Each batch is accepted (stored) before the next
/// poll's offset acknowledges it.
pub async fn poll(bot: Bot, accept: Accept, poll_timeout: Duration, shutdown: CancellationToken) {
    // A webhook left from an earlier webhook-mode run would refuse every poll.
    match bot.get_webhook_info().await {
        Ok(info) if info.url.is_some() => {
            tracing::info!("removing the webhook an earlier run set; polling instead");
            if let Err(e) = bot.delete_webhook().await {
                tracing::warn!(error = %e, "could not remove the webhook");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not ask Telegram about a webhook"),
    }
    let mut offset: i32 = 0;
    let mut backoff = Duration::from_millis(500);
    let secs = u32::try_from(poll_timeout.as_secs()).unwrap_or(10);
    loop {
        let poll = bot
            .get_updates()
            .offset(offset)
            .timeout(secs)
            .allowed_updates(allowed_updates());
        let result = tokio::select! {
            r = poll.send() => r,
            _ = shutdown.cancelled() => break,
        };
        let updates = match result {
            Ok(u) => {
                metrics().bot_api_reached(true);
                backoff = Duration::from_millis(500);
                u
            }
            Err(e) => {
                metrics()
                    .bot_api_reached(!matches!(e, RequestError::Network(_) | RequestError::Io(_)));
                let wait = match &e {
                    RequestError::RetryAfter(s) => s.duration(),
                    _ => {
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                        backoff
                    }
                };
                tracing::warn!(error = %e, wait_ms = wait.as_millis() as u64, "getUpdates failed");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => continue,
                    _ = shutdown.cancelled() => break,
                }
            }
        };
        let next = updates
            .iter()
            .map(|u| u.id.0 as i32 + 1)
            .max()
            .unwrap_or(offset);
        // Stored before the next poll acknowledges them.
        loop {
            match accept.accept(updates.clone()).await {
                Ok(_) => break,
                Err(e) => {
                    tracing::error!(error = %e, "cannot store updates; not acknowledging them");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown.cancelled() => return,
                    }
                }
            }
        }
        offset = offset.max(next);
    }
}

/// Poll until `shutdown`; then let the chats finish what they have.
pub async fn run(
    bot: Bot,
    desk: Desk,
    me: Me,
    poll_timeout: Duration,
    shutdown: CancellationToken,
) {
    let (accept, router) = start(bot.clone(), desk, me, shutdown.clone()).await;
    poll(bot, accept, poll_timeout, shutdown).await;
    let _ = router.await;
}
