//! Office hours: when the day team's clocks run.
//!
//! A repair reported at 23:40 cannot be answered in 15 minutes by a team that
//! starts at 8:00, so ordinary service clocks count working time only (as
//! Zammad's SLA calendars do): the hours of a working day that is not a holiday.
//! Emergencies never wait for office hours; they use [`OfficeHours::always`].

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("服务时间 '{0}' 应写成 08:00-20:00(同一天内,开始早于结束)")]
    Hours(String),
    #[error("工作日 '{0}' 无法识别:请写 mon tue wed thu fri sat sun(或 周一…周日)")]
    Day(String),
    #[error("至少要有一个工作日")]
    NoDays,
    #[error("节假日 '{0}' 应写成 2026-10-01")]
    Holiday(String),
}

/// The hours a day team works, in the desk's timezone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeHours {
    /// `None`: round the clock, every day.
    window: Option<(NaiveTime, NaiveTime)>,
    /// Monday first.
    days: [bool; 7],
    holidays: BTreeSet<NaiveDate>,
    tz: Tz,
}

/// Holidays long enough to exhaust this many days of search are a config error
/// that must not hang the desk: the clock then simply runs.
const SEARCH_DAYS: usize = 400;

impl OfficeHours {
    /// Round the clock, every day (emergencies; a desk with no hours set).
    pub fn always(tz: Tz) -> Self {
        Self {
            window: None,
            days: [true; 7],
            holidays: BTreeSet::new(),
            tz,
        }
    }

