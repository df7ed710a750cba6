//! When a ticket that nobody took, or that is not finished in time, is pushed
//! up: the service standard's clock, as tiers that each fire once.
//!
//! ```text
//! unclaimed  1× the response time  re-posted to the staff group, naming the supervisors
//!            2×                    the supervisors in private
//!            3×                    the admins in private
//! claimed    past its deadline     the person responsible in private
//!            2× the completion time the supervisors in private
//! ```
//!
//! Times are working time on the office-hours calendar for ordinary tickets and
//! plain time for emergencies, so a report at 23:40 escalates the next morning.

use chrono::{DateTime, Utc};

use super::calendar::OfficeHours;
use super::ticket::{Status, Ticket};

/// A step of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nobody claimed it: tier 1, 2 or 3.
    Unclaimed(u8),
    /// Claimed, not finished in time: tier 1 or 2.
    Overdue(u8),
}

pub use super::service::Limits;

/// The next step due for `t` at `now`, given the tiers already fired; the
/// highest one due, so a desk that was down for an hour catches up in one step
/// rather than sending three messages at once.
pub fn due(
    t: &Ticket,
    fired_unclaimed: u8,
    fired_overdue: u8,
    limits: Limits,
    calendar: &OfficeHours,
    now: DateTime<Utc>,
) -> Option<Step> {
    match t.status {
        Status::Open => (1..=3u8)
            .rev()
            .find(|k| calendar.add(t.created_at, limits.respond * i32::from(*k)) <= now)
            .filter(|k| *k > fired_unclaimed)
            .map(Step::Unclaimed),
        Status::Claimed => {
            let due = if calendar.add(t.created_at, limits.resolve * 2) <= now {
                2
            } else if t.resolve_by <= now {
                1
            } else {
                0
            };
            (due > fired_overdue).then_some(Step::Overdue(due))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Intent;
    use crate::domain::ticket::{Actor, Priority, TicketId};
    use chrono::{Duration, TimeZone};
    use chrono_tz::Asia::Shanghai;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Shanghai
            .with_ymd_and_hms(2026, 11, 30, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn ticket(status: Status) -> Ticket {
        Ticket {
            id: TicketId::new(1).unwrap(),
            source_chat: -1,
            source_message: 1,
            reporter: Actor::new(1, "业主"),
            text: "电梯坏了".into(),
            intent: Intent::Repair,
            category: None,
            location: None,
            priority: Priority::Normal,
            status,
            assignee: None,
            rating: None,
            follow_up: false,
            respond_by: at(10, 15),
            resolve_by: at(10, 0) + Duration::hours(24),
            created_at: at(10, 0),
            updated_at: at(10, 0),
            round: 0,
            version: 0,
            upset: false,
            estate: String::new(),
        }
    }

    const LIMITS: Limits = Limits {
        respond: Duration::minutes(15),
        resolve: Duration::hours(24),
    };

    #[test]
    fn each_tier_is_due_once_at_its_multiple() {
        let cal = OfficeHours::always(Shanghai);
        let t = ticket(Status::Open);
        assert_eq!(due(&t, 0, 0, LIMITS, &cal, at(10, 14)), None);
        assert_eq!(
            due(&t, 0, 0, LIMITS, &cal, at(10, 15)),
            Some(Step::Unclaimed(1))
        );
        assert_eq!(due(&t, 1, 0, LIMITS, &cal, at(10, 20)), None);
        assert_eq!(
            due(&t, 1, 0, LIMITS, &cal, at(10, 30)),
            Some(Step::Unclaimed(2))
        );
        assert_eq!(
            due(&t, 2, 0, LIMITS, &cal, at(10, 45)),
            Some(Step::Unclaimed(3))
        );
        assert_eq!(due(&t, 3, 0, LIMITS, &cal, at(23, 0)), None);
        // Down for an hour: one step, the highest.
        assert_eq!(
            due(&t, 0, 0, LIMITS, &cal, at(11, 0)),
            Some(Step::Unclaimed(3))
        );
    }

    #[test]
    fn a_claimed_ticket_escalates_past_its_deadline_and_finished_work_never() {
        let cal = OfficeHours::always(Shanghai);
        let t = ticket(Status::Claimed);
        assert_eq!(due(&t, 0, 0, LIMITS, &cal, at(11, 0)), None);
        let later = at(10, 0) + Duration::hours(25);
        assert_eq!(due(&t, 0, 0, LIMITS, &cal, later), Some(Step::Overdue(1)));
        assert_eq!(due(&t, 0, 1, LIMITS, &cal, later), None);
        let much_later = at(10, 0) + Duration::hours(49);
        assert_eq!(
            due(&t, 0, 1, LIMITS, &cal, much_later),
            Some(Step::Overdue(2))
        );
        assert_eq!(
            due(&ticket(Status::Done), 0, 0, LIMITS, &cal, much_later),
            None
        );
    }

    #[test]
    fn the_clock_waits_for_office_hours() {
        let cal = OfficeHours::parse("08:00-20:00", &[], &[], Shanghai).unwrap();
        let mut t = ticket(Status::Open);
        t.created_at = at(19, 55);
        // 5 minutes tonight, 10 tomorrow morning: tier 1 at 8:10, not at 20:10.
        let tomorrow = |h, m| at(h, m) + Duration::days(1);
        assert_eq!(due(&t, 0, 0, LIMITS, &cal, at(23, 0)), None);
        assert_eq!(due(&t, 0, 0, LIMITS, &cal, tomorrow(8, 9)), None);
        assert_eq!(
            due(&t, 0, 0, LIMITS, &cal, tomorrow(8, 10)),
            Some(Step::Unclaimed(1))
        );
    }
}
