//! Follow-up (回访): finished work the owner has not rated is not forgotten.
//!
//! ```text
//! done ── follow_up_hours, unrated ──▶ Asked   (the owner is asked once more)
//!      ── 2 × follow_up_hours ───────▶ Calling (listed in /tickets followup)
//!      ── /followup N <outcome> ─────▶ Closed  (a staff member called)
//! ```
//!
//! A rating at any point ends it the ordinary way. The stage is kept per ticket
//! and only ever raised, so each step happens once across restarts and instances.
//! Times are counted on the office-hours calendar: nobody is asked to rate a
//! plumber's work at three in the morning.

use chrono::{DateTime, Duration, Utc};

use super::calendar::OfficeHours;

/// How far the follow-up of one finished ticket has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Revisit {
    None,
    /// The owner was asked once more to rate.
    Asked,
    /// Nobody rated: a staff member should call.
    Calling,
    /// A staff member followed it up (`/followup`).
    Closed,
}

impl Revisit {
    pub fn as_i64(self) -> i64 {
        match self {
            Revisit::None => 0,
            Revisit::Asked => 1,
            Revisit::Calling => 2,
            Revisit::Closed => 3,
        }
    }

    /// As stored; an unknown number is the furthest stage (nothing more fires).
    pub fn from_i64(v: i64) -> Self {
        match v {
            0 => Revisit::None,
            1 => Revisit::Asked,
            2 => Revisit::Calling,
            _ => Revisit::Closed,
        }
    }
}

/// The next stage due for work finished at `done_at`, if any. The highest due
/// stage is returned, so a desk that was down for two days lists the ticket for
/// a call rather than first asking the owner and then, a tick later, calling.
pub fn due(
    stage: Revisit,
    done_at: DateTime<Utc>,
    after: Duration,
    calendar: &OfficeHours,
    now: DateTime<Utc>,
) -> Option<Revisit> {
    let ask = calendar.next_open(done_at + after);
    let call = calendar.next_open(done_at + after * 2);
    let reached = if now >= call {
        Revisit::Calling
    } else if now >= ask {
        Revisit::Asked
    } else {
        Revisit::None
    };
    (reached > stage).then_some(reached)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Asia::Shanghai;

    fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Shanghai
            .with_ymd_and_hms(2026, 12, d, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn office() -> OfficeHours {
        OfficeHours::parse("08:00-20:00", &[], &[], Shanghai).unwrap()
    }

    #[test]
    fn asks_after_the_period_then_lists_for_a_call() {
        let cal = OfficeHours::always(Shanghai);
        let done = at(1, 10, 0);
        let h = Duration::hours(24);
        assert_eq!(due(Revisit::None, done, h, &cal, at(2, 9, 59)), None);
        assert_eq!(
            due(Revisit::None, done, h, &cal, at(2, 10, 0)),
            Some(Revisit::Asked)
        );
        assert_eq!(due(Revisit::Asked, done, h, &cal, at(2, 12, 0)), None);
        assert_eq!(
            due(Revisit::Asked, done, h, &cal, at(3, 10, 0)),
            Some(Revisit::Calling)
        );
        assert_eq!(due(Revisit::Calling, done, h, &cal, at(9, 0, 0)), None);
        assert_eq!(due(Revisit::Closed, done, h, &cal, at(9, 0, 0)), None);
    }

    #[test]
    fn a_desk_that_was_down_skips_to_the_call() {
        let cal = OfficeHours::always(Shanghai);
        let done = at(1, 10, 0);
        assert_eq!(
            due(Revisit::None, done, Duration::hours(24), &cal, at(5, 10, 0)),
            Some(Revisit::Calling)
        );
    }

    #[test]
    fn nobody_is_asked_at_night() {
        // Finished at 22:30: 24 hours later is 22:30 again, after hours, so the
        // owner is asked when the office opens.
        let done = at(1, 22, 30);
        let h = Duration::hours(24);
        assert_eq!(due(Revisit::None, done, h, &office(), at(2, 23, 0)), None);
        assert_eq!(
            due(Revisit::None, done, h, &office(), at(3, 8, 0)),
            Some(Revisit::Asked)
        );
    }

    #[test]
    fn stored_numbers_round_trip() {
        for r in [
            Revisit::None,
            Revisit::Asked,
            Revisit::Calling,
            Revisit::Closed,
        ] {
            assert_eq!(Revisit::from_i64(r.as_i64()), r);
        }
        assert_eq!(Revisit::from_i64(42), Revisit::Closed);
    }
}
