//! Follow-up (回访) and upset owners (情绪): per-ticket stages the clock and the
//! desk raise with guarded updates, so each step happens once whoever runs it.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::tickets::{TICKET_COLUMNS, ticket_from_row};
use super::{Context, Result, Store, Tx, from_ms, ms};
use crate::domain::followup::Revisit;
use crate::domain::ticket::{Ticket, TicketId};

/// Finished, unrated work, with its follow-up stage and when it was finished.
pub type Unrated = (Ticket, Revisit, DateTime<Utc>);

/// Tickets looked at per clock tick; the rest wait for the next tick.
const PER_TICK: i64 = 500;

impl Store {
    /// Finished, unrated tickets whose follow-up has not reached a call, finished
    /// before `before` (the earliest a step could be due).
    pub async fn unrated_done(&self, before: DateTime<Utc>) -> Result<Vec<Unrated>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS}, revisit,
                    (SELECT MAX(e.at) FROM ticket_events e WHERE e.ticket_id = tickets.id AND e.kind = 'done')
             FROM tickets
             WHERE status = 'done' AND rating IS NULL AND revisit < 2 AND updated_at <= $1
             ORDER BY id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(ms(before))
            .bind(PER_TICK)
            .fetch_all(&self.pool)
            .await
            .ctx("finding finished work to follow up")?;
        let c = "reading finished work to follow up";
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let n = r.columns().len();
            let t = ticket_from_row(r)?;
            let stage = Revisit::from_i64(r.try_get(n - 2).ctx(c)?);
            let done: Option<i64> = r.try_get(n - 1).ctx(c)?;
            let done = done.map(from_ms).unwrap_or(t.updated_at);
            out.push((t, stage, done));
        }
        Ok(out)
    }

    /// `/tickets followup`: unrated work waiting for a call, and unhappy ratings
    /// a supervisor must call back, oldest first.
    pub async fn tickets_to_call(&self, limit: i64) -> Result<Vec<Ticket>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets
             WHERE (status = 'done' AND revisit = 2) OR follow_up = 1
             ORDER BY id LIMIT {}",
            limit.clamp(1, 500)
        );
        let rows = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .ctx("listing tickets to call")?;
        rows.iter().map(ticket_from_row).collect()
    }
}

impl Tx {
    /// Raise a ticket's follow-up stage to `to`. False if it was there already
    /// (another instance, or before a restart).
    pub async fn raise_revisit(&mut self, ticket: TicketId, to: Revisit) -> Result<bool> {
        let done = sqlx::query("UPDATE tickets SET revisit = $1 WHERE id = $2 AND revisit < $1")
            .bind(to.as_i64())
            .bind(ticket.get())
            .execute(&mut *self.tx)
            .await
            .ctx("recording a follow-up step")?;
        Ok(done.rows_affected() == 1)
    }

    /// A new round of work starts its follow-up afresh.
    pub async fn reset_revisit(&mut self, ticket: TicketId) -> Result<()> {
        sqlx::query("UPDATE tickets SET revisit = 0 WHERE id = $1")
            .bind(ticket.get())
            .execute(&mut *self.tx)
            .await
            .ctx("resetting a follow-up")?;
        Ok(())
    }

    /// Mark a ticket 情绪. False if it was marked already: a supervisor is told once.
    pub async fn mark_upset(&mut self, ticket: TicketId) -> Result<bool> {
        let done = sqlx::query("UPDATE tickets SET upset = 1 WHERE id = $1 AND upset = 0")
            .bind(ticket.get())
            .execute(&mut *self.tx)
            .await
            .ctx("marking an upset owner")?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// How many earlier tickets of this owner's were about `category` since
    /// `since` (a third report of the same problem is an owner losing patience).
    pub async fn earlier_reports(
        &self,
        reporter: i64,
        category: &str,
        since: DateTime<Utc>,
    ) -> Result<i64> {
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) FROM tickets WHERE reporter_id = $1 AND category = $2 AND created_at >= $3",
        )
        .bind(reporter)
        .bind(category)
        .bind(ms(since))
        .fetch_one(&self.pool)
        .await
        .ctx("counting an owner's reports")?
        .try_get(0)
        .ctx("counting an owner's reports")?;
        Ok(n)
    }
}
