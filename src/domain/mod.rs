//! The desk's domain: what a message means, what a ticket is and how it may move,
//! what a notice targets. Nothing here knows about Telegram or SQL, so the rules can
//! be tested on their own and another chat platform or database is a new edge.

pub mod action;
pub mod builtin;
pub mod calendar;
pub mod clock;
pub mod command;
pub mod escalation;
pub mod fees;
pub mod followup;
pub mod intent;
pub mod location;
pub mod media;
pub mod notice;
pub mod outgoing;
pub mod service;
pub mod stats;
pub mod survey;
pub mod templates;
pub mod text;
pub mod ticket;

pub use clock::{Clock, SystemClock};
pub use intent::{Classification, Classifier, Intent, Utility};
pub use location::Location;
pub use media::{Media, MediaKind};
pub use ticket::{Actor, Priority, Status, Ticket, TicketError, TicketId};
