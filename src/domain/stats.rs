//! The manager's figures for the weekly review: what was reported where, how
//! fast it was taken and finished against the service standard, how owners rated
//! it, and which problems keep coming back (the handbook: find the high-frequency
//! problems and fix their root cause).
//!
//! Built one ticket at a time ([`ReportBuilder::add`]) so a million tickets are
//! read as a stream: what is kept per ticket is a few integers for the medians.

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

use super::intent::Intent;

/// What the report needs to know of one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFacts {
    pub intent: Intent,
    pub category: Option<String>,
    pub building: Option<String>,
    pub created_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    pub resolve_by: DateTime<Utc>,
    /// First claimed.
    pub claimed_at: Option<DateTime<Utc>>,
    /// Last finished.
    pub finished_at: Option<DateTime<Utc>>,
    pub rating: Option<u8>,
    pub reopened: bool,
    pub assignee: Option<String>,
    /// Pushed up the ladder at least once (late to claim or to finish).
    pub escalated: bool,
    /// Marked 情绪: the owner was at the end of their patience.
    pub upset: bool,
}

/// `part` of `whole`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Share {
    pub part: u64,
    pub whole: u64,
}

impl Share {
    pub fn ratio(self) -> Option<f64> {
        (self.whole > 0).then(|| self.part as f64 / self.whole as f64)
    }
}

/// A problem that keeps coming back: one category in one building in one ISO week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recurring {
    pub category: String,
    pub building: String,
    /// `2026-W48`.
    pub week: String,
    pub tickets: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffLoad {
    pub name: String,
    pub tickets: u64,
    pub finished: u64,
}

/// Durations in minutes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub tickets: u64,
    pub by_intent: BTreeMap<String, u64>,
    pub by_category: BTreeMap<String, u64>,
    pub by_building: BTreeMap<String, u64>,
    pub claim_median_minutes: Option<i64>,
    pub claim_p90_minutes: Option<i64>,
    pub finish_median_minutes: Option<i64>,
    pub finish_p90_minutes: Option<i64>,
    /// Claimed by the response deadline, of those claimed or past it.
    pub claimed_in_time: Share,
    /// Finished by the completion deadline, of those finished or past it.
    pub finished_in_time: Share,
    pub rated: u64,
    pub rating_average: Option<f64>,
    /// Rated 1 or 2.
    pub unhappy: u64,
    pub reopened: Share,
    /// Tickets escalated at least once (see `escalation`).
    pub escalated: u64,
    /// Tickets marked 情绪.
    pub upset: u64,
    /// How often staff corrected the classifier (`/reclassify`, 待分类) in the period.
    pub corrections: u64,
    /// Most frequent first, at least two tickets each.
    pub recurring: Vec<Recurring>,
    /// Most tickets first.
    pub staff: Vec<StaffLoad>,
    /// Tickets per day (`2026-11-30`, in the desk's timezone) and category.
    pub per_day: BTreeMap<String, BTreeMap<String, u64>>,
    /// Satisfaction surveys sent in the period, newest first.
    pub surveys: Vec<super::survey::SurveyResult>,
}

/// Figures so far; [`ReportBuilder::finish`] turns them into a [`Report`].
#[derive(Debug)]
pub struct ReportBuilder {
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
    report: Report,
    claim_minutes: Vec<i64>,
    finish_minutes: Vec<i64>,
    rating_sum: u64,
    weeks: HashMap<(String, String, String), u64>,
    staff: HashMap<String, (u64, u64)>,
}

/// How many recurring problems a report lists.
const TOP_RECURRING: usize = 10;

impl ReportBuilder {
    /// `now`: tickets not yet claimed or finished count against their deadline
    /// only once it has passed.
    pub fn new(now: DateTime<Utc>, tz: chrono_tz::Tz) -> Self {
        Self {
            now,
            tz,
            report: Report::default(),
            claim_minutes: Vec::new(),
            finish_minutes: Vec::new(),
            rating_sum: 0,
            weeks: HashMap::new(),
            staff: HashMap::new(),
        }
    }

    pub fn add(&mut self, t: &TicketFacts) {
        let r = &mut self.report;
        r.tickets += 1;
        *r.by_intent.entry(t.intent.as_str().into()).or_default() += 1;
        let category = t.category.clone().unwrap_or_else(|| "other".into());
        let building = t.building.clone().unwrap_or_else(|| "—".into());
        *r.by_category.entry(category.clone()).or_default() += 1;
        *r.by_building.entry(building.clone()).or_default() += 1;
        let day = t
            .created_at
            .with_timezone(&self.tz)
            .format("%Y-%m-%d")
            .to_string();
        *r.per_day
            .entry(day)
            .or_default()
            .entry(category.clone())
            .or_default() += 1;

        match t.claimed_at {
            Some(c) => {
                self.claim_minutes
                    .push((c - t.created_at).num_minutes().max(0));
                r.claimed_in_time.whole += 1;
                r.claimed_in_time.part += u64::from(c <= t.respond_by);
            }
            None if self.now > t.respond_by => r.claimed_in_time.whole += 1,
            None => {}
        }
        match t.finished_at {
            Some(f) => {
                self.finish_minutes
                    .push((f - t.created_at).num_minutes().max(0));
                r.finished_in_time.whole += 1;
                r.finished_in_time.part += u64::from(f <= t.resolve_by);
            }
            None if self.now > t.resolve_by => r.finished_in_time.whole += 1,
            None => {}
        }
        if let Some(stars) = t.rating {
            r.rated += 1;
            self.rating_sum += u64::from(stars);
            r.unhappy += u64::from(stars <= 2);
        }
        r.reopened.whole += 1;
        r.reopened.part += u64::from(t.reopened);
        r.escalated += u64::from(t.escalated);
        r.upset += u64::from(t.upset);
        if t.category.is_some() && t.building.is_some() {
            let w = t.created_at.iso_week();
            let week = format!("{}-W{:02}", w.year(), w.week());
            *self.weeks.entry((category, building, week)).or_default() += 1;
        }
        if let Some(name) = &t.assignee {
            let e = self.staff.entry(name.clone()).or_default();
            e.0 += 1;
            e.1 += u64::from(t.finished_at.is_some());
        }
    }

