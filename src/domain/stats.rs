//! The manager's figures for the weekly review: what was reported where, how
//! fast it was taken and finished against the service standard, how owners rated
//! it, and which problems keep coming back (the handbook: find the high-frequency
//! problems and fix their root cause).
//!
//! Built one ticket at a time ([`ReportBuilder::add`]), or from the [`Tally`]
//! of whole days counted before: what is kept per day is counts and
//! histograms of minutes, so memory does not grow with tickets.

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// Counts that add up: the tickets of one day counted once can be kept (the
/// report's roll-up, see `storage::report`) and merged with other days' later,
/// so a year's report reads 365 tallies instead of a million tickets.
///
/// Durations are histograms of whole minutes, so a tally does not grow with
/// tickets and medians stay exact after merging.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    tickets: u64,
    by_intent: BTreeMap<String, u64>,
    by_category: BTreeMap<String, u64>,
    by_building: BTreeMap<String, u64>,
    per_day: BTreeMap<String, BTreeMap<String, u64>>,
    claimed_in_time: Share,
    finished_in_time: Share,
    rated: u64,
    rating_sum: u64,
    unhappy: u64,
    reopened: u64,
    escalated: u64,
    upset: u64,
    claim_minutes: BTreeMap<i64, u64>,
    finish_minutes: BTreeMap<i64, u64>,
    /// ISO week → building → category → tickets.
    weeks: BTreeMap<String, BTreeMap<String, BTreeMap<String, u64>>>,
    /// Name → (tickets, finished).
    staff: BTreeMap<String, (u64, u64)>,
    /// The earliest deadline still ahead when these tickets were counted. From
    /// then on a ticket not yet claimed or finished counts as late: the tally
    /// holds only for reports made before it (and no later change to a ticket).
    stable_until: Option<DateTime<Utc>>,
}

impl Tally {
    /// Until when this tally is true without recounting (`None`: for good,
    /// unless one of its tickets changes).
    pub fn stable_until(&self) -> Option<DateTime<Utc>> {
        self.stable_until
    }

    pub fn tickets(&self) -> u64 {
        self.tickets
    }

    /// Add `other`'s tickets to these.
    pub fn merge(&mut self, other: &Tally) {
        fn add<K: Ord + Clone>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
            for (k, n) in from {
                *into.entry(k.clone()).or_default() += n;
            }
        }
        self.tickets += other.tickets;
        add(&mut self.by_intent, &other.by_intent);
        add(&mut self.by_category, &other.by_category);
        add(&mut self.by_building, &other.by_building);
        for (day, categories) in &other.per_day {
            add(self.per_day.entry(day.clone()).or_default(), categories);
        }
        for s in [
            (&mut self.claimed_in_time, other.claimed_in_time),
            (&mut self.finished_in_time, other.finished_in_time),
        ] {
            s.0.part += s.1.part;
            s.0.whole += s.1.whole;
        }
        self.rated += other.rated;
        self.rating_sum += other.rating_sum;
        self.unhappy += other.unhappy;
        self.reopened += other.reopened;
        self.escalated += other.escalated;
        self.upset += other.upset;
        add(&mut self.claim_minutes, &other.claim_minutes);
        add(&mut self.finish_minutes, &other.finish_minutes);
        for (week, buildings) in &other.weeks {
            let into = self.weeks.entry(week.clone()).or_default();
            for (building, categories) in buildings {
                add(into.entry(building.clone()).or_default(), categories);
            }
        }
        for (name, (tickets, finished)) in &other.staff {
            let e = self.staff.entry(name.clone()).or_default();
            e.0 += tickets;
            e.1 += finished;
        }
        self.stable_until = match (self.stable_until, other.stable_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// Figures so far; [`ReportBuilder::finish`] turns them into a [`Report`].
///
/// It takes tickets one at a time ([`add`](Self::add)), or the tallies of whole
/// days counted before ([`merge`](Self::merge)).
#[derive(Debug)]
pub struct ReportBuilder {
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
    tally: Tally,
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
            tally: Tally::default(),
        }
    }

    /// One ticket.
    pub fn add(&mut self, t: &TicketFacts) {
        let category = t.category.clone().unwrap_or_else(|| "other".into());
        let building = t.building.clone().unwrap_or_else(|| "—".into());
        let day = t.created_at.with_timezone(&self.tz).date_naive();
        let s = &mut self.tally;
        s.tickets += 1;
        *s.by_intent.entry(t.intent.as_str().into()).or_default() += 1;
        *s.by_building.entry(building.clone()).or_default() += 1;
        *s.by_category.entry(category.clone()).or_default() += 1;
        *s.per_day
            .entry(day.format("%Y-%m-%d").to_string())
            .or_default()
            .entry(category.clone())
            .or_default() += 1;
        if t.category.is_some() && t.building.is_some() {
            *s.weeks
                .entry(iso_week(day))
                .or_default()
                .entry(building)
                .or_default()
                .entry(category)
                .or_default() += 1;
        }
        s.reopened += u64::from(t.reopened);
        s.escalated += u64::from(t.escalated);
        s.upset += u64::from(t.upset);
        let pending = [
            (
                t.claimed_at,
                t.respond_by,
                &mut s.claimed_in_time,
                &mut s.claim_minutes,
            ),
            (
                t.finished_at,
                t.resolve_by,
                &mut s.finished_in_time,
                &mut s.finish_minutes,
            ),
        ];
        let mut ahead = None;
        for (at, deadline, share, minutes) in pending {
            match at {
                Some(at) => {
                    *minutes
                        .entry((at - t.created_at).num_minutes().max(0))
                        .or_default() += 1;
                    share.part += u64::from(at <= deadline);
                    share.whole += 1;
                }
                None if self.now > deadline => share.whole += 1,
                None => ahead = Some(ahead.map_or(deadline, |a: DateTime<Utc>| a.min(deadline))),
            }
        }
        if let Some(deadline) = ahead {
            s.stable_until = Some(s.stable_until.map_or(deadline, |u| u.min(deadline)));
        }
        if let Some(stars) = t.rating {
            s.rated += 1;
            s.rating_sum += u64::from(stars);
            s.unhappy += u64::from(stars <= 2);
        }
        if let Some(name) = &t.assignee {
            let e = s.staff.entry(name.clone()).or_default();
            e.0 += 1;
            e.1 += u64::from(t.finished_at.is_some());
        }
    }

