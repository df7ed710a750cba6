//! Where in the estate a message is about: building (栋/幢/号楼/座), unit
//! (单元) and room.
//!
//! Owners write addresses in a handful of shapes (`3栋2单元501`,
//! `3号楼2单元501室`, `3-2-501`, `12#1102`, `B座1203`, `十二栋二单元九零二`;
//! Hong Kong and Taiwan estates: `第3座15樓C室`, `9樓D室` (floor and flat make
//! the room `15C`), `Block 7`, `Flat 12A`, `Building 2`; mainland shorthands
//! `8#` and `东单元`/`西单元`),
//! but messages are also full of numbers that are *not* addresses: floors
//! (`8栋12楼` names building 8 only), times (`9:00`), dates (`5号`, `11月25日`),
//! counts (`3次`), money and phone numbers. A regex over the whole message
//! either misses the Chinese numerals or over-matches those, so this is a small
//! hand-written scanner that only accepts a number when the marker after it
//! (栋, 单元, 室, `-`, `#`...) says what it is. It works on
//! [`normalize`](crate::domain::text::normalize)d text, so digits are ASCII
//! and letters lower-case; letters are upper-cased on output.
//!
//! The pieces: `scan` finds an address in a message (one parser per form),
//! `numerals` reads the numbers those forms are made of, and `canonical` gives
//! the one spelling of a building, unit or room that everything compares. This
//! file is the [`Location`] value and the strict parse of a whole `/room`
//! argument.

mod canonical;
mod numerals;
mod scan;

pub use canonical::{canonical_building, canonical_room, canonical_unit};
pub use scan::extract;

use numerals::parse_room;
use scan::{parse_address, parse_dash, parse_hash, parse_lettered_room};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A place an owner names. At least one of the three parts is present;
/// build it with [`Location::new`] to keep that true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub building: Option<String>,
    pub unit: Option<String>,
    pub room: Option<String>,
}

impl Location {
    /// `None` when all three parts are missing: "no location" is
    /// `Option<Location>::None`, never an empty `Location`.
    pub fn new(
        building: Option<String>,
        unit: Option<String>,
        room: Option<String>,
    ) -> Option<Self> {
        if building.is_none() && unit.is_none() && room.is_none() {
            None
        } else {
            Some(Location {
                building,
                unit,
                room,
            })
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(b) = &self.building {
            let marker = if b.starts_with(|c: char| c.is_ascii_alphabetic()) {
                "座"
            } else {
                "栋"
            };
            write!(f, "{b}{marker}")?;
        }
        if let Some(u) = &self.unit {
            write!(f, "{u}单元")?;
        }
        if let Some(r) = &self.room {
            if self.building.is_none() && self.unit.is_none() {
                write!(f, "{r}室")?;
            } else {
                f.write_str(r)?;
            }
        }
        Ok(())
    }
}

/// Why a `/room` argument was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a room address: {input:?} (expected e.g. 3栋2单元501, 3-2-501, B座1203)")]
pub struct ParseLocationError {
    pub input: String,
}

impl FromStr for Location {
    type Err = ParseLocationError;

    /// Strict: the whole input must be one address, nothing else.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseLocationError {
            input: s.to_string(),
        };
        let norm = crate::domain::text::normalize(s);
        let cs: Vec<char> = norm.chars().collect();
        if cs.is_empty() {
            return Err(err());
        }
        // Each form must cover the whole input; the first that does wins.
        let whole = |p: Option<(Location, usize)>| p.filter(|(_, end)| *end == cs.len());
        let parsed = whole(parse_address(&cs, 0))
            .or_else(|| whole(parse_dash(&cs, 0)))
            .or_else(|| whole(parse_hash(&cs, 0)))
            .or_else(|| {
                // A bare room number ("501", "501室") is fine when it is all
                // the owner typed.
                let (room, end) = parse_room(&cs, 0)?;
                let end = if cs.get(end) == Some(&'室') {
                    end + 1
                } else {
                    end
                };
                whole(Some((Location::new(None, None, Some(room))?, end)))
            })
            .or_else(|| whole(parse_lettered_room(&cs)));
        parsed.map(|(loc, _)| loc).ok_or_else(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn loc(b: Option<&str>, u: Option<&str>, r: Option<&str>) -> Option<Location> {
        Location::new(
            b.map(String::from),
            u.map(String::from),
            r.map(String::from),
        )
    }

    #[test]
    fn room_accepts_lettered_rooms_and_any_letter_case() {
        for (arg, want) in [
            ("3-2-A01", loc(Some("3"), Some("2"), Some("A01"))),
            ("3-2-a01", loc(Some("3"), Some("2"), Some("A01"))),
            ("3栋2单元a01室", loc(Some("3"), Some("2"), Some("A01"))),
            ("B座a01", loc(Some("B"), None, Some("A01"))),
            ("b座1203", loc(Some("B"), None, Some("1203"))),
            ("B座1203", loc(Some("B"), None, Some("1203"))),
            ("3-2-501A", loc(Some("3"), Some("2"), Some("501A"))),
        ] {
            assert_eq!(arg.parse::<Location>().ok(), want, "/room {arg}");
        }
        for arg in ["3-2-A01 漏水", "3-2-AB", "3-2-A01-5", "3栋2单元"] {
            let parsed = arg.parse::<Location>();
            assert!(
                parsed.as_ref().map_or(true, |l| l.room.is_none()),
                "{arg}: {parsed:?}"
            );
        }
    }

    #[test]
    fn from_str_is_strict() {
        assert_eq!(
            "3-2-501".parse::<Location>().ok(),
            loc(Some("3"), Some("2"), Some("501"))
        );
        assert_eq!(
            "B座1203".parse::<Location>().ok(),
            loc(Some("B"), None, Some("1203"))
        );
        assert_eq!(
            "３栋２单元５０１".parse::<Location>().ok(),
            loc(Some("3"), Some("2"), Some("501"))
        );
        assert!("3栋2单元501 漏水".parse::<Location>().is_err());
        assert!("hello".parse::<Location>().is_err());
        assert!("".parse::<Location>().is_err());
        for l in [
            loc(Some("3"), Some("2"), Some("501")),
            loc(None, None, Some("501")),
            loc(Some("B"), None, None),
        ] {
            let l = l.unwrap();
            assert_eq!(l.to_string().parse::<Location>().ok(), Some(l));
        }
    }
}
