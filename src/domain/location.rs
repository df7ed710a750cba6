//! TEMPORARY stand-in until the classifier branch lands.
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub building: Option<String>,
    pub unit: Option<String>,
    pub room: Option<String>,
}

impl Location {
    pub fn new(building: Option<String>, unit: Option<String>, room: Option<String>) -> Option<Self> {
        (building.is_some() || unit.is_some() || room.is_some()).then_some(Self { building, unit, room })
    }
}

pub fn extract(s: &str) -> Option<Location> {
    let re = regex::Regex::new(r"(\d+)-(\d+)-(\d+)|(\d+)栋(?:(\d+)单元)?(\d{3,4})?").ok()?;
    let c = re.captures(s)?;
    if c.get(1).is_some() {
        return Location::new(Some(c[1].into()), Some(c[2].into()), Some(c[3].into()));
    }
    Location::new(c.get(4).map(|m| m.as_str().into()), c.get(5).map(|m| m.as_str().into()), c.get(6).map(|m| m.as_str().into()))
}

impl FromStr for Location {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        extract(s).ok_or_else(|| format!("无法识别房号 '{s}'"))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(b) = &self.building { write!(f, "{b}栋")?; }
        if let Some(u) = &self.unit { write!(f, "{u}单元")?; }
        if let Some(r) = &self.room { write!(f, "{r}")?; }
        Ok(())
    }
}
