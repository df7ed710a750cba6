//! What staff broadcast: who it goes to, and the shape of a planned outage.

use chrono::Datelike;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    #[error("请写明发送对象:all 或楼栋名(多个用逗号分隔,如 3栋,5栋)")]
    NoTargets,
    #[error("停什么?请写 water/power/gas 或 停水/停电/停气,收到的是 '{0}'")]
    BadUtility(String),
    #[error("时间 '{0}' 看不懂,请写成 09:00(今天)、明天 09:00、12月1日 09:00 或 2026-12-01 09:00")]
    BadTime(String),
    #[error("结束时间 {end} 早于开始时间 {start}")]
    EndBeforeStart { start: String, end: String },
    #[error("用法:{0}")]
    Usage(&'static str),
    #[error("通知内容不能为空")]
    EmptyText,
}

/// What staff put between building names: commas (either width), 、, semicolons,
/// spaces (either width).
const TARGET_SEPARATORS: [char; 7] = [',', '\u{ff0c}', '、', ';', '\u{ff1b}', ' ', '\u{3000}'];

/// A word that names a building as staff write it: `3栋`, `B座`, `12号楼`, `三幢`.
fn looks_like_building(word: &str) -> bool {
    const MARKERS: [&str; 5] = ["号楼", "栋", "幢", "座", "楼"];
    word.chars().count() <= 8
        && MARKERS.iter().any(|m| {
            word.strip_suffix(m).is_some_and(|head| {
                !head.is_empty()
                    && head.chars().all(|c| {
                        c.is_ascii_alphanumeric() || "零一二三四五六七八九十百".contains(c)
                    })
            })
        })
}

/// Split a command's arguments into its targets and the rest: the first word,
/// and the words after it while they name buildings too, so `3栋 5栋 明天停水`
/// and `3栋,5栋 明天停水` both go to 3栋 and 5栋.
pub fn split_targets(args: &str) -> (String, &str) {
    let mut rest = args.trim_start();
    let mut targets = Vec::new();
    let mut first = true;
    loop {
        let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
        let word = &rest[..end];
        let all_buildings = word
            .split(TARGET_SEPARATORS)
            .filter(|w| !w.is_empty())
            .all(looks_like_building);
        if word.is_empty() || (!first && !all_buildings) {
            break;
        }
        targets.push(word);
        rest = rest[end..].trim_start();
        first = false;
    }
    (targets.join(","), rest)
}

/// A broadcast's targets as staff of several estates write them, `翠湖苑:1栋,3栋`
/// (a full-width `:` too): the estate named before the colon, if any, and the
/// buildings after it. `1栋,3栋` names no estate.
pub fn split_estate(targets: &str) -> (Option<&str>, &str) {
    match targets.split_once([':', '\u{ff1a}']) {
        Some((estate, rest)) if !estate.trim().is_empty() => (Some(estate.trim()), rest.trim()),
        Some((_, rest)) => (None, rest.trim()),
        None => (None, targets.trim()),
    }
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
            .split(TARGET_SEPARATORS)
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

/// What a broadcast is: a notice staff wrote, an outage's announcement and the
/// notices after it, or a fee reminder. `as_str` is the stored spelling, the one
/// place it is written down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BroadcastKind {
    /// `/notice`: staff's own words.
    Notice,
    /// An outage's announcement (pinned).
    Outage,
    /// "starts soon", before an outage.
    OutageReminder,
    /// "已恢复", when an outage ended.
    OutageEnd,
    /// An outage called off.
    OutageCancel,
    /// A scheduled fee reminder.
    Fee,
}

