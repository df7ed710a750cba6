//! The desk's use cases, one service each over the shared [`Context`]: owner
//! intake and triage, the ticket workflow, notices and fees, staff admin. Each
//! keeps only its slice of the settings. Intake holds the workflow (a room or
//! details an owner adds change the ticket through the same checked change as
//! staff's commands); nothing holds intake, so ownership has no cycle.
//!
//! Each service derefs to the context: the shared helpers (`now()`, `t()`,
//! `commit()`, the rendering) read the same in every service's code.

use std::ops::Deref;
use std::sync::Arc;

use super::Context;
use crate::configuration::{BuildingConfig, Fees, Flood, Notices as NoticeSettings};

macro_rules! over_context {
    ($($service:ident),*) => {$(
        impl Deref for $service {
            type Target = Context;

            fn deref(&self) -> &Context {
                &self.ctx
            }
        }
    )*};
}

over_context!(Intake, Workflow, Notices, Admin);

/// The ticket workflow: staff's ticket commands and buttons, the service clocks
/// (escalation, follow-up calls), `/split`, ratings, `/stats`.
#[derive(Clone)]
pub struct Workflow {
    pub(super) ctx: Arc<Context>,
}

/// Owner intake and triage: a message read, answered, and made a ticket, a
/// question's answer or nothing; photos, voice, places, shared reports, 情绪,
/// room requests.
#[derive(Clone)]
pub struct Intake {
    pub(super) ctx: Arc<Context>,
    pub(super) workflow: Workflow,
    /// `[flood]`: how many tickets one owner may open.
    pub(super) flood: Flood,
}

/// Notices, outages, fee reminders and surveys, and the clock's part in them.
#[derive(Clone)]
pub struct Notices {
    pub(super) ctx: Arc<Context>,
    pub(super) notices: NoticeSettings,
    pub(super) fees: Fees,
}

/// Staff admin: the staff group, staff lists, group bindings, what the
/// deployment itself must tell staff.
#[derive(Clone)]
pub struct Admin {
    pub(super) ctx: Arc<Context>,
    /// `[[building]]`: groups bound by the config.
    pub(super) buildings: Vec<BuildingConfig>,
}
