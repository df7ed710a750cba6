//! What staff broadcast: who it goes to, and the shape of a planned outage.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    #[error("请写明发送对象:all 或楼栋名(多个用逗号分隔,如 3栋,5栋)")]
    NoTargets,
    #[error("停什么?请写 water/power/gas 或 停水/停电/停气,收到的是 '{0}'")]
    BadUtility(String),
    #[error("时间 '{0}' 看不懂,请写成 2026-11-25 09:00 或 09:00(今天)")]
    BadTime(String),
    #[error("结束时间 {end} 早于开始时间 {start}")]
    EndBeforeStart { start: String, end: String },
    #[error("用法:{0}")]
    Usage(&'static str),
    #[error("通知内容不能为空")]
    EmptyText,
}

/// Which building groups a broadcast goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    All,
    /// Building names as staff wrote them (`3栋`), deduplicated, in order.
    Buildings(Vec<String>),
}

impl Targets {
    pub fn parse(s: &str) -> Result<Self, NoticeError> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("all") || s == "全部" || s == "所有" {
            return Ok(Targets::All);
        }
        let mut names: Vec<String> = Vec::new();
        for name in s
            .split([',', ',', '、'])
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
        if names.is_empty() {
            Err(NoticeError::NoTargets)
        } else {
            Ok(Targets::Buildings(names))
        }
    }

    /// Does it cover this building? `3栋`, `3号楼`, `3幢` and `3` are the same building.
    pub fn includes(&self, building: &str) -> bool {
        match self {
            Targets::All => true,
            Targets::Buildings(names) => {
                let key = building_key(building);
                names.iter().any(|n| building_key(n) == key)
            }
        }
    }

    /// How it is stored: `*` or `,3栋,5栋,` so a building can be found with LIKE.
    pub fn to_stored(&self) -> String {
        match self {
            Targets::All => "*".into(),
            Targets::Buildings(names) => format!(",{},", names.join(",")),
        }
    }

    pub fn from_stored(s: &str) -> Self {
        if s == "*" {
            Targets::All
        } else {
            Targets::Buildings(
                s.split(',')
                    .filter(|n| !n.is_empty())
                    .map(String::from)
                    .collect(),
            )
        }
    }
}

impl fmt::Display for Targets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Targets::All => f.write_str("全体楼栋"),
            Targets::Buildings(names) => f.write_str(&names.join("、")),
        }
    }
}

/// A building's name reduced to what identifies it: `3号楼` → `3`, `b座` → `B`.
/// The one rule is [`canonical_building`](super::location::canonical_building).
pub fn building_key(name: &str) -> String {
    super::location::canonical_building(name).unwrap_or_default()
}

/// The supplies an outage cuts: the same type the classifier reports.
pub use super::intent::Utility;

impl Utility {
    pub fn parse(s: &str) -> Result<Self, NoticeError> {
        match s.trim().to_lowercase().as_str() {
            "water" | "停水" | "水" => Ok(Utility::Water),
            "power" | "electricity" | "停电" | "电" => Ok(Utility::Power),
            "gas" | "停气" | "气" | "燃气" => Ok(Utility::Gas),
            _ => Err(NoticeError::BadUtility(s.to_string())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Utility::Water => "water",
            Utility::Power => "power",
            Utility::Gas => "gas",
        }
    }

    /// The character owners use: 停水 / 停电 / 停气.
    pub fn word(self) -> &'static str {
        match self {
            Utility::Water => "水",
            Utility::Power => "电",
            Utility::Gas => "气",
        }
    }
}

/// A planned outage as staff announced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutagePlan {
    pub targets: Targets,
    pub utility: Utility,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
}

impl OutagePlan {
    /// Parse `/outage` arguments: `<targets> <water|power|gas|停水|停电|停气> <start> <end> <reason>`.
    /// A time is `2026-11-25 09:00` or `09:00`; a bare start time is today, a bare end
    /// time is on the start's day (the next day if that would be before the start).
    pub fn parse(args: &str, now: DateTime<Utc>, tz: Tz) -> Result<Self, NoticeError> {
        const USAGE: &str = "/outage 3栋,5栋 停水 2026-11-25 09:00 18:00 市政管网维修";
        let mut words = args.split_whitespace().peekable();
        let targets = Targets::parse(words.next().ok_or(NoticeError::Usage(USAGE))?)?;
        let utility = Utility::parse(words.next().ok_or(NoticeError::Usage(USAGE))?)?;
        let today = now.with_timezone(&tz).date_naive();

        let mut take_time = |default_day: NaiveDate| -> Result<NaiveDateTime, NoticeError> {
            let first = words.next().ok_or(NoticeError::Usage(USAGE))?;
            if let Ok(day) = NaiveDate::parse_from_str(first, "%Y-%m-%d") {
                let time = words.next().ok_or(NoticeError::Usage(USAGE))?;
                let t = parse_clock(time)?;
                Ok(day.and_time(t))
            } else {
                Ok(default_day.and_time(parse_clock(first)?))
            }
        };
        let start = take_time(today)?;
        let mut end = take_time(start.date())?;
        if end <= start && end.date() == start.date() {
            end += chrono::Duration::days(1);
        }
        let reason: Vec<&str> = words.collect();
        let reason = reason.join(" ");
        if reason.is_empty() {
            return Err(NoticeError::Usage(USAGE));
        }
        let starts_at = local(tz, start)?;
        let ends_at = local(tz, end)?;
        if ends_at <= starts_at {
            return Err(NoticeError::EndBeforeStart {
                start: start.to_string(),
                end: end.to_string(),
            });
        }
        Ok(Self {
            targets,
            utility,
            starts_at,
            ends_at,
            reason,
        })
    }
}

