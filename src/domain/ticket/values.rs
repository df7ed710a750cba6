//! The small values a ticket is made of: its number, status and priority, the
//! people acting on it and a rating. Each holds only valid values and parses
//! from the spelling it is stored or typed in, so the state machine in
//! [`super`] never re-checks them. They stand apart from it because storage,
//! the desk and the chat edges use them without going through a transition.

use std::fmt;
use std::str::FromStr;

use super::TicketError;
use crate::domain::intent::Intent;

/// A ticket number as owners and staff see it: `#12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketId(i64);

impl TicketId {
    pub fn new(n: i64) -> Option<Self> {
        (n > 0).then_some(Self(n))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl FromStr for TicketId {
    type Err = TicketError;

    /// Accepts `12`, `#12` and the full-width `＃12`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.trim().trim_start_matches(['#', '＃']);
        digits
            .parse::<i64>()
            .ok()
            .and_then(TicketId::new)
            .ok_or_else(|| TicketError::BadNumber(s.trim().to_string()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Recorded, waiting for someone to take it (已受理).
    Open,
    /// Someone is responsible and working on it (处理中).
    Claimed,
    /// Work finished, waiting for the owner's rating (已完成).
    Done,
    /// Rated or otherwise closed (已关闭).
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Claimed => "claimed",
            Status::Done => "done",
            Status::Closed => "closed",
        }
    }

    /// The word owners see in the group.
    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "已受理",
            Status::Claimed => "处理中",
            Status::Done => "已完成",
            Status::Closed => "已关闭",
        }
    }

    pub fn is_active(self) -> bool {
        matches!(self, Status::Open | Status::Claimed)
    }
}

impl FromStr for Status {
    type Err = TicketError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(Status::Open),
            "claimed" => Ok(Status::Claimed),
            "done" => Ok(Status::Done),
            "closed" => Ok(Status::Closed),
            other => Err(TicketError::Corrupt(format!("unknown status '{other}'"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Urgent,
    Normal,
}

impl Priority {
    pub fn for_intent(intent: Intent) -> Self {
        if intent == Intent::Emergency {
            Priority::Urgent
        } else {
            Priority::Normal
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Urgent => "urgent",
            Priority::Normal => "normal",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Priority::Urgent => "紧急",
            Priority::Normal => "普通",
        }
    }
}

impl FromStr for Priority {
    type Err = TicketError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "urgent" => Ok(Priority::Urgent),
            "normal" => Ok(Priority::Normal),
            other => Err(TicketError::Corrupt(format!("unknown priority '{other}'"))),
        }
    }
}

/// Someone acting on a ticket: an owner or a staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: i64,
    pub name: String,
}

impl Actor {
    pub fn new(id: i64, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
        }
    }
}

/// A person's name as Telegram splits it, written as people write it: `王先生`
/// for a Chinese first and last name, `Li Wei` for Latin ones.
pub fn person_name(first: &str, last: Option<&str>) -> String {
    let first = first.trim();
    match last.map(str::trim).filter(|l| !l.is_empty()) {
        None => first.to_string(),
        Some(last) => {
            let cjk = |c: char| ('\u{3400}'..='\u{9fff}').contains(&c);
            if first.chars().last().is_some_and(cjk) && last.chars().next().is_some_and(cjk) {
                format!("{first}{last}")
            } else {
                format!("{first} {last}")
            }
        }
    }
}

/// A star rating, 1 to 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rating(u8);

impl Rating {
    pub fn new(stars: i64) -> Result<Self, TicketError> {
        u8::try_from(stars)
            .ok()
            .filter(|s| (1..=5).contains(s))
            .map(Rating)
            .ok_or(TicketError::BadRating(stars))
    }

    pub fn stars(self) -> u8 {
        self.0
    }

    /// A rating this low goes to a supervisor for a call back.
    pub fn is_unhappy(self) -> bool {
        self.0 <= 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_written_as_people_write_them() {
        assert_eq!(person_name("王", Some("先生")), "王先生");
        assert_eq!(person_name("Li", Some("Wei")), "Li Wei");
        assert_eq!(person_name("客服小李", None), "客服小李");
        assert_eq!(person_name("张", Some(" ")), "张");
    }

    #[test]
    fn ticket_numbers_parse_with_or_without_a_hash() {
        assert_eq!("12".parse::<TicketId>().unwrap().get(), 12);
        assert_eq!("#12".parse::<TicketId>().unwrap().get(), 12);
        assert_eq!("＃3".parse::<TicketId>().unwrap().get(), 3);
        assert!("0".parse::<TicketId>().is_err());
        assert!("abc".parse::<TicketId>().is_err());
        assert!("-4".parse::<TicketId>().is_err());
    }
}
