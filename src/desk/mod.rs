//! The desk: what happens when an owner or a staff member says something.
//!
//! It knows no chat platform. An edge (Telegram, the console) turns what arrived
//! into an [`Incoming`] or a command call; the desk decides, stores the change and
//! the messages that report it in one transaction, and wakes the outbox worker.
//! Every entry point is safe to run twice on the same input: tickets are keyed by
//! the message that opened them and every reply is tagged by what it answers.

mod broadcast;
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
pub use fees::FeeRun;
pub use inbox::FailedUpdate;
pub use render::excerpt;
pub use router::{Routed, press, route};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use tokio::sync::Notify;

use crate::configuration::Settings;
use crate::domain::calendar::OfficeHours;
use crate::domain::media::Media;
use crate::domain::outgoing::{Lane, Outgoing};
use crate::domain::templates::Templates;
use crate::domain::ticket::Actor;
use crate::domain::{Classifier, Clock};
use crate::storage::{StorageError, Store, Tx};

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

/// The desk's shared state. Cheap to clone.
#[derive(Clone)]
pub struct Desk {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    classifier: Arc<Classifier>,
    templates: Templates,
    settings: Settings,
    tz: Tz,
    /// When ordinary service clocks run (`[service] hours`).
    calendar: OfficeHours,
    clock: Arc<dyn Clock>,
    /// The bot's @username, for deep links into a private chat.
    bot_username: String,
    /// Rung after every commit that queued messages, so the worker sends at once.
    outbox_wake: Arc<Notify>,
    /// Staff and admins from the config; staff added at run time live in the store.
    config_staff: HashSet<i64>,
    /// The staff group: the config's `staff_chat` at first, replaced at build by
    /// the one remembered in the store and at run time by `/set_staff_group`.
    /// Read on every message, written almost never; never held across an await.
    staff_chat: RwLock<Option<i64>>,
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
        let tz = settings.timezone().unwrap_or(chrono_tz::Asia::Shanghai);
        // Checked when the settings were loaded; round the clock if not.
        let calendar = settings
            .service
            .calendar(tz)
            .unwrap_or_else(|_| OfficeHours::always(tz));
        let config_staff = settings
            .desk
            .staff
            .iter()
            .chain(&settings.desk.admins)
            .copied()
            .collect();
        let staff_chat = RwLock::new(settings.desk.staff_chat);
        Self {
            inner: Arc::new(Inner {
                store,
                classifier,
                templates,
                settings,
                tz,
                calendar,
                clock,
                bot_username,
                outbox_wake: Arc::new(Notify::new()),
                config_staff,
                staff_chat,
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn classifier(&self) -> &Classifier {
        &self.inner.classifier
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn outbox_wake(&self) -> Arc<Notify> {
        self.inner.outbox_wake.clone()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.inner.clock.clone()
    }

    /// The bot's @username (without the @): commands addressed to it are ours.
    pub fn bot_username(&self) -> &str {
        &self.inner.bot_username
    }

    pub fn tz(&self) -> Tz {
        self.inner.tz
    }

    /// The handbook's time limits (`[service]`).
    pub(crate) fn standard(&self) -> crate::domain::service::ServiceStandard {
        use chrono::Duration;
        let s = &self.inner.settings.service;
        crate::domain::service::ServiceStandard {
            respond: Duration::minutes(s.respond_minutes),
            emergency_respond: Duration::minutes(s.emergency_respond_minutes),
            resolve: Duration::hours(s.resolve_hours),
            complaint_answer: Duration::hours(s.complaint_answer_hours),
        }
    }

    /// Office hours, for ordinary service clocks.
    pub(crate) fn calendar(&self) -> &OfficeHours {
        &self.inner.calendar
    }

    pub(crate) fn t(&self) -> &Templates {
        &self.inner.templates
    }

    pub fn is_admin(&self, user: i64) -> bool {
        self.inner.settings.is_admin(user)
    }

    /// Staff from the config, or added by an admin at run time.
    pub async fn is_staff(&self, user: i64) -> Result<bool> {
        Ok(self.inner.config_staff.contains(&user) || self.inner.store.is_staff(user).await?)
    }

    /// The staff group now: `/set_staff_group`'s choice, else the config's.
    pub fn staff_chat(&self) -> Option<i64> {
        *self
            .inner
            .staff_chat
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Where staff are told things: the staff group, or, until one is set, each
    /// admin in private (a private chat's id is the user's id), so nothing staff
    /// must hear of is dropped for want of a group.
    pub(crate) fn staff_targets(&self) -> Vec<i64> {
        match self.staff_chat() {
            Some(chat) => vec![chat],
            None => self.inner.settings.desk.admins.clone(),
        }
    }

    /// One message for staff, once per `tag`: to the staff group, or a copy for
    /// each admin in private (tagged `<tag>:<admin>`) while there is no group.
    pub(crate) fn to_staff(&self, tag: &str, text: &str) -> Vec<Outgoing> {
        self.staff_targets()
            .into_iter()
            .map(|target| {
                let tag = if Some(target) == self.staff_chat() {
                    tag.to_string()
                } else {
                    format!("{tag}:{target}")
                };
                Outgoing::send(target, text).tag(tag)
            })
            .collect()
    }

    /// Bind the `[[building]]` groups of the config (they win over earlier /bind).
    pub async fn bind_configured_buildings(&self) -> Result<()> {
        let now = self.now();
        for b in &self.inner.settings.building {
            self.inner
                .store
                .bind_building(b.chat, &b.name, "config", None, now)
                .await?;
        }
        Ok(())
    }

    /// Commit and wake the sender.
    async fn commit(&self, tx: Tx) -> Result<()> {
        tx.commit().await?;
        self.inner.outbox_wake.notify_one();
        Ok(())
    }

    /// Answer `msg` with `text` (once, however often `msg` arrives).
    pub async fn reply(&self, msg: &Incoming, text: impl Into<String>) -> Result<()> {
        let mut tx = self.inner.store.begin().await?;
        tx.enqueue(
            &Outgoing::send(msg.chat_id, text)
                .reply_to(msg.message_id)
                .tag(msg.reply_tag()),
            self.now(),
        )
        .await?;
        self.commit(tx).await
    }

    /// Queue one message on its own.
    async fn post(&self, out: Outgoing) -> Result<()> {
        let mut tx = self.inner.store.begin().await?;
        tx.enqueue(&out, self.now()).await?;
        self.commit(tx).await
    }

    /// The polite refusal for someone who is not staff.
    pub async fn refuse(&self, msg: &Incoming) -> Result<()> {
        self.reply(msg, self.t().render("refuse_not_staff", &[]))
            .await
    }

    /// The staff group or a private chat: where details may be shown.
    pub fn is_staff_place(&self, msg: &Incoming) -> bool {
        msg.is_private() || Some(msg.chat_id) == self.staff_chat()
    }

    /// A staff command typed where owners read: it is not run, the sender is told
    /// where to ask, and the command (which may carry a note, a room or a phone
    /// number) is taken down when the bot may delete messages there.
    pub async fn not_here(&self, msg: &Incoming) -> Result<()> {
        self.refuse_in_group(msg, "staff_command_elsewhere", true)
            .await
    }

    /// Answer `msg` in its group with template `key` and, when `take_down`, ask
    /// Telegram to delete it (it may hold private details): the deletion goes
    /// first, before anything else queued for that group.
    pub(crate) async fn refuse_in_group(
        &self,
        msg: &Incoming,
        key: &str,
        take_down: bool,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        tx.enqueue(
            &Outgoing::send(msg.chat_id, self.t().render(key, &[]))
                .reply_to(msg.message_id)
                .tag(msg.reply_tag()),
            now,
        )
        .await?;
        if take_down {
            tx.enqueue(
                &Outgoing::delete_message(msg.chat_id, msg.message_id)
                    .tag(format!("del:{}:{}", msg.chat_id, msg.message_id))
                    .lane(Lane::Emergency),
                now,
            )
            .await?;
        }
        self.commit(tx).await
    }

    /// A deep link that opens a private chat with the bot about ticket `n`.
    fn deep_link(&self, payload: &str) -> String {
        format!("https://t.me/{}?start={payload}", self.inner.bot_username)
    }

    /// The bot was removed from a group: forget the binding.
    pub async fn on_removed_from_chat(&self, chat_id: i64) -> Result<Option<String>> {
        let name = self.inner.store.unbind_building(chat_id).await?;
        if let Some(name) = &name {
            let now = self.now();
            let mut tx = self.inner.store.begin().await?;
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
        self.inner.store.migrate_chat(old, new).await?;
        tracing::info!(
            old,
            new,
            "group migrated to a supergroup; bindings and tickets follow"
        );
        Ok(())
    }

    fn lane_for(&self, urgent: bool) -> Lane {
        if urgent {
            Lane::Emergency
        } else {
            Lane::Interactive
        }
    }
}
