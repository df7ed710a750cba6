//! Where a report is about: the message's own words, else the owner's confirmed
//! room, else the building whose group it was written in.

use super::{Context, Result};
use crate::domain::Location;

impl Context {
    /// The place of a report by `user` in `group` (the group's building name),
    /// and where it came from (`message`, `owner`, `group`).
    pub(super) async fn report_location(
        &self,
        user: i64,
        said: Option<Location>,
        group: Option<&str>,
    ) -> Result<(Option<Location>, Option<&'static str>)> {
        let group_location = group.and_then(building_location);
        if let Some(l) = said {
            // "2单元电梯卡在8楼" in the 5栋 group is 5栋2单元.
            return Ok((
                Some(with_building_from(l, group_location.as_ref())),
                Some("message"),
            ));
        }
        let owner = self.store().owner(user).await?;
        Ok(
            if let Some(l) = owner.as_ref().and_then(|o| o.confirmed_location()).cloned() {
                (Some(l), Some("owner"))
            } else if let Some(l) = group_location {
                (Some(l), Some("group"))
            } else {
                (None, None)
            },
        )
    }
}

/// The building of a group named like `3栋` as a location, if it reads as one.
pub(super) fn building_location(name: &str) -> Option<Location> {
    let building = name.parse::<Location>().ok()?.building?;
    Location::new(Some(building), None, None)
}

/// Do both places name a room, and different ones?
pub(super) fn names_another_room(new: Option<&Location>, old: Option<&Location>) -> bool {
    match (
        new.and_then(|l| l.room.as_ref()),
        old.and_then(|l| l.room.as_ref()),
    ) {
        (Some(a), Some(b)) => a != b,
        _ => false,
    }
}

/// `location`, with the building taken from `known` when it names none.
pub(super) fn with_building_from(mut location: Location, known: Option<&Location>) -> Location {
    if location.building.is_none() {
        location.building = known.and_then(|k| k.building.clone());
    }
    location
}
