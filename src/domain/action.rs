//! What a pressed button asks for: the one place button data is written and read.
//!
//! A button carries a short string back to the bot (Telegram allows 64 bytes).
//! Every button the desk makes is an [`Action`] written with `to_string()`, and
//! every press is read back with `parse()`, so the ids a button acts on travel
//! with it and cannot be confused with another request's (a room button names
//! its request, not just the owner). The wire strings are kept exactly as older
//! versions wrote them, so buttons already in chats keep working:
//!
//! ```text
//! claim:12            认领 ticket 12
//! done:12             完成 ticket 12
//! rate:12:2:5         5 stars for round 2 of ticket 12 (rate:12:5: from before rounds)
//! rr:ok:7  rr:no:7    confirm or reject room request 7
//! us:repair:3         sort unsorted message 3 (repair, complaint, emergency, answered, ignore)
//! ```
//!
//! Data that reads as none of these, or comes from a button older versions made
//! and this one can no longer honour, is a [`StaleButton`]: the presser is told
//! and nothing changes.

use std::fmt;
use std::str::FromStr;

use super::intent::Intent;
use super::ticket::TicketId;

/// A pressed button, with the ids it acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Staff take ticket `0` (`claim:N`).
    Claim(TicketId),
    /// Staff finish ticket `0` (`done:N`).
    Done(TicketId),
    /// The reporter rates a round of work (`rate:T:R:S`). `round` is `None` on
    /// buttons sent before tickets had rounds (`rate:T:S`). The stars are checked
    /// by the ticket, which says what is wrong with them.
    Rate {
        ticket: TicketId,
        round: Option<i64>,
        stars: i64,
    },
    /// Staff confirm (`rr:ok:N`) or reject (`rr:no:N`) room request `request`.
    Room { request: i64, confirm: bool },
    /// Staff sort unsorted message `unsorted` (`us:<choice>:N`).
    Sort { unsorted: i64, choice: SortChoice },
    /// An owner has the same shared problem as ticket `0` (`metoo:N`): they join
    /// it and hear when it is done.
    MeToo(TicketId),
}

/// What staff decided an unsorted message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortChoice {
    Repair,
    Complaint,
    Emergency,
    /// Staff answered it themselves: no ticket (a question, for the examples).
    Answered,
    /// Nothing to do: no ticket.
    Ignore,
}

impl SortChoice {
    pub const ALL: [SortChoice; 5] = [
        SortChoice::Repair,
        SortChoice::Complaint,
        SortChoice::Emergency,
        SortChoice::Answered,
        SortChoice::Ignore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortChoice::Repair => "repair",
            SortChoice::Complaint => "complaint",
            SortChoice::Emergency => "emergency",
            SortChoice::Answered => "answered",
            SortChoice::Ignore => "ignore",
        }
    }

    /// The ticket this choice opens, if any.
    pub fn ticket_intent(self) -> Option<Intent> {
        match self {
            SortChoice::Repair => Some(Intent::Repair),
            SortChoice::Complaint => Some(Intent::Complaint),
            SortChoice::Emergency => Some(Intent::Emergency),
            SortChoice::Answered | SortChoice::Ignore => None,
        }
    }

    /// What the choice teaches the classifier about the message's words.
    pub fn learned_intent(self) -> Intent {
        match self {
            SortChoice::Answered => Intent::Inquiry,
            SortChoice::Ignore => Intent::Other,
            other => other.ticket_intent().unwrap_or(Intent::Other),
        }
    }
}

impl FromStr for SortChoice {
    type Err = StaleButton;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or(StaleButton::Unreadable)
    }
}

/// Who may press a button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The owner it was sent to (the desk checks which owner).
    Owners,
    /// Staff only.
    Staff,
}

impl Action {
    pub fn audience(&self) -> Audience {
        match self {
            Action::Rate { .. } | Action::MeToo(_) => Audience::Owners,
            _ => Audience::Staff,
        }
    }
}

