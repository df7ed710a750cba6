//! The handbook's service standard: how long each kind of ticket may take to be
//! answered and finished, and the deadlines that follow for a report made now.
//! Emergencies run round the clock; everything else on the office calendar, so
//! a repair reported at 23:40 is due the next morning, not at 23:55.

use chrono::{DateTime, Duration, Utc};

use super::calendar::OfficeHours;
use super::intent::Intent;
use super::ticket::{Priority, Ticket};

/// The time limits of one kind of ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// To claim (answer) it.
    pub respond: Duration,
    /// To finish it (a complaint: to answer it properly).
    pub resolve: Duration,
}

/// The standard, as configured (`[service]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceStandard {
    pub respond: Duration,
    pub emergency_respond: Duration,
    pub resolve: Duration,
    pub complaint_answer: Duration,
}

impl ServiceStandard {
    /// The limits of a ticket of `intent` with `priority`.
    pub fn limits(&self, intent: Intent, priority: Priority) -> Limits {
        Limits {
            respond: if priority == Priority::Urgent {
                self.emergency_respond
            } else {
                self.respond
            },
            resolve: if intent == Intent::Complaint {
                self.complaint_answer
            } else {
                self.resolve
            },
        }
    }

    pub fn limits_of(&self, t: &Ticket) -> Limits {
        self.limits(t.intent, t.priority)
    }

    /// When a ticket reported `now` must be claimed and finished.
    pub fn deadlines(
        &self,
        intent: Intent,
        priority: Priority,
        now: DateTime<Utc>,
        calendar: &OfficeHours,
    ) -> (DateTime<Utc>, DateTime<Utc>) {
        let l = self.limits(intent, priority);
        if priority == Priority::Urgent {
            (now + l.respond, now + l.resolve)
        } else {
            (calendar.add(now, l.respond), calendar.add(now, l.resolve))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Asia::Shanghai;

    fn standard() -> ServiceStandard {
        ServiceStandard {
            respond: Duration::minutes(15),
            emergency_respond: Duration::minutes(5),
            resolve: Duration::hours(24),
            complaint_answer: Duration::hours(48),
        }
    }

    #[test]
    fn a_night_repair_is_due_in_the_morning_and_an_emergency_at_once() {
        let cal = OfficeHours::parse("08:00-20:00", &[], &[], Shanghai).unwrap();
        let night = Shanghai
            .with_ymd_and_hms(2026, 12, 1, 23, 40, 0)
            .unwrap()
            .with_timezone(&Utc);
        let morning = |h, m| {
            Shanghai
                .with_ymd_and_hms(2026, 12, 2, h, m, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        let (respond, _) = standard().deadlines(Intent::Repair, Priority::Normal, night, &cal);
        assert_eq!(respond, morning(8, 15));
        let (respond, _) = standard().deadlines(Intent::Emergency, Priority::Urgent, night, &cal);
        assert_eq!(respond, night + Duration::minutes(5));
        assert_eq!(
            standard()
                .limits(Intent::Complaint, Priority::Normal)
                .resolve,
            Duration::hours(48)
        );
    }
}
