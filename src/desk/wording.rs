//! What the desk says about its own answers: a refused ticket change, a stale
//! button, a history line's event, all from the catalogue.

use super::{CallbackAnswer, Context};
use crate::domain::action::StaleButton;
use crate::domain::command::ArgError;
use crate::domain::notice::NoticeError;
use crate::domain::templates::Templates;
use crate::domain::ticket::TicketError;

impl Context {
    /// Why a ticket change was refused, in the desk's language. The domain's own
    /// wording (its `Display`) is the Simplified one, for logs.
    pub(crate) fn ticket_error(&self, e: &TicketError) -> String {
        let t = self.t();
        let one = |key: &str, id: &dyn ToString| t.label_with(key, &[("ticket", &id.to_string())]);
        match e {
            TicketError::BadNumber(s) => t.label_with("error_bad_number", &[("text", s)]),
            TicketError::NotFound(id) => one("error_not_found", id),
            TicketError::BadRating(n) => {
                t.label_with("error_bad_rating", &[("stars", &n.to_string())])
            }
            TicketError::ClaimedBy { id, by } => t.label_with(
                "error_claimed_by",
                &[("ticket", &id.to_string()), ("name", by)],
            ),
            TicketError::AlreadyYours(id) => one("error_already_yours", id),
            TicketError::WrongState { id, status, action } => t.label_with(
                "error_wrong_state",
                &[
                    ("ticket", &id.to_string()),
                    ("status", &self.status_label(*status)),
                    ("action", &t.event(*action)),
                ],
            ),
            TicketError::NotAssignee { id, by } => t.label_with(
                "error_not_assignee",
                &[("ticket", &id.to_string()), ("name", by)],
            ),
            TicketError::NotReporter(id) => one("error_not_reporter", id),
            TicketError::AlreadyRated(id) => one("error_already_rated", id),
            TicketError::StaleRating(id) => one("error_stale_rating", id),
            TicketError::SameAssignee(id) => one("error_same_assignee", id),
            TicketError::Unchanged => t.label("error_unchanged"),
            TicketError::Busy(id) => one("error_busy", id),
            TicketError::Corrupt(_) => e.to_string(),
        }
    }

    /// Why a notice or an outage plan could not be read, and what to write.
    pub(crate) fn notice_error(&self, e: &NoticeError) -> String {
        let t = self.t();
        match e {
            NoticeError::NoTargets => t.label("notice_no_targets"),
            NoticeError::BadUtility(s) => t.label_with("notice_bad_utility", &[("text", s)]),
            NoticeError::BadTime(s) => t.label_with("notice_bad_time", &[("text", s)]),
            NoticeError::EndBeforeStart { start, end } => {
                t.label_with("notice_end_before_start", &[("start", start), ("end", end)])
            }
            NoticeError::Usage(_) => t.label("notice_outage_usage"),
            NoticeError::EmptyText => t.label("notice_empty_text"),
        }
    }

    /// What to write instead of a staff command's unusable arguments.
    pub(crate) fn arg_error(&self, e: &ArgError) -> String {
        let key = match e {
            ArgError::BadTicket(e) => return self.ticket_error(e),
            ArgError::NoTicket => "usage_no_ticket",
            ArgError::TicketList => "usage_tickets",
            ArgError::StatsDays => "usage_stats",
            ArgError::OutageNumber => "usage_outage_cancel",
            ArgError::BroadcastNumber => "usage_recall",
        };
        self.t().label(key)
    }
}

/// What the presser of a button the desk cannot act on is told.
pub fn stale_answer(t: &Templates, stale: StaleButton) -> CallbackAnswer {
    match stale {
        // Buttons from before requests had numbers named only the owner:
        // they cannot say which room they were shown with.
        StaleButton::OldRoom => CallbackAnswer::alert(t.label("button_old_room")),
        StaleButton::Unreadable | StaleButton::UnreadableRating => {
            CallbackAnswer::alert(t.label("button_stale"))
        }
    }
}
