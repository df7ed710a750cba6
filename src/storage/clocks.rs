//! The service clocks' state: how far each late ticket has been escalated.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::tickets::{TICKET_COLUMNS, ticket_from_row};
use super::{Context, Result, Store, Tx, ms};
use crate::domain::escalation::Step;
use crate::domain::ticket::{Ticket, TicketId};

/// A ticket past a deadline, with the tiers already fired (unclaimed, overdue).
pub type LateTicket = (Ticket, u8, u8);

/// Tickets looked at per clock tick; the rest wait for the next tick.
const PER_TICK: i64 = 500;

impl Store {
    /// Active tickets past their first deadline whose ladder is not finished.
    pub async fn late_tickets(&self, now: DateTime<Utc>) -> Result<Vec<LateTicket>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS}, escalation, overdue FROM tickets
             WHERE (status = 'open' AND respond_by <= $1 AND escalation < 3)
                OR (status = 'claimed' AND resolve_by <= $1 AND overdue < 2)
             ORDER BY id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(ms(now))
            .bind(PER_TICK)
            .fetch_all(&self.pool)
            .await
            .ctx("finding late tickets")?;
        rows.iter()
            .map(|r| {
                let n = r.columns().len();
                let tier = |i: usize| -> Result<u8> {
                    let v: i64 = r.try_get(i).ctx("reading a ticket's escalation")?;
                    Ok(u8::try_from(v).unwrap_or(u8::MAX))
                };
                Ok((ticket_from_row(r)?, tier(n - 2)?, tier(n - 1)?))
            })
            .collect()
    }
}

impl Tx {
    /// Record that `step` fired for `ticket`. False if it (or a higher tier) had
    /// fired already: on another instance, or before a restart.
    pub async fn raise(&mut self, ticket: TicketId, step: Step) -> Result<bool> {
        let (column, tier) = match step {
            Step::Unclaimed(k) => ("escalation", k),
            Step::Overdue(k) => ("overdue", k),
        };
        let sql = format!("UPDATE tickets SET {column} = $1 WHERE id = $2 AND {column} < $1");
        let done = sqlx::query(&sql)
            .bind(i64::from(tier))
            .bind(ticket.get())
            .execute(&mut *self.tx)
            .await
            .ctx("recording an escalation")?;
        Ok(done.rows_affected() == 1)
    }
}