impl BroadcastKind {
    pub const ALL: [BroadcastKind; 6] = [
        BroadcastKind::Notice,
        BroadcastKind::Outage,
        BroadcastKind::OutageReminder,
        BroadcastKind::OutageEnd,
        BroadcastKind::OutageCancel,
        BroadcastKind::Fee,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BroadcastKind::Notice => "notice",
            BroadcastKind::Outage => "outage",
            BroadcastKind::OutageReminder => "outage_reminder",
            BroadcastKind::OutageEnd => "outage_end",
            BroadcastKind::OutageCancel => "outage_cancel",
            BroadcastKind::Fee => "fee",
        }
    }

    /// The kind stored as `s`, if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
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
        const USAGE: &str = "/outage 3栋,5栋 停水 明天 09:00 18:00 市政管网维修";
        let (targets, rest) = split_targets(args);
        if targets.is_empty() {
            return Err(NoticeError::Usage(USAGE));
        }
        let targets = Targets::parse(&targets)?;
        let mut words = rest.split_whitespace().peekable();
        let utility = Utility::parse(words.next().ok_or(NoticeError::Usage(USAGE))?)?;
        let today = now.with_timezone(&tz).date_naive();

        // A time is a clock (`09:00`, `9:00`), optionally after a day (`明天`,
        // `12月1日`, `2026-12-01`), with or without a space between them.
        let mut take_time = |default_day: NaiveDate| -> Result<NaiveDateTime, NoticeError> {
            let first = words.next().ok_or(NoticeError::Usage(USAGE))?;
            if let Ok(t) = parse_clock(first) {
                return Ok(default_day.and_time(t));
            }
            if let Some(day) = parse_day(first, today) {
                let time = words.next().ok_or(NoticeError::Usage(USAGE))?;
                return Ok(day.and_time(parse_clock(time)?));
            }
            // `明天09:00`, `12月1日9:00`: the day and the clock glued together.
            for (i, _) in first.char_indices().skip(1) {
                let (day, clock) = first.split_at(i);
                if let (Some(day), Ok(t)) = (parse_day(day, today), parse_clock(clock)) {
                    return Ok(day.and_time(t));
                }
            }
            Err(NoticeError::BadTime(first.to_string()))
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

/// A day as staff write it, in the desk's calendar: `今天`, `明天`, `后天`,
/// `12月1日`, `12/1`, `2026-12-01`, `2026/12/1`. A month and day without a year
/// is the next such day from `today` (December's `1月5日` is next January).
fn parse_day(s: &str, today: NaiveDate) -> Option<NaiveDate> {
    let s = s.trim();
    let offset = match s.to_lowercase().as_str() {
        "今天" | "今日" | "today" => Some(0),
        "明天" | "明日" | "tomorrow" => Some(1),
        "后天" => Some(2),
        _ => None,
    };
    if let Some(days) = offset {
        return today.checked_add_days(chrono::Days::new(days));
    }
    for format in ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日"] {
        if let Ok(day) = NaiveDate::parse_from_str(s, format) {
            return Some(day);
        }
    }
    let (month, day) = s
        .strip_suffix('日')
        .or_else(|| s.strip_suffix('号'))
        .and_then(|md| md.split_once('月'))
        .or_else(|| s.split_once('/'))
        .or_else(|| s.split_once('-'))?;
    let (month, day) = (month.parse::<u32>().ok()?, day.parse::<u32>().ok()?);
    let this_year = NaiveDate::from_ymd_opt(today.year(), month, day)?;
    if this_year >= today {
        Some(this_year)
    } else {
        NaiveDate::from_ymd_opt(today.year() + 1, month, day)
    }
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
    fn every_broadcast_kind_reads_back_as_it_was_stored() {
        for kind in BroadcastKind::ALL {
            assert_eq!(BroadcastKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(BroadcastKind::OutageReminder.as_str(), "outage_reminder");
        assert_eq!(BroadcastKind::parse("survey"), None);
    }

    #[test]
    fn an_estate_is_named_before_a_colon_of_either_width() {
        for (targets, estate, buildings) in [
            ("翠湖苑:1栋,3栋", Some("翠湖苑"), "1栋,3栋"),
            ("翠湖苑\u{ff1a}all", Some("翠湖苑"), "all"),
            ("1栋,3栋", None, "1栋,3栋"),
            (":1栋", None, "1栋"),
            ("金桂园:", Some("金桂园"), ""),
        ] {
            assert_eq!(split_estate(targets), (estate, buildings), "{targets}");
        }
        let (targets, rest) = split_targets("翠湖苑:1栋 3栋 明天 09:00 停水");
        assert_eq!(split_estate(&targets), (Some("翠湖苑"), "1栋,3栋"));
        assert_eq!(rest, "明天 09:00 停水");
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
    fn targets_take_the_separators_people_use_and_several_words() {
        let both = Targets::Buildings(vec!["3栋".into(), "5栋".into()]);
        for written in ["3栋\u{ff0c}5栋", "3栋;5栋", "3栋 5栋", "3栋\u{3000}5栋"] {
            assert_eq!(Targets::parse(written).unwrap(), both, "{written}");
        }
        assert_eq!(
            split_targets("3栋 5栋 明天上午清洗水箱"),
            ("3栋,5栋".to_string(), "明天上午清洗水箱")
        );
        assert_eq!(
            split_targets("3栋\u{ff0c}5栋 停水"),
            ("3栋\u{ff0c}5栋".to_string(), "停水")
        );
        assert_eq!(
            split_targets("all 3栋的住户请注意"),
            ("all".to_string(), "3栋的住户请注意"),
            "only words that are building names join the targets"
        );
        assert_eq!(
            split_targets("紫荆苑 今晚停电"),
            ("紫荆苑".to_string(), "今晚停电")
        );
    }

    #[test]
    fn outage_times_read_today_tomorrow_and_month_day_in_the_desk_calendar() {
        let tz = chrono_tz::Asia::Shanghai;
        let shanghai = |y, mo, d, h, mi| {
            tz.with_ymd_and_hms(y, mo, d, h, mi, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        // now() is 2026-11-23 10:00 in Shanghai.
        let today = now().with_timezone(&tz).date_naive();
        let (y, m, d) = (today.year(), today.month(), today.day());
        let p = OutagePlan::parse("3栋 停水 明天 09:00 18:00 检修", now(), tz).unwrap();
        assert_eq!(
            p.starts_at,
            shanghai(y, m, d, 9, 0) + chrono::Duration::days(1)
        );
        assert_eq!(
            p.ends_at,
            shanghai(y, m, d, 18, 0) + chrono::Duration::days(1)
        );
        let p = OutagePlan::parse(
            "3栋 5栋 停电 12月1日 9:00 12月1日 14:00 线路改造",
            now(),
            tz,
        )
        .unwrap();
        assert_eq!(p.starts_at, shanghai(2026, 12, 1, 9, 0));
        assert_eq!(p.ends_at, shanghai(2026, 12, 1, 14, 0));
        assert_eq!(
            p.targets,
            Targets::Buildings(vec!["3栋".into(), "5栋".into()])
        );
        let p = OutagePlan::parse("3栋 停气 今天14:00 16:00 管道检修", now(), tz).unwrap();
        assert_eq!(p.starts_at, shanghai(y, m, d, 14, 0));
        let p = OutagePlan::parse("3栋 停水 1月5日 09:00 12:00 检修", now(), tz).unwrap();
        assert_eq!(
            p.starts_at,
            shanghai(2027, 1, 5, 9, 0),
            "a month already past is next year's"
        );
        assert!(matches!(
            OutagePlan::parse("3栋 停水 下周 09:00 12:00 检修", now(), tz),
            Err(NoticeError::BadTime(_))
        ));
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
