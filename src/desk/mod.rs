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
mod services;
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
pub use services::{Admin, Intake, Notices, Workflow};

use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

use crate::configuration::Settings;
use crate::domain::Classifier;
use crate::domain::Clock;
use crate::domain::action::Action;
use crate::domain::media::Media;
use crate::domain::templates::Templates;
use crate::domain::ticket::{Actor, TicketId};
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
    intake: Intake,
    workflow: Workflow,
    notices: Notices,
    admin: Admin,
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
        let workflow = Workflow { ctx: ctx.clone() };
        let intake = Intake {
            ctx: ctx.clone(),
            workflow: workflow.clone(),
            flood: settings.flood.clone(),
        };
        let notices = Notices {
            ctx: ctx.clone(),
            notices: settings.notices.clone(),
            fees: settings.fees.clone(),
        };
        let admin = Admin {
            ctx: ctx.clone(),
            // Each with its estate spelled out (the only one when left out).
            buildings: settings
                .building
                .iter()
                .map(|b| crate::configuration::BuildingConfig {
                    estate: Some(settings.estate_of(b)),
                    ..b.clone()
                })
                .collect(),
        };
        Self {
            ctx,
            settings: Arc::new(settings),
            intake,
            workflow,
            notices,
            admin,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn intake(&self) -> &Intake {
        &self.intake
    }

    pub fn workflow(&self) -> &Workflow {
        &self.workflow
    }

    pub fn notices(&self) -> &Notices {
        &self.notices
    }

    pub fn admin(&self) -> &Admin {
        &self.admin
    }

    /// One tick of the clock: housekeeping, the service clocks (escalation,
    /// follow-up), then outage reminders, "已恢复" notices and fee reminders that
    /// fell due. Each step is keyed so a repeat after a crash is a no-op.
    pub async fn tick(&self) -> Result<()> {
        let now = self.now();
        self.prune(now).await;
        self.workflow.escalate().await?;
        self.workflow.follow_up_unrated().await?;
        self.notices.tick(now).await
    }

    /// Count again the past days whose tickets changed, so the manager's next
    /// report reads kept tallies (see `storage::report`). Returns the days counted.
    pub async fn refresh_report(&self) -> Result<u64> {
        Ok(self
            .store()
            .refresh_report_days(self.now(), self.tz())
            .await?)
    }
}

impl Desk {
    /// A pressed button. Who may press it is checked by the caller (see
    /// `router::press`); a star button checks that its presser is the reporter.
    pub async fn press(&self, from: &Actor, action: Action) -> Result<CallbackAnswer> {
        match action {
            Action::Rate {
                ticket,
                round,
                stars,
            } => self.workflow.rate(ticket, round, stars, from).await,
            Action::Sort { unsorted, choice } => {
                self.intake.sort_unsorted(from, unsorted, choice).await
            }
            Action::MeToo(id) => self.intake.me_too(from, id).await,
            Action::Claim(id) => {
                let outcome = self
                    .workflow
                    .change_ticket(id, from, |t| Ok(vec![t.claim(from)?]))
                    .await?;
                Ok(match outcome {
                    Ok(t) => CallbackAnswer::toast(
                        self.t()
                            .label_with("toast_claimed", &[("ticket", &t.id.to_string())]),
                    ),
                    Err(e) => CallbackAnswer::alert(self.ticket_error(&e)),
                })
            }
            Action::Done(id) => {
                let admin = self.is_admin(from.id);
                let outcome = self
                    .workflow
                    .change_ticket(id, from, |t| Ok(vec![t.finish(from, admin, None)?]))
                    .await?;
                Ok(match outcome {
                    Ok(t) => CallbackAnswer::toast(
                        self.t()
                            .label_with("toast_done", &[("ticket", &t.id.to_string())]),
                    ),
                    Err(e) => CallbackAnswer::alert(self.ticket_error(&e)),
                })
            }
            // Room buttons name the request they were shown with.
            Action::Room { request, confirm } => {
                self.intake.decide_room(from, request, confirm).await
            }
        }
    }
}

impl Desk {
    /// Retention: forget handled updates and finished outbox rows older than
    /// `[database] retention_days`, and chat holds that ended. A failure is logged:
    /// it must not stop the reminders of this tick.
    /// Housekeeping of the whole store, no use case's: so it stays on the façade.
    async fn prune(&self, now: DateTime<Utc>) {
        let days = self.settings.database.retention_days;
        if let Some(before) = (days > 0)
            .then(|| now.checked_sub_signed(Duration::days(i64::from(days))))
            .flatten()
        {
            if let Err(e) = self.store().inbox_prune(before).await {
                tracing::warn!(error = %e, "could not prune the inbox");
            }
            // A few batches a tick: a large backlog goes over several ticks.
            for _ in 0..20 {
                match self.store().outbox_prune(before).await {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "could not prune the outbox");
                        break;
                    }
                }
            }
        }
        if let Err(e) = self.store().chat_holds_prune(now).await {
            tracing::warn!(error = %e, "could not forget ended chat holds");
        }
    }
}

/// The outbox worker needs only the notices service; a desk hands it over.
impl From<Desk> for Notices {
    fn from(desk: Desk) -> Self {
        desk.notices.clone()
    }
}

/// Forward a use case to the service that owns it, for edges and tests that
/// call it on the desk.
macro_rules! forward {
    ($($service:ident: $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {$(
        pub async fn $name(&self, $($arg: $ty),*) -> $ret {
            self.$service.$name($($arg),*).await
        }
    )*};
}

impl Desk {
    forward! {
        intake: on_message(msg: &Incoming) -> Result<()>;
        intake: start(msg: &Incoming, payload: &str) -> Result<()>;
        workflow: claim(msg: &Incoming, id: TicketId) -> Result<()>;
        workflow: finish(msg: &Incoming, id: TicketId, summary: Option<String>) -> Result<()>;
        workflow: transfer(msg: &Incoming, id: TicketId, to: Option<&str>) -> Result<()>;
        workflow: reclassify(msg: &Incoming, id: TicketId, words: &[String]) -> Result<()>;
        workflow: show_ticket(msg: &Incoming, id: TicketId) -> Result<()>;
        workflow: list_tickets(msg: &Incoming, kind: TicketListKind) -> Result<()>;
        workflow: stats(msg: &Incoming, days: i64, estate: Option<&str>) -> Result<()>;
        workflow: rate(ticket: TicketId, round: Option<i64>, stars: i64, from: &Actor) -> Result<CallbackAnswer>;
        notices: outage(msg: &Incoming, args: &str) -> Result<()>;
        notices: on_poll(poll_id: &str, counts: &[u64]) -> Result<()>;
        notices: broadcast_settled(broadcast_id: i64) -> Result<()>;
        admin: staff_add(msg: &Incoming, user: Option<i64>, name: Option<&str>) -> Result<()>;
        admin: groups(msg: &Incoming) -> Result<()>;
        admin: load_remembered_state() -> Result<()>;
        admin: bind_configured_buildings() -> Result<()>;
        admin: on_removed_from_chat(chat_id: i64) -> Result<Option<String>>;
        admin: on_chat_migrated(old: i64, new: i64) -> Result<()>;
        admin: on_added_to_chat(chat_id: i64, title: &str, at: DateTime<Utc>) -> Result<()>;
        admin: warn_privacy_mode(bot_username: &str) -> Result<()>;
        admin: dead_letter(f: &FailedUpdate) -> Result<bool>;
    }
}
