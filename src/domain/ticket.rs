//! A ticket and the only ways it may move.
//!
//! ```text
//!            claim             done              rate ≥ 3
//!   Open ───────────▶ Claimed ───────▶ Done ───────────────▶ Closed
//!     ▲                 │  ▲             │ rate ≤ 2 / reopen     │ reopen
//!     │                 │  └─────────────┴───────────────────────┘
//!     │                 │        (back to the same assignee: 首问负责制)
//!     └── (no assignee) ┘ transfer keeps it Claimed, by someone else
//! ```
//!
//! The first person to claim a ticket stays responsible until they hand it over with
//! a transfer; nobody else can finish it except an admin. Each transition returns
//! the [`EventKind`] to record, so the audit log is exactly the list of transitions.
//!
//! The values a ticket is made of (its number, status, priority, the people on it,
//! a rating) are in `values`, and what the audit log records in `event`; this file
//! is the ticket itself and its transitions.

mod event;
mod values;

pub use event::{EventKind, EventType};
pub use values::{Actor, Priority, Rating, Status, TicketId, person_name};

use chrono::{DateTime, Utc};

use super::intent::Intent;
use super::location::Location;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: TicketId,
    pub source_chat: i64,
    pub source_message: i64,
    pub reporter: Actor,
    pub text: String,
    pub intent: Intent,
    pub category: Option<String>,
    pub location: Option<Location>,
    pub priority: Priority,
    pub status: Status,
    pub assignee: Option<Actor>,
    pub rating: Option<Rating>,
    /// A supervisor must call the owner back (an unhappy rating).
    pub follow_up: bool,
    pub respond_by: DateTime<Utc>,
    pub resolve_by: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How many times the work was finished: each finish starts a round the
    /// owner rates once, and rating buttons carry the round they were sent for.
    pub round: i64,
    /// Bumped on every stored change; see `storage`.
    pub version: i64,
    /// The owner is at the end of their patience (情绪): a senior person answers.
    pub upset: bool,
    /// The estate (小区) it was reported in: its staff group serves it (`""`:
    /// the implicit estate of a desk without `[[estate]]`).
    pub estate: String,
}

/// A ticket before it has a number: what the desk understood of a report. The
/// store gives it its number; [`NewTicket::opened`] is then its first state.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub source_chat: i64,
    pub source_message: i64,
    pub reporter: Actor,
    pub text: String,
    pub intent: Intent,
    pub category: Option<String>,
    pub location: Option<Location>,
    /// Where the location came from: `message`, `owner` (confirmed room), `group`.
    pub location_source: Option<&'static str>,
    pub priority: Priority,
    pub respond_by: DateTime<Utc>,
    pub resolve_by: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// The estate of the group it was reported in (see [`Ticket::estate`]).
    pub estate: String,
}

