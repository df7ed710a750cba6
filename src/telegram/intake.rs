//! Durable update intake: long polling that never loses an accepted update.
//!
//! teloxide's own polling acknowledges a batch (its next `getUpdates` offset) as
//! soon as the batch is queued to handlers, so a crash mid-handling loses those
//! updates. Here each batch is stored in the `inbox` table *before* the next poll
//! acknowledges it, handled through the same dptree [`schema`](super::schema), and
//! marked done afterwards. On start, stored but unhandled updates are replayed;
//! handlers are idempotent, so a replay of something half-done is harmless. A
//! re-delivered update id is recognised and skipped.
//!
//! Updates of one chat are handled in order by one task; chats run side by side.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use teloxide::RequestError;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, Me, UpdateKind};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::desk::Desk;

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
    chats: HashMap<i64, mpsc::UnboundedSender<(i64, Update)>>,
    tasks: JoinSet<()>,
}

impl Router {
    fn route(&mut self, id: i64, update: Update) {
        let key = update
            .chat()
            .map(|c| c.id.0)
            .or_else(|| update.from().map(|u| u.id.0 as i64))
            .unwrap_or(0);
        let item = (id, update);
        let item = match self.chats.get(&key) {
            Some(tx) => match tx.send(item) {
                Ok(()) => return,
                Err(mpsc::error::SendError(item)) => item,
            },
            None => item,
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<(i64, Update)>();
        let _ = tx.send(item);
        if self.chats.len() >= MAX_QUIET_CHATS {
            self.chats.retain(|_, tx| !tx.is_closed());
            while self.tasks.try_join_next().is_some() {}
        }
        self.chats.insert(key, tx);
        let (bot, desk, me, handler) = (
            self.bot.clone(),
            self.desk.clone(),
            self.me.clone(),
            self.handler.clone(),
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
                let Some((id, update)) = next else { break };
                handle(&bot, &desk, &me, &handler, id, update).await;
            }
        });
    }
}

async fn handle(bot: &Bot, desk: &Desk, me: &Me, handler: &Handler, id: i64, update: Update) {
    let deps = dptree::deps![update, bot.clone(), desk.clone(), me.clone()];
    match handler.dispatch(deps).await {
        std::ops::ControlFlow::Break(Err(e)) => {
            tracing::error!(update = id, error = %e, "handler failed")
        }
        std::ops::ControlFlow::Continue(_) => tracing::debug!(update = id, "no route for update"),
        _ => {}
    }
    if let Err(e) = desk.store().inbox_done(id, desk.now()).await {
        // It will be replayed on the next start; handlers are idempotent.
        tracing::error!(update = id, error = %e, "could not mark an update handled");
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
    let mut router = Router {
        bot: bot.clone(),
        desk: desk.clone(),
        me,
        handler: Arc::new(super::schema()),
        chats: HashMap::new(),
        tasks: JoinSet::new(),
    };
    match desk.store().inbox_pending().await {
        Ok(pending) => {
            if !pending.is_empty() {
                tracing::info!(
                    count = pending.len(),
                    "replaying updates a restart interrupted"
                );
            }
            for (id, payload) in pending {
                match serde_json::from_str::<Update>(&payload) {
                    Ok(update) => router.route(id, update),
                    Err(e) => {
                        tracing::error!(update = id, error = %e, "stored update no longer parses; skipped")
                    }
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "could not read the inbox"),
    }

    let mut offset: i32 = 0;
    let mut backoff = Duration::from_millis(500);
    let secs = u32::try_from(poll_timeout.as_secs()).unwrap_or(10);
    loop {
        let poll = bot
            .get_updates()
            .offset(offset)
            .timeout(secs)
            .allowed_updates(vec![
                AllowedUpdate::Message,
                AllowedUpdate::CallbackQuery,
                AllowedUpdate::MyChatMember,
            ]);
        let result = tokio::select! {
            r = poll.send() => r,
            _ = shutdown.cancelled() => break,
        };
        let updates = match result {
            Ok(u) => {
                backoff = Duration::from_millis(500);
                u
            }
            Err(e) => {
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
        let mut batch = Vec::with_capacity(updates.len());
        let mut parsed = HashMap::with_capacity(updates.len());
        for update in updates {
            offset = offset.max(update.id.0 as i32 + 1);
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
            continue;
        }
        // Stored before the next poll acknowledges them.
        let fresh = loop {
            match desk.store().inbox_accept(&batch, desk.now()).await {
                Ok(fresh) => break fresh,
                Err(e) => {
                    tracing::error!(error = %e, "cannot store updates; not acknowledging them");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown.cancelled() => return,
                    }
                }
            }
        };
        for id in fresh {
            if let Some(update) = parsed.remove(&id) {
                router.route(id, update);
            }
        }
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
}
