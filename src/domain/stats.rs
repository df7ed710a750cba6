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
///
/// It takes tickets one at a time ([`add`](Self::add)) or, as the database
/// gives them for a big history, already counted in groups (the `count_*`
/// methods): a million tickets arrive as a few thousand groups. Durations are
/// kept as histograms of whole minutes, so memory does not grow with tickets.
#[derive(Debug)]
pub struct ReportBuilder {
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
    report: Report,
    claim_minutes: BTreeMap<i64, u64>,
    finish_minutes: BTreeMap<i64, u64>,
    rating_sum: u64,
    weeks: HashMap<(String, String, String), u64>,
    staff: HashMap<String, (u64, u64)>,
}

/// Per-ticket figures summed over a group of tickets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub tickets: u64,
    pub claimed_in_time: Share,
    pub finished_in_time: Share,
    pub rated: u64,
    pub rating_sum: u64,
    pub unhappy: u64,
    pub reopened: u64,
    pub escalated: u64,
    pub upset: u64,
}

/// How many recurring problems a report lists.
const TOP_RECURRING: usize = 10;

/// The ISO week (`2026-W48`) of a date.
pub fn iso_week(d: chrono::NaiveDate) -> String {
    let w = d.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

impl ReportBuilder {
    /// `now`: tickets not yet claimed or finished count against their deadline
    /// only once it has passed.
    pub fn new(now: DateTime<Utc>, tz: chrono_tz::Tz) -> Self {
        Self {
            now,
            tz,
            report: Report::default(),
            claim_minutes: BTreeMap::new(),
            finish_minutes: BTreeMap::new(),
            rating_sum: 0,
            weeks: HashMap::new(),
            staff: HashMap::new(),
        }
    }

    /// One ticket.
    pub fn add(&mut self, t: &TicketFacts) {
        let category = t.category.clone().unwrap_or_else(|| "other".into());
        let building = t.building.clone().unwrap_or_else(|| "—".into());
        let day = t.created_at.with_timezone(&self.tz).date_naive();
        self.count_intent(t.intent.as_str(), 1);
        self.count_building(&building, 1);
        self.count_day(&category, day, 1);
        if t.category.is_some() && t.building.is_some() {
            self.count_week(&category, &building, &iso_week(day), 1);
        }
        let mut totals = Totals {
            tickets: 1,
            reopened: u64::from(t.reopened),
            escalated: u64::from(t.escalated),
            upset: u64::from(t.upset),
            ..Totals::default()
        };
        match t.claimed_at {
            Some(c) => {
                self.count_claim_minutes((c - t.created_at).num_minutes().max(0), 1);
                totals.claimed_in_time = Share {
                    part: u64::from(c <= t.respond_by),
                    whole: 1,
                };
            }
            None if self.now > t.respond_by => totals.claimed_in_time.whole = 1,
            None => {}
        }
        match t.finished_at {
            Some(f) => {
                self.count_finish_minutes((f - t.created_at).num_minutes().max(0), 1);
                totals.finished_in_time = Share {
                    part: u64::from(f <= t.resolve_by),
                    whole: 1,
                };
            }
            None if self.now > t.resolve_by => totals.finished_in_time.whole = 1,
            None => {}
        }
        if let Some(stars) = t.rating {
            totals.rated = 1;
            totals.rating_sum = u64::from(stars);
            totals.unhappy = u64::from(stars <= 2);
        }
        self.count_totals(&totals);
        if let Some(name) = &t.assignee {
            self.count_staff(name, 1, u64::from(t.finished_at.is_some()));
        }
    }

    pub fn count_totals(&mut self, t: &Totals) {
        let r = &mut self.report;
        r.tickets += t.tickets;
        r.claimed_in_time.part += t.claimed_in_time.part;
        r.claimed_in_time.whole += t.claimed_in_time.whole;
        r.finished_in_time.part += t.finished_in_time.part;
        r.finished_in_time.whole += t.finished_in_time.whole;
        r.rated += t.rated;
        self.rating_sum += t.rating_sum;
        r.unhappy += t.unhappy;
        r.reopened.part += t.reopened;
        r.reopened.whole += t.tickets;
        r.escalated += t.escalated;
        r.upset += t.upset;
    }

    pub fn count_intent(&mut self, intent: &str, n: u64) {
        *self.report.by_intent.entry(intent.into()).or_default() += n;
    }

    pub fn count_building(&mut self, building: &str, n: u64) {
        *self.report.by_building.entry(building.into()).or_default() += n;
    }

    /// Tickets of `category` opened on `day` (in the desk's timezone).
    pub fn count_day(&mut self, category: &str, day: chrono::NaiveDate, n: u64) {
        *self.report.by_category.entry(category.into()).or_default() += n;
        *self
            .report
            .per_day
            .entry(day.format("%Y-%m-%d").to_string())
            .or_default()
            .entry(category.into())
            .or_default() += n;
    }

    /// Tickets of `category` in `building` in ISO `week` (only tickets that name both).
    pub fn count_week(&mut self, category: &str, building: &str, week: &str, n: u64) {
        *self
            .weeks
            .entry((category.into(), building.into(), week.into()))
            .or_default() += n;
    }

    /// `n` tickets claimed `minutes` after they were opened.
    pub fn count_claim_minutes(&mut self, minutes: i64, n: u64) {
        *self.claim_minutes.entry(minutes).or_default() += n;
    }

    /// `n` tickets last finished `minutes` after they were opened.
    pub fn count_finish_minutes(&mut self, minutes: i64, n: u64) {
        *self.finish_minutes.entry(minutes).or_default() += n;
    }

    pub fn count_staff(&mut self, name: &str, tickets: u64, finished: u64) {
        let e = self.staff.entry(name.into()).or_default();
        e.0 += tickets;
        e.1 += finished;
    }

    pub fn finish(self) -> Report {
        let mut r = self.report;
        (r.claim_median_minutes, r.claim_p90_minutes) = quantiles(&self.claim_minutes);
        (r.finish_median_minutes, r.finish_p90_minutes) = quantiles(&self.finish_minutes);
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

/// Median and 90th percentile (nearest rank) of a histogram.
fn quantiles(histogram: &BTreeMap<i64, u64>) -> (Option<i64>, Option<i64>) {
    let total: u64 = histogram.values().sum();
    if total == 0 {
        return (None, None);
    }
    let rank = |q: f64| {
        let want = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (value, n) in histogram {
            seen += n;
            if seen >= want {
                return *value;
            }
        }
        *histogram.keys().next_back().unwrap_or(&0)
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