impl NewTicket {
    /// A ticket as reported at `now`, with `standard`'s deadlines from then:
    /// emergencies run round the clock, the rest in office hours (`calendar`).
    #[allow(clippy::too_many_arguments)] // each is a plain fact of the report
    pub fn reported(
        source: (i64, i64),
        reporter: &Actor,
        text: String,
        intent: Intent,
        category: Option<String>,
        (location, location_source): (Option<Location>, Option<&'static str>),
        standard: &super::service::ServiceStandard,
        calendar: &super::calendar::OfficeHours,
        now: DateTime<Utc>,
    ) -> Self {
        let priority = Priority::for_intent(intent);
        let (respond_by, resolve_by) = standard.deadlines(intent, priority, now, calendar);
        NewTicket {
            source_chat: source.0,
            source_message: source.1,
            reporter: reporter.clone(),
            text,
            intent,
            category,
            location,
            location_source,
            priority,
            respond_by,
            resolve_by,
            created_at: now,
            estate: String::new(),
        }
    }

    /// The ticket as stored under `id`: open, nobody on it yet.
    pub fn opened(self, id: TicketId) -> Ticket {
        Ticket {
            id,
            source_chat: self.source_chat,
            source_message: self.source_message,
            reporter: self.reporter,
            text: self.text,
            intent: self.intent,
            category: self.category,
            location: self.location,
            priority: self.priority,
            status: Status::Open,
            assignee: None,
            rating: None,
            follow_up: false,
            respond_by: self.respond_by,
            resolve_by: self.resolve_by,
            created_at: self.created_at,
            updated_at: self.created_at,
            round: 0,
            version: 0,
            upset: false,
            estate: self.estate,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    #[error("'{0}' 不是有效的工单号,请写成 12 或 #12")]
    BadNumber(String),
    #[error("没有工单 {0}")]
    NotFound(TicketId),
    #[error("评分应为 1 到 5 星,收到的是 {0}")]
    BadRating(i64),
    #[error("工单 {id} 已由 {by} 负责")]
    ClaimedBy { id: TicketId, by: String },
    #[error("工单 {0} 已经由您负责")]
    AlreadyYours(TicketId),
    #[error("工单 {id} 目前是「{}」状态,不能{}", .status.label(), verb(*.action))]
    WrongState {
        id: TicketId,
        status: Status,
        /// What was refused, named by the event it would have made.
        action: EventType,
    },
    #[error("工单 {id} 由 {by} 负责(首问负责制),请由负责人操作或转交")]
    NotAssignee { id: TicketId, by: String },
    #[error("只有报修的业主本人可以评价工单 {0}")]
    NotReporter(TicketId),
    #[error("工单 {0} 已经评价过了,谢谢")]
    AlreadyRated(TicketId),
    #[error("这是工单 {0} 上一次处理的评价按钮,请使用最新消息下方的按钮评价")]
    StaleRating(TicketId),
    #[error("工单 {0} 不能转交给当前负责人本人")]
    SameAssignee(TicketId),
    #[error("工单已经是这个分类了")]
    Unchanged,
    /// Others kept changing the ticket while this change was being stored.
    #[error("工单 {0} 正被频繁修改,请稍后再试")]
    Busy(TicketId),
    #[error("stored ticket is corrupt: {0}")]
    Corrupt(String),
}

/// The refused action as the Simplified `Display` (for logs) names it; the
/// desk names it from its catalogue.
fn verb(action: EventType) -> &'static str {
    match action {
        EventType::Claimed => "认领",
        EventType::Transferred => "转交",
        EventType::Done => "完成",
        EventType::Reopened => "重新打开",
        EventType::Rated => "评价",
        EventType::LocationSet => "补充位置",
        EventType::FollowedUp => "回访",
        _ => "这样操作",
    }
}

impl Ticket {
    fn wrong(&self, action: EventType) -> TicketError {
        TicketError::WrongState {
            id: self.id,
            status: self.status,
            action,
        }
    }

    fn assignee_name(&self) -> String {
        self.assignee
            .as_ref()
            .map(|a| a.name.clone())
            .unwrap_or_default()
    }

    /// Take responsibility. Exactly one claimant wins; a second one learns who has it.
    pub fn claim(&mut self, who: &Actor) -> Result<EventKind, TicketError> {
        match (self.status, &self.assignee) {
            (Status::Open, _) => {
                self.status = Status::Claimed;
                self.assignee = Some(who.clone());
                Ok(EventKind::Claimed)
            }
            (Status::Claimed, Some(a)) if a.id == who.id => Err(TicketError::AlreadyYours(self.id)),
            (Status::Claimed, Some(_)) => Err(TicketError::ClaimedBy {
                id: self.id,
                by: self.assignee_name(),
            }),
            _ => Err(self.wrong(EventType::Claimed)),
        }
    }

    /// Hand over responsibility. Only the assignee or an admin may.
    pub fn transfer(
        &mut self,
        who: &Actor,
        to: Actor,
        is_admin: bool,
    ) -> Result<EventKind, TicketError> {
        let from = match (&self.status, &self.assignee) {
            (Status::Claimed, Some(a)) => a.clone(),
            (Status::Open, None) if is_admin => who.clone(),
            _ => return Err(self.wrong(EventType::Transferred)),
        };
        if from.id != who.id && !is_admin {
            return Err(TicketError::NotAssignee {
                id: self.id,
                by: from.name,
            });
        }
        if from.id == to.id && self.status == Status::Claimed {
            return Err(TicketError::SameAssignee(self.id));
        }
        self.status = Status::Claimed;
        self.assignee = Some(to.clone());
        Ok(EventKind::Transferred { from, to })
    }

    /// Mark the work finished; the owner is then asked to rate it.
    pub fn finish(
        &mut self,
        who: &Actor,
        is_admin: bool,
        summary: Option<String>,
    ) -> Result<EventKind, TicketError> {
        match (&self.status, &self.assignee) {
            (Status::Claimed, Some(a)) if a.id == who.id || is_admin => {
                self.status = Status::Done;
                // A new round of work: the owner rates this one afresh.
                self.round += 1;
                self.rating = None;
                Ok(EventKind::Done { summary })
            }
            (Status::Claimed, Some(a)) => Err(TicketError::NotAssignee {
                id: self.id,
                by: a.name.clone(),
            }),
            _ => Err(self.wrong(EventType::Done)),
        }
    }

    /// Send a finished ticket back to work: to its assignee if it had one
    /// (they stay responsible), else to the open queue.
    pub fn reopen(&mut self, reason: impl Into<String>) -> Result<EventKind, TicketError> {
        if !matches!(self.status, Status::Done | Status::Closed) {
            return Err(self.wrong(EventType::Reopened));
        }
        self.status = if self.assignee.is_some() {
            Status::Claimed
        } else {
            Status::Open
        };
        self.rating = None;
        Ok(EventKind::Reopened {
            reason: reason.into(),
        })
    }

    /// The reporter rates finished work. An unhappy rating reopens it for a
    /// supervisor's follow-up; any other closes it.
    /// `round` is the round the pressed button was sent for (`None`: a button
    /// from before rounds, taken as the current one).
    pub fn rate(
        &mut self,
        reporter_id: i64,
        rating: Rating,
        round: Option<i64>,
    ) -> Result<Vec<EventKind>, TicketError> {
        if reporter_id != self.reporter.id {
            return Err(TicketError::NotReporter(self.id));
        }
        if round.is_some_and(|r| r != self.round) {
            return Err(TicketError::StaleRating(self.id));
        }
        if self.rating.is_some() || self.status == Status::Closed {
            return Err(TicketError::AlreadyRated(self.id));
        }
        if self.status != Status::Done {
            return Err(self.wrong(EventType::Rated));
        }
        self.rating = Some(rating);
        if rating.is_unhappy() {
            let reopened = self.reopen(format!("业主评价 {} 星,需主管回访", rating.stars()))?;
            self.rating = Some(rating);
            self.follow_up = true;
            Ok(vec![
                EventKind::Rated {
                    stars: rating.stars(),
                },
                reopened,
            ])
        } else {
            self.status = Status::Closed;
            Ok(vec![EventKind::Rated {
                stars: rating.stars(),
            }])
        }
    }

    /// A staff member followed up finished work (回访) and says how it went:
    /// unrated work is closed by it; reopened work (an unhappy rating) stays
    /// with its assignee, the supervisor's call made.
    pub fn followed_up(&mut self, outcome: String) -> Result<EventKind, TicketError> {
        match self.status {
            Status::Done => self.status = Status::Closed,
            Status::Claimed | Status::Open if self.follow_up => {}
            _ => return Err(self.wrong(EventType::FollowedUp)),
        }
        self.follow_up = false;
        Ok(EventKind::FollowedUp { outcome })
    }

    /// Fill in where, when the owner names it after the report.
    /// Staff say it is something else. A repair, complaint or emergency stays a
    /// ticket of that kind (an emergency is urgent, the rest normal); a question,
    /// a suggestion or chatter is no ticket: an active one is closed. `show`
    /// names an intent and category for the log.
    pub fn reclassify(
        &mut self,
        intent: Intent,
        category: Option<String>,
        show: impl Fn(Intent, Option<&str>) -> String,
    ) -> Result<EventKind, TicketError> {
        if intent == self.intent && category == self.category {
            return Err(TicketError::Unchanged);
        }
        let from = show(self.intent, self.category.as_deref());
        let to = show(intent, category.as_deref());
        if matches!(
            intent,
            Intent::Emergency | Intent::Repair | Intent::Complaint
        ) {
            self.intent = intent;
            self.category = category;
            self.priority = Priority::for_intent(intent);
        } else if self.status.is_active() {
            self.status = Status::Closed;
        }
        Ok(EventKind::Reclassified { from, to })
    }

    pub fn locate(&mut self, location: Location) -> Result<EventKind, TicketError> {
        if !self.status.is_active() {
            return Err(self.wrong(EventType::LocationSet));
        }
        let shown = location.to_string();
        self.location = Some(location);
        Ok(EventKind::LocationSet { location: shown })
    }

    /// Is it late by the service standard at `now`?
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            Status::Open => now > self.respond_by,
            Status::Claimed => now > self.resolve_by,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> Ticket {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        Ticket {
            id: TicketId::new(7).unwrap(),
            source_chat: -100,
            source_message: 5,
            reporter: Actor::new(1, "业主"),
            text: "厨房漏水".into(),
            intent: Intent::Repair,
            category: Some("plumbing".into()),
            location: None,
            priority: Priority::Normal,
            status: Status::Open,
            assignee: None,
            rating: None,
            follow_up: false,
            respond_by: t0 + chrono::Duration::minutes(15),
            resolve_by: t0 + chrono::Duration::hours(24),
            created_at: t0,
            updated_at: t0,
            round: 0,
            version: 0,
            upset: false,
            estate: String::new(),
        }
    }

    fn li() -> Actor {
        Actor::new(10, "李师傅")
    }

    #[test]
    fn a_new_ticket_opens_with_nobody_on_it_and_its_deadlines() {
        let t = ticket();
        let new = NewTicket {
            source_chat: t.source_chat,
            source_message: t.source_message,
            reporter: t.reporter.clone(),
            text: t.text.clone(),
            intent: t.intent,
            category: t.category.clone(),
            location: None,
            location_source: None,
            priority: t.priority,
            respond_by: t.respond_by,
            resolve_by: t.resolve_by,
            created_at: t.created_at,
            estate: t.estate.clone(),
        };
        assert_eq!(new.opened(t.id), t);
    }
    fn wang() -> Actor {
        Actor::new(11, "王师傅")
    }

    #[test]
    fn a_second_claim_is_refused_and_names_the_first_claimant() {
        let mut t = ticket();
        assert_eq!(t.claim(&li()), Ok(EventKind::Claimed));
        let err = t.claim(&wang()).unwrap_err();
        assert_eq!(
            err,
            TicketError::ClaimedBy {
                id: t.id,
                by: "李师傅".into()
            }
        );
        assert!(err.to_string().contains("李师傅"));
        assert_eq!(t.assignee, Some(li()));
    }

    #[test]
    fn claiming_your_own_ticket_again_changes_nothing() {
        let mut t = ticket();
        t.claim(&li()).unwrap();
        assert_eq!(t.claim(&li()), Err(TicketError::AlreadyYours(t.id)));
        assert_eq!(t.status, Status::Claimed);
    }

    #[test]
    fn only_the_assignee_or_an_admin_can_finish_a_ticket() {
        let mut t = ticket();
        assert!(matches!(
            t.finish(&li(), false, None),
            Err(TicketError::WrongState { .. })
        ));
        t.claim(&li()).unwrap();
        assert!(matches!(
            t.finish(&wang(), false, None),
            Err(TicketError::NotAssignee { .. })
        ));
        assert_eq!(t.status, Status::Claimed);
        assert!(t.finish(&wang(), true, Some("换了阀门".into())).is_ok());
        assert_eq!(t.status, Status::Done);
    }

    #[test]
    fn a_transfer_moves_responsibility_and_is_logged_with_both_names() {
        let mut t = ticket();
        t.claim(&li()).unwrap();
        assert!(matches!(
            t.transfer(&wang(), li(), false),
            Err(TicketError::NotAssignee { .. })
        ));
        let ev = t.transfer(&li(), wang(), false).unwrap();
        assert_eq!(ev.detail().unwrap(), "李师傅 → 王师傅");
        assert_eq!(t.assignee, Some(wang()));
        assert!(matches!(
            t.finish(&li(), false, None),
            Err(TicketError::NotAssignee { .. })
        ));
    }

    #[test]
    fn a_happy_rating_closes_and_an_unhappy_one_reopens_for_a_supervisor() {
        let mut t = ticket();
        t.claim(&li()).unwrap();
        t.finish(&li(), false, None).unwrap();
        let mut unhappy = t.clone();
        assert_eq!(
            t.rate(1, Rating::new(5).unwrap(), Some(1)).unwrap().len(),
            1
        );
        assert_eq!(t.status, Status::Closed);
        assert_eq!(
            t.rate(1, Rating::new(4).unwrap(), Some(1)),
            Err(TicketError::AlreadyRated(t.id))
        );

        let events = unhappy.rate(1, Rating::new(2).unwrap(), Some(1)).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(unhappy.status, Status::Claimed);
        assert_eq!(
            unhappy.assignee,
            Some(li()),
            "the first claimant stays responsible"
        );
        assert!(unhappy.follow_up);
    }

    #[test]
    fn each_round_of_work_is_rated_and_an_old_rounds_button_changes_nothing() {
        let mut t = ticket();
        t.claim(&li()).unwrap();
        t.finish(&li(), false, None).unwrap();
        assert_eq!(t.round, 1);
        t.rate(1, Rating::new(1).unwrap(), Some(1)).unwrap();
        assert_eq!(t.status, Status::Claimed, "an unhappy rating reopens it");
        t.finish(&li(), false, Some("换了新阀门".into())).unwrap();
        assert_eq!((t.round, t.rating), (2, None));
        assert_eq!(
            t.rate(1, Rating::new(5).unwrap(), Some(1)),
            Err(TicketError::StaleRating(t.id)),
            "the first round's buttons are spent"
        );
        t.rate(1, Rating::new(5).unwrap(), Some(2)).unwrap();
        assert_eq!(t.status, Status::Closed, "the second round closes it");
        assert_eq!(t.rating.map(|r| r.stars()), Some(5));
    }

    #[test]
    fn only_the_reporter_can_rate_and_only_from_one_to_five() {
        let mut t = ticket();
        t.claim(&li()).unwrap();
        t.finish(&li(), false, None).unwrap();
        assert_eq!(
            t.rate(99, Rating::new(5).unwrap(), Some(1)),
            Err(TicketError::NotReporter(t.id))
        );
        assert_eq!(Rating::new(0), Err(TicketError::BadRating(0)));
        assert_eq!(Rating::new(6), Err(TicketError::BadRating(6)));
        assert_eq!(t.status, Status::Done);
    }

    #[test]
    fn overdue_follows_the_service_clock_of_the_current_state() {
        let mut t = ticket();
        assert!(!t.is_overdue(t.created_at + chrono::Duration::minutes(10)));
        assert!(t.is_overdue(t.created_at + chrono::Duration::minutes(16)));
        t.claim(&li()).unwrap();
        assert!(!t.is_overdue(t.created_at + chrono::Duration::hours(23)));
        assert!(t.is_overdue(t.created_at + chrono::Duration::hours(25)));
    }

    #[test]
    fn reclassifying_keeps_a_ticket_a_ticket_or_closes_what_is_no_ticket() {
        let show = |i: Intent, c: Option<&str>| format!("{}/{}", i.as_str(), c.unwrap_or("-"));
        let mut t = ticket();
        let e = t
            .reclassify(Intent::Emergency, Some("gas".into()), show)
            .unwrap();
        assert_eq!(
            (t.intent, t.priority, t.status),
            (Intent::Emergency, Priority::Urgent, Status::Open)
        );
        assert!(matches!(e, EventKind::Reclassified { ref to, .. } if to == "emergency/gas"));
        assert_eq!(
            t.reclassify(Intent::Emergency, Some("gas".into()), show),
            Err(TicketError::Unchanged)
        );
        t.reclassify(Intent::Inquiry, None, show).unwrap();
        assert_eq!((t.status, t.intent), (Status::Closed, Intent::Emergency));
    }
}