fn parse_clock(s: &str) -> Result<NaiveTime, NoticeError> {
    let s = s.replace('\u{ff1a}', ":");
    NaiveTime::parse_from_str(&s, "%H:%M").map_err(|_| NoticeError::BadTime(s.to_string()))
}

fn local(tz: Tz, t: NaiveDateTime) -> Result<DateTime<Utc>, NoticeError> {
    tz.from_local_datetime(&t)
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .ok_or_else(|| NoticeError::BadTime(t.to_string()))
}

/// How a time is shown to owners: `11月25日 09:00`.
pub fn show_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%-m月%-d日 %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        // 2026-11-23 10:00 in Shanghai
        Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap()
    }

    #[test]
    fn targets_are_all_or_a_list_of_buildings() {
        assert_eq!(Targets::parse("all").unwrap(), Targets::All);
        assert_eq!(
            Targets::parse("3栋,5栋,3栋").unwrap(),
            Targets::Buildings(vec!["3栋".into(), "5栋".into()])
        );
        assert_eq!(
            Targets::parse("3栋、5栋").unwrap(),
            Targets::parse("3栋,5栋").unwrap()
        );
        assert!(Targets::parse(" , ").is_err());
        let t = Targets::parse("3栋,5栋").unwrap();
        assert!(t.includes("5栋") && !t.includes("35栋"));
        assert!(
            t.includes("3号楼") && t.includes("3"),
            "owners write the same building many ways"
        );
        assert_eq!(Targets::from_stored(&t.to_stored()), t);
    }

    #[test]
    fn an_outage_with_full_dates_is_read_in_the_desk_timezone() {
        let p = OutagePlan::parse(
            "3栋 停水 2026-11-25 09:00 2026-11-25 18:00 市政管网 维修",
            now(),
            chrono_tz::Asia::Shanghai,
        )
        .unwrap();
        assert_eq!(p.utility, Utility::Water);
        assert_eq!(
            p.starts_at,
            Utc.with_ymd_and_hms(2026, 11, 25, 1, 0, 0).unwrap()
        );
        assert_eq!(
            p.ends_at,
            Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
        );
        assert_eq!(p.reason, "市政管网 维修");
        assert_eq!(
            show_time(p.starts_at, chrono_tz::Asia::Shanghai),
            "11月25日 09:00"
        );
    }

    #[test]
    fn bare_times_mean_today_and_the_start_day() {
        let p = OutagePlan::parse(
            "all power 13:00 17:30 线路检修",
            now(),
            chrono_tz::Asia::Shanghai,
        )
        .unwrap();
        assert_eq!(p.targets, Targets::All);
        assert_eq!(
            p.starts_at,
            Utc.with_ymd_and_hms(2026, 11, 23, 5, 0, 0).unwrap()
        );
        let p = OutagePlan::parse(
            "5栋 停气 2026-11-26 22:00 06:00 管道改造",
            now(),
            chrono_tz::Asia::Shanghai,
        )
        .unwrap();
        assert_eq!(p.ends_at - p.starts_at, chrono::Duration::hours(8));
    }

    #[test]
    fn bad_outage_arguments_say_what_is_wrong() {
        let tz = chrono_tz::Asia::Shanghai;
        assert!(matches!(
            OutagePlan::parse("3栋 停暖 09:00 10:00 x", now(), tz),
            Err(NoticeError::BadUtility(_))
        ));
        assert!(matches!(
            OutagePlan::parse("3栋 停水 9点 10:00 x", now(), tz),
            Err(NoticeError::BadTime(_))
        ));
        assert!(matches!(
            OutagePlan::parse("3栋 停水 09:00 10:00", now(), tz),
            Err(NoticeError::Usage(_))
        ));
        assert!(matches!(
            OutagePlan::parse("3栋 停水 2026-11-25 09:00 2026-11-24 10:00 x", now(), tz),
            Err(NoticeError::EndBeforeStart { .. })
        ));
    }
}