    /// Tickets counted before.
    pub fn merge(&mut self, tally: &Tally) {
        self.tally.merge(tally);
    }

    /// What has been counted, to keep.
    pub fn into_tally(self) -> Tally {
        self.tally
    }

    pub fn finish(self) -> Report {
        let s = self.tally;
        let (claim_median_minutes, claim_p90_minutes) = quantiles(&s.claim_minutes);
        let (finish_median_minutes, finish_p90_minutes) = quantiles(&s.finish_minutes);
        let mut recurring: Vec<Recurring> = s
            .weeks
            .into_iter()
            .flat_map(|(week, buildings)| {
                buildings
                    .into_iter()
                    .flat_map(move |(building, categories)| {
                        let week = week.clone();
                        categories.into_iter().filter(|(_, n)| *n >= 2).map(
                            move |(category, tickets)| Recurring {
                                category,
                                building: building.clone(),
                                week: week.clone(),
                                tickets,
                            },
                        )
                    })
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
        let mut staff: Vec<StaffLoad> = s
            .staff
            .into_iter()
            .map(|(name, (tickets, finished))| StaffLoad {
                name,
                tickets,
                finished,
            })
            .collect();
        staff.sort_by(|a, b| b.tickets.cmp(&a.tickets).then_with(|| a.name.cmp(&b.name)));
        Report {
            tickets: s.tickets,
            by_intent: s.by_intent,
            by_category: s.by_category,
            by_building: s.by_building,
            claim_median_minutes,
            claim_p90_minutes,
            finish_median_minutes,
            finish_p90_minutes,
            claimed_in_time: s.claimed_in_time,
            finished_in_time: s.finished_in_time,
            rated: s.rated,
            rating_average: (s.rated > 0).then(|| s.rating_sum as f64 / s.rated as f64),
            unhappy: s.unhappy,
            reopened: Share {
                part: s.reopened,
                whole: s.tickets,
            },
            escalated: s.escalated,
            upset: s.upset,
            corrections: 0,
            recurring,
            staff,
            per_day: s.per_day,
            surveys: Vec::new(),
        }
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

    #[test]
    fn tallies_of_parts_kept_and_merged_give_the_whole_report() {
        let now = t0() + Duration::days(2);
        let tz = chrono_tz::Asia::Shanghai;
        let tickets = [
            facts("elevator", "3", Some(5), Some(60)),
            TicketFacts {
                rating: Some(1),
                reopened: true,
                ..facts("elevator", "3", Some(30), Some(3000))
            },
            TicketFacts {
                created_at: t0() + Duration::days(1),
                ..facts("plumbing", "5", None, None)
            },
            facts("elevator", "3", Some(7), None),
        ];
        let mut whole = ReportBuilder::new(now, tz);
        let mut first = ReportBuilder::new(now, tz);
        let mut second = ReportBuilder::new(now, tz);
        for (i, t) in tickets.iter().enumerate() {
            whole.add(t);
            if i % 2 == 0 {
                first.add(t)
            } else {
                second.add(t)
            }
        }
        // Kept as the roll-up keeps them: through JSON.
        let kept: Vec<Tally> = [first.into_tally(), second.into_tally()]
            .iter()
            .map(|t| serde_json::from_str(&serde_json::to_string(t).unwrap()).unwrap())
            .collect();
        let mut merged = ReportBuilder::new(now, tz);
        for t in &kept {
            merged.merge(t);
        }
        let (merged, whole) = (merged.finish(), whole.finish());
        assert_eq!(merged.tickets, 4);
        assert_eq!(merged.recurring[0].tickets, 3);
        assert_eq!(merged, whole);
    }

    #[test]
    fn a_tally_holds_until_the_next_deadline_it_counts_on() {
        let tz = chrono_tz::Asia::Shanghai;
        let mut b = ReportBuilder::new(t0() + Duration::minutes(10), tz);
        b.add(&facts("elevator", "3", Some(5), Some(60)));
        assert_eq!(
            b.into_tally().stable_until(),
            None,
            "nothing left to wait for"
        );
        let mut b = ReportBuilder::new(t0() + Duration::minutes(10), tz);
        b.add(&facts("elevator", "3", Some(5), None));
        b.add(&facts("elevator", "3", None, None));
        // Unclaimed: late from 15 minutes on; unfinished: from 24 hours on.
        assert_eq!(
            b.into_tally().stable_until(),
            Some(t0() + Duration::minutes(15))
        );
        let mut late = ReportBuilder::new(t0() + Duration::minutes(20), tz);
        late.add(&facts("elevator", "3", None, None));
        assert_eq!(
            late.into_tally().stable_until(),
            Some(t0() + Duration::hours(24))
        );
    }
}
