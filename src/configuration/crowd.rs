//! Settings for many reports at once: one owner or one group flooding the
//! desk, and many owners reporting one shared problem.

use serde::Deserialize;

/// Limits that keep one owner or one group from burying everyone else's reports.
/// Emergencies are never held back by them.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Flood {
    /// The same owner reporting the same kind of problem in the same chat within
    /// this many minutes adds to their open ticket instead of opening another.
    pub repeat_minutes: i64,
    /// Tickets one owner may open in an hour; later reports are added to their
    /// latest ticket.
    pub owner_tickets_per_hour: i64,
    /// Ordinary tickets from one group posted to staff one by one in ten minutes;
    /// past that they are still opened and listed, and staff get one summary.
    pub chat_posts_per_10_minutes: i64,
}

impl Default for Flood {
    fn default() -> Self {
        Self {
            repeat_minutes: 30,
            owner_tickets_per_hour: 6,
            chat_posts_per_10_minutes: 20,
        }
    }
}

/// Several owners reporting one shared problem (the lift of their building has
/// stopped) make one ticket with several reporters.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Merge {
    /// Reports of the same category in the same building within this many
    /// minutes of the first join its ticket; 0 turns merging off.
    pub minutes: i64,
    /// Categories of shared things (a lift, corridor lights, a gate), where a
    /// second report is the same problem; a leak in one flat is not.
    pub categories: Vec<String>,
}

impl Default for Merge {
    fn default() -> Self {
        Self {
            minutes: 120,
            // Not door_access: a car-park barrier and a unit's door are both
            // "door_access" and different things.
            categories: ["elevator", "lighting", "facilities"]
                .map(String::from)
                .to_vec(),
        }
    }
}