/// Button data the desk cannot act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StaleButton {
    /// Not data any version of the desk wrote, or no longer readable.
    #[error("unreadable button data")]
    Unreadable,
    /// A star button whose data cannot be read. Owners press these.
    #[error("unreadable rating button data")]
    UnreadableRating,
    /// A room button from before requests had numbers (`room:<user>`): it cannot
    /// say which request it was shown with, so it confirms nothing.
    #[error("room button from before requests had numbers")]
    OldRoom,
}

impl StaleButton {
    /// Who such a press came from, as far as the data tells.
    pub fn audience(&self) -> Audience {
        match self {
            StaleButton::UnreadableRating => Audience::Owners,
            _ => Audience::Staff,
        }
    }
}

/// Who is expected to press a button with this data (the console presses
/// owners' buttons as the owner), readable or not.
pub fn audience_of(data: &str) -> Audience {
    match data.parse::<Action>() {
        Ok(a) => a.audience(),
        Err(stale) => stale.audience(),
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Claim(t) => write!(f, "claim:{}", t.get()),
            Action::Done(t) => write!(f, "done:{}", t.get()),
            Action::Rate {
                ticket,
                round: Some(round),
                stars,
            } => write!(f, "rate:{}:{round}:{stars}", ticket.get()),
            Action::Rate {
                ticket,
                round: None,
                stars,
            } => write!(f, "rate:{}:{stars}", ticket.get()),
            Action::Room { request, confirm } => {
                let verdict = if *confirm { "ok" } else { "no" };
                write!(f, "rr:{verdict}:{request}")
            }
            Action::Sort { unsorted, choice } => write!(f, "us:{}:{unsorted}", choice.as_str()),
            Action::MeToo(t) => write!(f, "metoo:{}", t.get()),
        }
    }
}

impl FromStr for Action {
    type Err = StaleButton;

