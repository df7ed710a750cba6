//! Owners who reported a ticket someone else reported first (merged reports).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::tickets::{TICKET_COLUMNS, ticket_from_row};
use super::{Context, Result, Store, Tx, ms};
use crate::domain::ticket::{Actor, Ticket, TicketId};

/// Someone else who reported the same problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoReporter {
    pub who: Actor,
    pub chat_id: i64,
    pub message_id: Option<i64>,
    /// Their own words; `None` when they pressed 我也有这个问题.
    pub text: Option<String>,
}

impl Store {
    /// An active ticket about `category` in `building` opened since `since`: a
    /// report of the same shared problem joins it.
    pub async fn shared_ticket(
        &self,
        estate: &str,
        building: &str,
        category: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<Ticket>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets
             WHERE building = $1 AND category = $2 AND status IN ('open', 'claimed') AND created_at >= $3
                 AND estate = $4
             ORDER BY id LIMIT 1"
        );
        sqlx::query(&sql)
            .bind(building)
            .bind(category)
            .bind(ms(since))
            .bind(estate)
            .fetch_optional(&self.pool)
            .await
            .ctx("finding a shared ticket")?
            .map(|r| ticket_from_row(&r))
            .transpose()
    }

    pub async fn co_reporters(&self, ticket: TicketId) -> Result<Vec<CoReporter>> {
        let rows = sqlx::query(
            "SELECT user_id, name, chat_id, message_id, text FROM ticket_reporters WHERE ticket_id = $1 ORDER BY joined_at",
        )
        .bind(ticket.get())
        .fetch_all(&self.pool)
        .await
        .ctx("reading a ticket's reporters")?;
        rows.iter()
            .map(|r| {
                let c = "reading a ticket's reporters";
                Ok(CoReporter {
                    who: Actor::new(r.try_get(0).ctx(c)?, r.try_get::<String, _>(1).ctx(c)?),
                    chat_id: r.try_get(2).ctx(c)?,
                    message_id: r.try_get(3).ctx(c)?,
                    text: r.try_get(4).ctx(c)?,
                })
            })
            .collect()
    }
}

impl Tx {
    /// Add a reporter to a ticket, with their report (message id and words)
    /// unless they pressed the button. False if they are on it already.
    pub async fn add_co_reporter(
        &mut self,
        ticket: TicketId,
        who: &Actor,
        chat_id: i64,
        report: Option<(i64, &str)>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO ticket_reporters (ticket_id, user_id, name, chat_id, message_id, joined_at, text)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (ticket_id, user_id) DO NOTHING",
        )
        .bind(ticket.get())
        .bind(who.id)
        .bind(&who.name)
        .bind(chat_id)
        .bind(report.map(|(m, _)| m))
        .bind(ms(now))
        .bind(report.map(|(_, text)| text))
        .execute(&mut *self.tx)
        .await
        .ctx("adding a reporter")?;
        Ok(done.rows_affected() == 1)
    }

    /// How many owners reported it: the first, and the others.
    pub async fn reporter_count(&mut self, ticket: TicketId) -> Result<i64> {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM ticket_reporters WHERE ticket_id = $1")
            .bind(ticket.get())
            .fetch_one(&mut *self.tx)
            .await
            .ctx("counting reporters")?
            .try_get(0)
            .ctx("counting reporters")?;
        Ok(n + 1)
    }

    /// Take a reporter off a ticket (`/split`). False if they were not on it.
    pub async fn remove_co_reporter(&mut self, ticket: TicketId, user: i64) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM ticket_reporters WHERE ticket_id = $1 AND user_id = $2")
                .bind(ticket.get())
                .bind(user)
                .execute(&mut *self.tx)
                .await
                .ctx("removing a reporter")?;
        Ok(done.rows_affected() == 1)
    }
}
