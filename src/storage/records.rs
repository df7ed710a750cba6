//! Plain records the store hands out, beside the domain types it also stores.

use chrono::{DateTime, Utc};

use crate::domain::notice::{Targets, Utility};
use crate::domain::ticket::{Actor, Priority, Status, Ticket, TicketId};
use crate::domain::{Intent, Location};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildingGroup {
    pub chat_id: i64,
    pub name: String,
    /// `config` or `command`.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub user_id: i64,
    pub name: String,
    pub location: Option<Location>,
    /// Staff confirmed the room: only then is it used. (Requests waiting for
    /// staff live in `room_requests`, one row each.)
    pub confirmed: bool,
    pub context_ticket: Option<TicketId>,
    pub context_until: Option<DateTime<Utc>>,
}

impl Owner {
    pub fn confirmed_location(&self) -> Option<&Location> {
        self.location.as_ref().filter(|_| self.confirmed)
    }
}

/// One `/room` registration, as staff decide it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRequest {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub location: Option<Location>,
    /// 'pending' | 'confirmed' | 'rejected' | 'superseded'
    pub status: String,
}

/// What pressing ✅ or ❌ under a room request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomDecision {
    /// This request was pending and is now decided.
    Decided(RoomRequest),
    /// The owner asked again since; this request changes nothing.
    Superseded(RoomRequest),
    /// Someone already decided it (a second press).
    AlreadyDecided(RoomRequest),
    NotFound,
}

/// A ticket before it has a number.
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
}

impl NewTicket {
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
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketFilter {
    Active,
    AssignedTo(i64),
    ReportedBy(i64),
    Overdue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub kind: String,
    pub detail: Option<String>,
}

pub struct NewBroadcast<'a> {
    pub kind: &'a str,
    pub sender_id: Option<i64>,
    pub text: &'a str,
    pub targets: &'a Targets,
    pub dedupe_key: &'a str,
    pub outage_id: Option<i64>,
    pub report_chat: Option<i64>,
    pub pin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broadcast {
    pub id: i64,
    pub kind: String,
    pub sender_id: Option<i64>,
    pub text: String,
    pub targets: Targets,
    pub outage_id: Option<i64>,
    pub report_chat: Option<i64>,
    pub pin: bool,
    pub created_at: DateTime<Utc>,
    pub recalled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    pub id: i64,
    pub utility: Utility,
    pub targets: Targets,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
    pub cancelled: bool,
}

/// The notices an outage gets after its announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutageStep {
    /// "starts soon"
    Reminded,
    /// "已恢复"
    Ended,
}
