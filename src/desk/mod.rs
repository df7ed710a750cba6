//! The desk: what happens when an owner or a staff member says something.
//!
//! It knows no chat platform. An edge (Telegram, the console) turns what arrived
//! into an [`Incoming`] or a command call; the desk decides, stores the change and
//! the messages that report it in one transaction, and wakes the outbox worker.
//! Every entry point is safe to run twice on the same input: tickets are keyed by
//! the message that opened them and every reply is tagged by what it answers.

mod broadcast;
mod context;
mod escalation;
mod fees;
mod followup;
mod inbox;
mod media;
mod merging;
mod owner;
mod place;
mod render;
mod room;
pub mod router;
mod setup;
mod staff;
mod survey;
mod wording;

pub use crate::domain::command::TicketListKind;
pub use context::Context;
pub use fees::FeeRun;
pub use inbox::FailedUpdate;
pub use render::excerpt;
pub use router::{Routed, press, route};

use std::sync::Arc;

use crate::configuration::Settings;
use crate::domain::Classifier;
use crate::domain::Clock;
use crate::domain::media::Media;
use crate::domain::templates::Templates;
use crate::domain::ticket::Actor;
use crate::storage::{StorageError, Store};

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub type Result<T> = std::result::Result<T, DeskError>;

/// Where a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatKind {
    Private,
    Group,
}

/// A message as the desk sees it, whatever the platform.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub chat_id: i64,
    pub chat_kind: ChatKind,
    pub message_id: i64,
    pub from: Actor,
    /// `@username`, if the platform has one (used by `/transfer @name`).
    pub username: Option<String>,
    /// The text, or a photo's caption (may be empty when `media` is set).
    pub text: String,
    /// A photo, voice message, video or file sent with it.
    pub media: Option<Media>,
    /// Photos sent together (an album) share this id.
    pub album: Option<String>,
    /// Said to the desk in a group: it mentions the bot or replies to one of its
    /// messages. Such a message is never met with silence.
    pub addressed: bool,
}

impl Incoming {
    /// The tag of the desk's reply to this message: one reply per message, however
    /// often the message is delivered.
    fn reply_tag(&self) -> String {
        format!("re:{}:{}", self.chat_id, self.message_id)
    }

    fn is_private(&self) -> bool {
        self.chat_kind == ChatKind::Private
    }
}

/// What a pressed button should show its presser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackAnswer {
    pub text: String,
    pub alert: bool,
}

impl CallbackAnswer {
    fn toast(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            alert: false,
        }
    }

    fn alert(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            alert: true,
        }
    }
}

/// The façade the edges (Telegram, the console, the workers) hold: the shared
/// context, reached through `Deref` so `desk.now()` and `desk.store()` read as
/// before, and the whole settings for edges that ask (no use case reads them).
/// Cheap to clone.
#[derive(Clone)]
pub struct Desk {
    ctx: Arc<Context>,
    settings: Arc<Settings>,
}

impl std::ops::Deref for Desk {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl Desk {
    pub fn new(
        store: Store,
        classifier: Arc<Classifier>,
        templates: Templates,
        settings: Settings,
        clock: Arc<dyn Clock>,
        bot_username: String,
    ) -> Self {
        let ctx = Arc::new(Context::new(
            store,
            classifier,
            templates,
            &settings,
            clock,
            bot_username,
        ));
        Self {
            ctx,
            settings: Arc::new(settings),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Bind the `[[building]]` groups of the config (they win over earlier /bind).
    pub async fn bind_configured_buildings(&self) -> Result<()> {
        let now = self.now();
        for b in &self.settings.building {
            self.store
                .bind_building(b.chat, &b.name, "config", None, now)
                .await?;
        }
        Ok(())
    }

    /// The bot was removed from a group: forget the binding.
    pub async fn on_removed_from_chat(&self, chat_id: i64) -> Result<Option<String>> {
        let name = self.store.unbind_building(chat_id).await?;
        if let Some(name) = &name {
            let now = self.now();
            let mut tx = self.store.begin().await?;
            for out in self.to_staff(
                &format!("removed:{chat_id}:{}", now.timestamp()),
                &self.t().staff(
                    "removed_from_group",
                    &[("building", name), ("chat", &chat_id.to_string())],
                ),
            ) {
                tx.enqueue(&out, now).await?;
            }
            self.commit(tx).await?;
        }
        Ok(name)
    }

    /// A group became a supergroup with a new id.
    pub async fn on_chat_migrated(&self, old: i64, new: i64) -> Result<()> {
        self.store.migrate_chat(old, new).await?;
        tracing::info!(
            old,
            new,
            "group migrated to a supergroup; bindings and tickets follow"
        );
        Ok(())
    }
}