    fn from_str(data: &str) -> Result<Self, Self::Err> {
        let (kind, rest) = data.split_once(':').unwrap_or((data, ""));
        let parts: Vec<&str> = rest.split(':').collect();
        let ticket = |s: &str| s.parse::<TicketId>().ok();
        let number = |s: &str| s.parse::<i64>().ok();
        match kind {
            "rate" => {
                let rate =
                    match parts.as_slice() {
                        [t, r, s] => ticket(t).zip(number(r).zip(number(s))).map(|(t, (r, s))| {
                            Action::Rate {
                                ticket: t,
                                round: Some(r),
                                stars: s,
                            }
                        }),
                        [t, s] => ticket(t).zip(number(s)).map(|(t, s)| Action::Rate {
                            ticket: t,
                            round: None,
                            stars: s,
                        }),
                        _ => None,
                    };
                rate.ok_or(StaleButton::UnreadableRating)
            }
            "claim" => ticket(rest)
                .map(Action::Claim)
                .ok_or(StaleButton::Unreadable),
            "done" => ticket(rest)
                .map(Action::Done)
                .ok_or(StaleButton::Unreadable),
            "rr" => match parts.as_slice() {
                [verdict @ ("ok" | "no"), request] => Ok(Action::Room {
                    request: number(request).ok_or(StaleButton::Unreadable)?,
                    confirm: *verdict == "ok",
                }),
                _ => Err(StaleButton::Unreadable),
            },
            "us" => match parts.as_slice() {
                [choice, unsorted] => Ok(Action::Sort {
                    choice: choice.parse()?,
                    unsorted: number(unsorted).ok_or(StaleButton::Unreadable)?,
                }),
                _ => Err(StaleButton::Unreadable),
            },
            "metoo" => ticket(rest)
                .map(Action::MeToo)
                .ok_or(StaleButton::Unreadable),
            "room" => Err(StaleButton::OldRoom),
            _ => Err(StaleButton::Unreadable),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: i64) -> TicketId {
        TicketId::new(n).unwrap()
    }

    #[test]
    fn every_action_reads_back_as_itself_from_the_wire_string_older_versions_wrote() {
        let cases = [
            (Action::Claim(id(1)), "claim:1"),
            (Action::Done(id(12)), "done:12"),
            (Action::MeToo(id(7)), "metoo:7"),
            (
                Action::Rate {
                    ticket: id(3),
                    round: Some(2),
                    stars: 5,
                },
                "rate:3:2:5",
            ),
            (
                Action::Rate {
                    ticket: id(3),
                    round: None,
                    stars: 4,
                },
                "rate:3:4",
            ),
            (
                Action::Room {
                    request: 7,
                    confirm: true,
                },
                "rr:ok:7",
            ),
            (
                Action::Room {
                    request: 7,
                    confirm: false,
                },
                "rr:no:7",
            ),
            (
                Action::Sort {
                    unsorted: 3,
                    choice: SortChoice::Repair,
                },
                "us:repair:3",
            ),
            (
                Action::Sort {
                    unsorted: 3,
                    choice: SortChoice::Complaint,
                },
                "us:complaint:3",
            ),
            (
                Action::Sort {
                    unsorted: 3,
                    choice: SortChoice::Emergency,
                },
                "us:emergency:3",
            ),
            (
                Action::Sort {
                    unsorted: 3,
                    choice: SortChoice::Answered,
                },
                "us:answered:3",
            ),
            (
                Action::Sort {
                    unsorted: 3,
                    choice: SortChoice::Ignore,
                },
                "us:ignore:3",
            ),
        ];
        for (action, wire) in cases {
            assert_eq!(action.to_string(), wire);
            assert_eq!(wire.parse::<Action>(), Ok(action), "{wire}");
            // Telegram carries at most 64 bytes of button data.
            assert!(wire.len() <= 64);
        }
    }

    #[test]
    fn a_ticket_number_written_with_a_hash_still_reads() {
        assert_eq!("claim:#5".parse::<Action>(), Ok(Action::Claim(id(5))));
    }

    #[test]
    fn unknown_or_old_data_is_a_stale_button() {
        let cases = [
            ("", StaleButton::Unreadable),
            ("claim", StaleButton::Unreadable),
            ("claim:", StaleButton::Unreadable),
            ("claim:x", StaleButton::Unreadable),
            ("claim:0", StaleButton::Unreadable),
            ("done:-1", StaleButton::Unreadable),
            ("take:1", StaleButton::Unreadable),
            ("rr:ok:", StaleButton::Unreadable),
            ("rr:maybe:7", StaleButton::Unreadable),
            ("rr:ok:7:8", StaleButton::Unreadable),
            ("us:repair", StaleButton::Unreadable),
            ("us:plumbing:3", StaleButton::Unreadable),
            ("us:repair:x", StaleButton::Unreadable),
            ("room:20001", StaleButton::OldRoom),
            ("room", StaleButton::OldRoom),
            ("rate:", StaleButton::UnreadableRating),
            ("rate:1", StaleButton::UnreadableRating),
            ("rate:x:5", StaleButton::UnreadableRating),
            ("rate:1:1:1:1", StaleButton::UnreadableRating),
        ];
        for (wire, stale) in cases {
            assert_eq!(wire.parse::<Action>(), Err(stale), "{wire}");
        }
    }

    #[test]
    fn only_star_buttons_are_for_owners_even_when_unreadable() {
        assert_eq!(audience_of("rate:1:1:5"), Audience::Owners);
        assert_eq!(audience_of("rate:garbage"), Audience::Owners);
        assert_eq!(audience_of("claim:1"), Audience::Staff);
        assert_eq!(audience_of("nonsense"), Audience::Staff);
    }

    #[test]
    fn stars_out_of_range_are_left_for_the_ticket_to_refuse() {
        // The ticket says "评分应为 1 到 5 星", which is more helpful than "stale".
        assert_eq!(
            "rate:1:1:9".parse::<Action>(),
            Ok(Action::Rate {
                ticket: id(1),
                round: Some(1),
                stars: 9
            })
        );
    }
}