    pub fn finish(mut self) -> Report {
        let mut r = self.report;
        (r.claim_median_minutes, r.claim_p90_minutes) = quantiles(&mut self.claim_minutes);
        (r.finish_median_minutes, r.finish_p90_minutes) = quantiles(&mut self.finish_minutes);
        r.rating_average = (r.rated > 0).then(|| self.rating_sum as f64 / r.rated as f64);
        let mut recurring: Vec<Recurring> = self
            .weeks
            .into_iter()
            .filter(|(_, n)| *n >= 2)
            .map(|((category, building, week), tickets)| Recurring {
                category,
                building,
                week,
                tickets,
            })
            .collect();
        recurring.sort_by(|a, b| {
            b.tickets
                .cmp(&a.tickets)
                .then_with(|| a.week.cmp(&b.week))
                .then_with(|| a.building.cmp(&b.building))
                .then_with(|| a.category.cmp(&b.category))
        });
        recurring.truncate(TOP_RECURRING);
        r.recurring = recurring;
        let mut staff: Vec<StaffLoad> = self
            .staff
            .into_iter()
            .map(|(name, (tickets, finished))| StaffLoad {
                name,
                tickets,
                finished,
            })
            .collect();
        staff.sort_by(|a, b| b.tickets.cmp(&a.tickets).then_with(|| a.name.cmp(&b.name)));
        r.staff = staff;
        r
    }
}

/// Median and 90th percentile (nearest rank).
fn quantiles(values: &mut [i64]) -> (Option<i64>, Option<i64>) {
    if values.is_empty() {
        return (None, None);
    }
    values.sort_unstable();
    let rank = |q: f64| {
        let i = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1;
        values[i]
    };
    (Some(rank(0.5)), Some(rank(0.9)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0).unwrap()
    }

    fn facts(
        category: &str,
        building: &str,
        claim: Option<i64>,
        finish: Option<i64>,
    ) -> TicketFacts {
        TicketFacts {
            intent: Intent::Repair,
            category: Some(category.into()),
            building: Some(building.into()),
            created_at: t0(),
            respond_by: t0() + Duration::minutes(15),
            resolve_by: t0() + Duration::hours(24),
            claimed_at: claim.map(|m| t0() + Duration::minutes(m)),
            finished_at: finish.map(|m| t0() + Duration::minutes(m)),
            rating: None,
            reopened: false,
            assignee: claim.map(|_| "李师傅".to_string()),
            escalated: false,
            upset: false,
        }
    }

    #[test]
    fn figures_match_a_hand_count() {
        let mut b = ReportBuilder::new(t0() + Duration::days(2), chrono_tz::Asia::Shanghai);
        // Claimed after 5, 10, 20, 40 minutes; one never (past its deadline).
        b.add(&facts("elevator", "3", Some(5), Some(60)));
        b.add(&facts("elevator", "3", Some(10), Some(2000)));
        b.add(&facts("elevator", "3", Some(20), None));
        b.add(&TicketFacts {
            rating: Some(2),
            reopened: true,
            escalated: true,
            upset: true,
            ..facts("plumbing", "5", Some(40), Some(120))
        });
        b.add(&TicketFacts {
            rating: Some(5),
            assignee: None,
            ..facts("lighting", "5", None, None)
        });
        let r = b.finish();
        assert_eq!(r.tickets, 5);
        assert_eq!((r.escalated, r.upset), (1, 1));
        assert_eq!(r.by_category["elevator"], 3);
        assert_eq!(r.by_building["5"], 2);
        assert_eq!(r.per_day["2026-11-30"]["elevator"], 3);
        // Claim minutes sorted: 5 10 20 40 → median (rank 2) 10, p90 (rank 4) 40.
        assert_eq!(
            (r.claim_median_minutes, r.claim_p90_minutes),
            (Some(10), Some(40))
        );
        assert_eq!(r.claimed_in_time, Share { part: 2, whole: 5 });
        // Finished: 60, 2000 (late), 120; two unfinished past 24 h count as late.
        assert_eq!(r.finished_in_time, Share { part: 2, whole: 5 });
        assert_eq!(
            (r.finish_median_minutes, r.finish_p90_minutes),
            (Some(120), Some(2000))
        );
        assert_eq!((r.rated, r.unhappy), (2, 1));
        assert_eq!(r.rating_average, Some(3.5));
        assert_eq!(r.reopened, Share { part: 1, whole: 5 });
        assert_eq!(
            r.recurring,
            vec![Recurring {
                category: "elevator".into(),
                building: "3".into(),
                week: "2026-W49".into(),
                tickets: 3
            }]
        );
        assert_eq!(
            r.staff,
            vec![StaffLoad {
                name: "李师傅".into(),
                tickets: 4,
                finished: 3
            }]
        );
    }

    #[test]
    fn an_empty_period_has_no_averages() {
        let r = ReportBuilder::new(t0(), chrono_tz::Asia::Shanghai).finish();
        assert_eq!(r.tickets, 0);
        assert_eq!(r.claim_median_minutes, None);
        assert_eq!(r.claimed_in_time.ratio(), None);
    }
}