    /// `hours` like `08:00-20:00` (empty: round the clock), `days` like
    /// `["mon", …, "sat"]` or `["周一", …]` (empty: every day), `holidays` as
    /// `YYYY-MM-DD`.
    pub fn parse(
        hours: &str,
        days: &[String],
        holidays: &[String],
        tz: Tz,
    ) -> Result<Self, CalendarError> {
        let window = if hours.trim().is_empty() {
            None
        } else {
            let (a, b) = hours
                .split_once(['-', '–', '~', '至'])
                .ok_or_else(|| CalendarError::Hours(hours.into()))?;
            let parse = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M");
            match (parse(a), parse(b)) {
                (Ok(open), Ok(close)) if open < close => Some((open, close)),
                _ => return Err(CalendarError::Hours(hours.into())),
            }
        };
        let days = if days.is_empty() {
            [true; 7]
        } else {
            let mut set = [false; 7];
            for d in days {
                set[weekday(d)?.num_days_from_monday() as usize] = true;
            }
            set
        };
        if !days.contains(&true) {
            return Err(CalendarError::NoDays);
        }
        let holidays = holidays
            .iter()
            .map(|h| {
                NaiveDate::parse_from_str(h.trim(), "%Y-%m-%d")
                    .map_err(|_| CalendarError::Holiday(h.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            window,
            days,
            holidays,
            tz,
        })
    }

    pub fn is_always(&self) -> bool {
        self.window.is_none() && self.days == [true; 7] && self.holidays.is_empty()
    }

    fn works_on(&self, day: NaiveDate) -> bool {
        self.days[day.weekday().num_days_from_monday() as usize] && !self.holidays.contains(&day)
    }

    /// The day's opening and closing instants, if `day` is a working day.
    fn day_window(&self, day: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.works_on(day) {
            return None;
        }
        let (open, close) = self.window.unwrap_or((NaiveTime::MIN, NaiveTime::MIN));
        let at = |t: NaiveTime| {
            self.tz
                .from_local_datetime(&day.and_time(t))
                .earliest()
                .map(|d| d.with_timezone(&Utc))
        };
        let start = at(open)?;
        let end = if self.window.is_some() {
            at(close)?
        } else {
            at(NaiveTime::MIN).map(|_| start + Duration::days(1))?
        };
        Some((start, end))
    }

    /// `t`, or the next moment the team is at work.
    pub fn next_open(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let mut day = t.with_timezone(&self.tz).date_naive();
        for _ in 0..SEARCH_DAYS {
            if let Some((open, close)) = self.day_window(day) {
                if t < open {
                    return open;
                }
                if t < close {
                    return t;
                }
            }
            day = day.succ_opt().unwrap_or(day);
        }
        t
    }

    /// `d` of working time after `start`: the deadline of a clock started then.
    pub fn add(&self, start: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
        if self.is_always() {
            return start + d;
        }
        let mut t = self.next_open(start);
        let mut left = d;
        for _ in 0..SEARCH_DAYS {
            let day = t.with_timezone(&self.tz).date_naive();
            let Some((_, close)) = self.day_window(day) else {
                t = self.next_open(t + Duration::days(1));
                continue;
            };
            let today = close - t;
            if left <= today {
                return t + left;
            }
            left -= today;
            t = self.next_open(close);
        }
        start + d
    }

    /// How an owner is told when work starts: "今天 14:00", "明天 8:00", "12月3日 8:00".
    pub fn describe(&self, now: DateTime<Utc>, at: DateTime<Utc>) -> String {
        let (n, a) = (now.with_timezone(&self.tz), at.with_timezone(&self.tz));
        let time = format!("{}:{:02}", a.hour(), a.minute());
        match (a.date_naive() - n.date_naive()).num_days() {
            0 => format!("今天 {time}"),
            1 => format!("明天 {time}"),
            _ => format!("{}月{}日 {time}", a.month(), a.day()),
        }
    }
}

fn weekday(s: &str) -> Result<Weekday, CalendarError> {
    let s = s.trim();
    let chinese = [
        ("周一", Weekday::Mon),
        ("周二", Weekday::Tue),
        ("周三", Weekday::Wed),
        ("周四", Weekday::Thu),
        ("周五", Weekday::Fri),
        ("周六", Weekday::Sat),
        ("周日", Weekday::Sun),
        ("周天", Weekday::Sun),
    ];
    chinese
        .iter()
        .find(|(name, _)| *name == s)
        .map(|(_, d)| *d)
        .or_else(|| s.parse::<Weekday>().ok())
        .ok_or_else(|| CalendarError::Day(s.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    fn at(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Shanghai
            .with_ymd_and_hms(y, m, d, h, mi, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn weekdays_8_to_20() -> OfficeHours {
        let days: Vec<String> = ["mon", "tue", "wed", "thu", "fri"]
            .map(String::from)
            .to_vec();
        OfficeHours::parse("08:00-20:00", &days, &["2026-12-07".into()], Shanghai).unwrap()
    }

    #[test]
    fn a_late_night_report_is_answered_after_opening() {
        let c = weekdays_8_to_20();
        // Monday 2026-11-30, 23:40: 15 minutes of working time is Tuesday 8:15.
        let due = c.add(at(2026, 11, 30, 23, 40), Duration::minutes(15));
        assert_eq!(due, at(2026, 12, 1, 8, 15));
        assert_eq!(
            c.describe(
                at(2026, 11, 30, 23, 40),
                c.next_open(at(2026, 11, 30, 23, 40))
            ),
            "明天 8:00"
        );
        // Within hours it is plain addition.
        assert_eq!(
            c.add(at(2026, 11, 30, 10, 0), Duration::minutes(15)),
            at(2026, 11, 30, 10, 15)
        );
    }

    #[test]
    fn a_clock_stops_over_the_weekend_and_a_holiday() {
        let c = weekdays_8_to_20();
        // Friday 19:50 + 15 min: 10 min on Friday, 5 on Monday; Monday 12-07 is a
        // holiday, so Tuesday 8:05.
        let due = c.add(at(2026, 12, 4, 19, 50), Duration::minutes(15));
        assert_eq!(due, at(2026, 12, 8, 8, 5));
        // 24 working hours from Monday 9:00 is Wednesday 9:00 (12 a day).
        assert_eq!(
            c.add(at(2026, 11, 30, 9, 0), Duration::hours(24)),
            at(2026, 12, 2, 9, 0)
        );
        assert_eq!(
            c.describe(at(2026, 12, 4, 21, 0), c.next_open(at(2026, 12, 4, 21, 0))),
            "12月8日 8:00"
        );
    }

    #[test]
    fn round_the_clock_is_plain_time_and_bad_settings_are_named() {
        let c = OfficeHours::always(Shanghai);
        let t = at(2026, 11, 30, 23, 40);
        assert_eq!(c.add(t, Duration::minutes(5)), t + Duration::minutes(5));
        assert_eq!(c.next_open(t), t);
        assert!(matches!(
            OfficeHours::parse("20:00-08:00", &[], &[], Shanghai),
            Err(CalendarError::Hours(_))
        ));
        assert!(matches!(
            OfficeHours::parse("08:00-20:00", &["funday".into()], &[], Shanghai),
            Err(CalendarError::Day(_))
        ));
        assert!(matches!(
            OfficeHours::parse("08:00-20:00", &[], &["12/7".into()], Shanghai),
            Err(CalendarError::Holiday(_))
        ));
        let cn = OfficeHours::parse("8:00-18:00", &["周一".into(), "周六".into()], &[], Shanghai)
            .unwrap();
        assert_eq!(
            cn.next_open(at(2026, 12, 1, 9, 0)),
            at(2026, 12, 5, 8, 0),
            "Tuesday → Saturday"
        );
    }
}
