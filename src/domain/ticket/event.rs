//! What a ticket's audit log records. A transition of the state machine in
//! [`super`] returns an [`EventKind`] (with its details); [`EventType`] is the
//! same kind as it is read back from the log. They live apart from the
//! transitions so the stored spelling is written down in one place that
//! storage and rendering read without touching the state machine.

use std::str::FromStr;

use super::{Actor, TicketError};

/// What happened to a ticket, as kept in its audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    Opened,
    Claimed,
    Transferred {
        from: Actor,
        to: Actor,
    },
    Done {
        summary: Option<String>,
    },
    Reopened {
        reason: String,
    },
    Rated {
        stars: u8,
    },
    Note {
        text: String,
    },
    LocationSet {
        location: String,
    },
    OwnerDetails,
    /// The owner reported it again (or past their flood limit): kept, not re-posted.
    Repeated {
        text: String,
    },
    /// Staff corrected what the desk understood (as shown: "报修·漏水 → 投诉·装修").
    Reclassified {
        from: String,
        to: String,
    },
    /// Finished work nobody rated: the owner was asked once more (回访).
    FollowUpAsked,
    /// Still unrated: listed for a staff member's call.
    FollowUpDue,
    /// A staff member followed it up (`/followup N <outcome>`).
    FollowedUp {
        outcome: String,
    },
    /// The owner is at the end of their patience (情绪): why it was seen.
    Upset {
        reason: String,
    },
    /// A wrongly merged reporter was split out into ticket `into` (`/split`).
    Split {
        who: String,
        into: Option<super::TicketId>,
    },
}

impl EventKind {
    /// How the event is filed in the log, without its details.
    pub fn kind(&self) -> EventType {
        match self {
            EventKind::Opened => EventType::Opened,
            EventKind::Claimed => EventType::Claimed,
            EventKind::Transferred { .. } => EventType::Transferred,
            EventKind::Done { .. } => EventType::Done,
            EventKind::Reopened { .. } => EventType::Reopened,
            EventKind::Rated { .. } => EventType::Rated,
            EventKind::Note { .. } => EventType::Note,
            EventKind::LocationSet { .. } => EventType::LocationSet,
            EventKind::OwnerDetails => EventType::OwnerDetails,
            EventKind::Repeated { .. } => EventType::Repeated,
            EventKind::Reclassified { .. } => EventType::Reclassified,
            EventKind::FollowUpAsked => EventType::FollowUpAsked,
            EventKind::FollowUpDue => EventType::FollowUpDue,
            EventKind::FollowedUp { .. } => EventType::FollowedUp,
            EventKind::Upset { .. } => EventType::Upset,
            EventKind::Split { .. } => EventType::Split,
        }
    }

    /// The human part of the log line.
    pub fn detail(&self) -> Option<String> {
        match self {
            EventKind::Transferred { from, to } => Some(format!("{} → {}", from.name, to.name)),
            EventKind::Done { summary } => summary.clone(),
            EventKind::Reopened { reason } => Some(reason.clone()),
            EventKind::Rated { stars } => Some(format!("{stars} 星")),
            EventKind::Note { text } => Some(text.clone()),
            EventKind::LocationSet { location } => Some(location.clone()),
            EventKind::Repeated { text } => Some(text.clone()),
            EventKind::Reclassified { from, to } => Some(format!("{from} → {to}")),
            EventKind::FollowedUp { outcome } => Some(outcome.clone()),
            EventKind::Upset { reason } => Some(reason.clone()),
            EventKind::Split { who, into } => Some(match into {
                Some(n) => format!("{who} → {n}"),
                None => who.clone(),
            }),
            _ => None,
        }
    }
}

/// The kind of an audit-log entry as it is read back: an [`EventKind`] without
/// its details (those come back as the entry's text). `as_str` is the stored
/// spelling, the one place it is written down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Opened,
    Claimed,
    Transferred,
    Done,
    Reopened,
    Rated,
    Note,
    LocationSet,
    OwnerDetails,
    Repeated,
    Reclassified,
    FollowUpAsked,
    FollowUpDue,
    FollowedUp,
    Upset,
    Split,
}

impl EventType {
    pub const ALL: [EventType; 16] = [
        EventType::Opened,
        EventType::Claimed,
        EventType::Transferred,
        EventType::Done,
        EventType::Reopened,
        EventType::Rated,
        EventType::Note,
        EventType::LocationSet,
        EventType::OwnerDetails,
        EventType::Repeated,
        EventType::Reclassified,
        EventType::FollowUpAsked,
        EventType::FollowUpDue,
        EventType::FollowedUp,
        EventType::Upset,
        EventType::Split,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Opened => "opened",
            EventType::Claimed => "claimed",
            EventType::Transferred => "transferred",
            EventType::Done => "done",
            EventType::Reopened => "reopened",
            EventType::Rated => "rated",
            EventType::Note => "note",
            EventType::LocationSet => "location",
            EventType::OwnerDetails => "owner_details",
            EventType::Repeated => "repeated",
            EventType::Reclassified => "reclassified",
            EventType::FollowUpAsked => "followup_asked",
            EventType::FollowUpDue => "followup_due",
            EventType::FollowedUp => "followed_up",
            EventType::Upset => "upset",
            EventType::Split => "split",
        }
    }
}

impl FromStr for EventType {
    type Err = TicketError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| TicketError::Corrupt(format!("unknown event kind '{s}'")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_kind_reads_back_as_it_was_stored() {
        for kind in EventType::ALL {
            assert_eq!(kind.as_str().parse::<EventType>().unwrap(), kind);
        }
        assert_eq!(
            EventKind::LocationSet {
                location: "3栋501".into()
            }
            .kind()
            .as_str(),
            "location"
        );
        assert!("escalated".parse::<EventType>().is_err());
    }
}
