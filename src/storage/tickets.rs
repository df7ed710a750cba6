//! Tickets and their audit log (`ticket_events`).
//!
//! A ticket is inserted once per message that opened it (keyed by chat and
//! message), and saved only if nobody changed it since it was read (its version):
//! two claims at once, one wins.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};
use std::str::FromStr;

use super::{Context, Result, StorageError, Store, Tx, from_ms, ms};
use crate::domain::ticket::{
    Actor, EventKind, EventType, NewTicket, Priority, Rating, Status, Ticket, TicketId,
};
use crate::domain::{Intent, Location};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketFilter {
    Active,
    AssignedTo(i64),
    ReportedBy(i64),
    Overdue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub kind: EventType,
    pub detail: Option<String>,
}

impl Store {
    pub async fn ticket(&self, id: TicketId) -> Result<Option<Ticket>> {
        ticket(&self.reader, id).await
    }

    /// The reporter's latest active ticket in this chat since `since` that has no
    /// room yet (a group's ticket knows only its building): a follow-up
    /// "是3栋501" completes it.
    pub async fn ticket_missing_location(
        &self,
        reporter: i64,
        chat_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Option<Ticket>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets
             WHERE reporter_id = $1 AND source_chat_id = $2 AND created_at >= $3
               AND status IN ('open', 'claimed') AND room IS NULL
             ORDER BY id DESC LIMIT 1"
        );
        sqlx::query(&sql)
            .bind(reporter)
            .bind(chat_id)
            .bind(ms(since))
            .fetch_optional(&self.pool)
            .await
            .ctx("finding a ticket to complete")?
            .map(|r| ticket_from_row(&r))
            .transpose()
    }

    /// The reporter's newest active ticket in this chat of this intent and
    /// category since `since`: a repeat of the same report joins it.
    pub async fn active_ticket_like(
        &self,
        reporter: i64,
        chat_id: i64,
        intent: Intent,
        category: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<Option<Ticket>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets
             WHERE reporter_id = $1 AND source_chat_id = $2 AND intent = $3 AND COALESCE(category, '') = $4
               AND created_at >= $5 AND status IN ('open', 'claimed')
             ORDER BY id DESC LIMIT 1"
        );
        sqlx::query(&sql)
            .bind(reporter)
            .bind(chat_id)
            .bind(intent.as_str())
            .bind(category.unwrap_or(""))
            .bind(ms(since))
            .fetch_optional(&self.reader)
            .await
            .ctx("finding a ticket a report repeats")?
            .map(|r| ticket_from_row(&r))
            .transpose()
    }

    /// Times `actor` reported again into ticket `id` since `since`.
    pub async fn repeats_by(&self, id: TicketId, actor: i64, since: DateTime<Utc>) -> Result<i64> {
        sqlx::query(
            "SELECT COUNT(*) FROM ticket_events WHERE ticket_id = $1 AND actor_id = $2 AND kind = $4 AND at >= $3",
        )
        .bind(id.get())
        .bind(actor)
        .bind(ms(since))
        .bind(EventType::Repeated.as_str())
        .fetch_one(&self.reader)
        .await
        .ctx("counting repeated reports")?
        .try_get::<i64, _>(0)
        .ctx("counting repeated reports")
    }

    /// The reporter's newest active ticket anywhere, if any.
    pub async fn latest_active_ticket_of(&self, reporter: i64) -> Result<Option<Ticket>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE reporter_id = $1 AND status IN ('open', 'claimed')
             ORDER BY id DESC LIMIT 1"
        );
        sqlx::query(&sql)
            .bind(reporter)
            .fetch_optional(&self.reader)
            .await
            .ctx("finding an owner's latest ticket")?
            .map(|r| ticket_from_row(&r))
            .transpose()
    }

    /// Tickets opened since `since` by `reporter`.
    pub async fn tickets_opened_by(&self, reporter: i64, since: DateTime<Utc>) -> Result<i64> {
        sqlx::query("SELECT COUNT(*) FROM tickets WHERE reporter_id = $1 AND created_at >= $2")
            .bind(reporter)
            .bind(ms(since))
            .fetch_one(&self.reader)
            .await
            .ctx("counting an owner's tickets")?
            .try_get::<i64, _>(0)
            .ctx("counting an owner's tickets")
    }

    /// Ordinary (not urgent) tickets opened from `chat_id` since `since`.
    pub async fn ordinary_tickets_from(&self, chat_id: i64, since: DateTime<Utc>) -> Result<i64> {
        sqlx::query(
            "SELECT COUNT(*) FROM tickets WHERE source_chat_id = $1 AND created_at >= $2 AND priority = 'normal'",
        )
        .bind(chat_id)
        .bind(ms(since))
        .fetch_one(&self.reader)
        .await
        .ctx("counting a chat's tickets")?
        .try_get::<i64, _>(0)
        .ctx("counting a chat's tickets")
    }

    pub async fn tickets(
        &self,
        filter: TicketFilter,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Ticket>> {
        self.tickets_in(None, filter, now, limit).await
    }

    /// [`Store::tickets`] of `estates` only (`None`: every estate).
    pub async fn tickets_in(
        &self,
        estates: Option<&[String]>,
        filter: TicketFilter,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Ticket>> {
        let (cond, arg) = match filter {
            TicketFilter::Active => ("status IN ('open', 'claimed')", 0),
            TicketFilter::AssignedTo(user) => {
                ("status IN ('open', 'claimed') AND assignee_id = $1", user)
            }
            TicketFilter::ReportedBy(user) => ("reporter_id = $1", user),
            TicketFilter::Overdue => (
                "((status = 'open' AND respond_by < $1) OR (status = 'claimed' AND resolve_by < $1))",
                ms(now),
            ),
        };
        let uses_arg = cond.contains("$1");
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE {cond}{} ORDER BY id DESC LIMIT {}",
            super::report::in_estates("estate", if uses_arg { 2 } else { 1 }, estates),
            limit.clamp(1, 500)
        );
        let mut q = sqlx::query(&sql);
        if uses_arg {
            q = q.bind(arg);
        }
        let q = super::report::bind_estates(q, estates);
        let rows = q.fetch_all(&self.reader).await.ctx("listing tickets")?;
        rows.iter().map(ticket_from_row).collect()
    }

    pub async fn events(&self, id: TicketId) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query(
            "SELECT at, actor_id, actor_name, kind, detail FROM ticket_events WHERE ticket_id = $1 ORDER BY id",
        )
        .bind(id.get())
        .fetch_all(&self.reader)
        .await
        .ctx("reading a ticket's history")?;
        rows.iter()
            .map(|r| {
                Ok(EventRecord {
                    at: from_ms(r.try_get(0).ctx("reading events")?),
                    actor_id: r.try_get(1).ctx("reading events")?,
                    actor_name: r.try_get(2).ctx("reading events")?,
                    kind: r.try_get::<String, _>(3).ctx("reading events")?.parse()?,
                    detail: r.try_get(4).ctx("reading events")?,
                })
            })
            .collect()
    }
}

impl Tx {
    /// A ticket as this transaction sees it (one it just opened or saved included).
    pub async fn ticket(&mut self, id: TicketId) -> Result<Option<Ticket>> {
        ticket(&mut *self.tx, id).await
    }

    /// Insert a new ticket. `None` if this message already opened one (a
    /// re-delivered update): the caller then does nothing more.
    pub async fn insert_ticket(&mut self, t: &NewTicket) -> Result<Option<TicketId>> {
        let loc = t.location.as_ref();
        let row = sqlx::query(
            "INSERT INTO tickets (source_chat_id, source_message_id, reporter_id, reporter_name, text, intent,
                 category, building, unit, room, location_source, priority, status, respond_by, resolve_by,
                 created_at, updated_at, estate)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', $13, $14, $15, $15, $16)
             ON CONFLICT (source_chat_id, source_message_id) DO NOTHING
             RETURNING id",
        )
        .bind(t.source_chat)
        .bind(t.source_message)
        .bind(t.reporter.id)
        .bind(&t.reporter.name)
        .bind(&t.text)
        .bind(t.intent.as_str())
        .bind(t.category.as_deref())
        .bind(loc.and_then(|l| l.building.as_deref()))
        .bind(loc.and_then(|l| l.unit.as_deref()))
        .bind(loc.and_then(|l| l.room.as_deref()))
        .bind(t.location_source)
        .bind(t.priority.as_str())
        .bind(ms(t.respond_by))
        .bind(ms(t.resolve_by))
        .bind(ms(t.created_at))
        .bind(&t.estate)
        .fetch_optional(&mut *self.tx)
        .await
        .ctx("opening a ticket")?;
        match row {
            None => Ok(None),
            Some(r) => {
                let id: i64 = r.try_get(0).ctx("reading a new ticket id")?;
                Ok(Some(TicketId::new(id).ok_or_else(|| {
                    StorageError::Corrupt(format!("ticket id {id}"))
                })?))
            }
        }
    }

    /// Store a changed ticket if nobody changed it since it was read (its version).
    /// False means someone else won: reload and decide again.
    pub async fn save_ticket(&mut self, t: &Ticket, now: DateTime<Utc>) -> Result<bool> {
        let loc = t.location.as_ref();
        let done = sqlx::query(
            "UPDATE tickets SET status = $1, assignee_id = $2, assignee_name = $3, rating = $4, follow_up = $5,
                 building = $6, unit = $7, room = $8, updated_at = $9, version = version + 1, round = $12,
                 intent = $13, category = $14, priority = $15
             WHERE id = $10 AND version = $11",
        )
        .bind(t.status.as_str())
        .bind(t.assignee.as_ref().map(|a| a.id))
        .bind(t.assignee.as_ref().map(|a| a.name.as_str()))
        .bind(t.rating.map(|r| i64::from(r.stars())))
        .bind(i64::from(t.follow_up))
        .bind(loc.and_then(|l| l.building.as_deref()))
        .bind(loc.and_then(|l| l.unit.as_deref()))
        .bind(loc.and_then(|l| l.room.as_deref()))
        .bind(ms(now))
        .bind(t.id.get())
        .bind(t.version)
        .bind(t.round)
        .bind(t.intent.as_str())
        .bind(t.category.as_deref())
        .bind(t.priority.as_str())
        .execute(&mut *self.tx)
        .await
        .ctx("updating a ticket")?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn add_event(
        &mut self,
        id: TicketId,
        actor: Option<&Actor>,
        event: &EventKind,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO ticket_events (ticket_id, at, actor_id, actor_name, kind, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.get())
        .bind(ms(now))
        .bind(actor.map(|a| a.id))
        .bind(actor.map(|a| a.name.as_str()))
        .bind(event.kind().as_str())
        .bind(event.detail())
        .execute(&mut *self.tx)
        .await
        .ctx("recording a ticket event")?;
        self.note_times(id, event.kind(), now).await
    }

    /// The times the manager's figures read, kept on the ticket with the event.
    async fn note_times(&mut self, id: TicketId, kind: EventType, at: DateTime<Utc>) -> Result<()> {
        let query = match kind {
            EventType::Claimed => sqlx::query(
                "UPDATE tickets SET claimed_at = COALESCE(claimed_at, $1) WHERE id = $2",
            )
            .bind(ms(at)),
            EventType::Done => {
                sqlx::query("UPDATE tickets SET finished_at = $1 WHERE id = $2").bind(ms(at))
            }
            EventType::Reopened => {
                sqlx::query("UPDATE tickets SET reopens = reopens + 1 WHERE id = $1")
            }
            _ => return Ok(()),
        };
        query
            .bind(id.get())
            .execute(&mut *self.tx)
            .await
            .ctx("recording a ticket's times")?;
        Ok(())
    }

    /// Record an event caused by one message, once: false if that message's
    /// event is already recorded (the message is being handled again).
    pub async fn add_event_from(
        &mut self,
        id: TicketId,
        actor: &Actor,
        event: &EventKind,
        source_key: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO ticket_events (ticket_id, at, actor_id, actor_name, kind, detail, source_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (source_key) DO NOTHING",
        )
        .bind(id.get())
        .bind(ms(now))
        .bind(actor.id)
        .bind(actor.name.as_str())
        .bind(event.kind().as_str())
        .bind(event.detail())
        .bind(source_key)
        .execute(&mut *self.tx)
        .await
        .ctx("recording a ticket event")?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        self.note_times(id, event.kind(), now).await?;
        Ok(true)
    }
}

async fn ticket<'e>(db: impl Executor<'e, Database = Any>, id: TicketId) -> Result<Option<Ticket>> {
    let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1");
    sqlx::query(&sql)
        .bind(id.get())
        .fetch_optional(db)
        .await
        .ctx("reading a ticket")?
        .map(|r| ticket_from_row(&r))
        .transpose()
}

pub(super) const TICKET_COLUMNS: &str = "id, source_chat_id, source_message_id, reporter_id, reporter_name, text, intent, category,
    building, unit, room, priority, status, assignee_id, assignee_name, rating, follow_up, respond_by, resolve_by,
    created_at, updated_at, version, round, upset, estate";

pub(super) fn ticket_from_row(r: &AnyRow) -> Result<Ticket> {
    let get_i = |i: usize| r.try_get::<i64, _>(i).ctx("reading a ticket");
    let get_s = |i: usize| r.try_get::<String, _>(i).ctx("reading a ticket");
    let get_os = |i: usize| r.try_get::<Option<String>, _>(i).ctx("reading a ticket");
    let id = get_i(0)?;
    let intent = get_s(6)?;
    let assignee_id = r.try_get::<Option<i64>, _>(13).ctx("reading a ticket")?;
    let assignee_name = get_os(14)?;
    let rating = r.try_get::<Option<i64>, _>(15).ctx("reading a ticket")?;
    Ok(Ticket {
        id: TicketId::new(id).ok_or_else(|| StorageError::Corrupt(format!("ticket id {id}")))?,
        source_chat: get_i(1)?,
        source_message: get_i(2)?,
        reporter: Actor::new(get_i(3)?, get_s(4)?),
        text: get_s(5)?,
        intent: serde_json::from_value::<Intent>(serde_json::Value::String(intent.clone()))
            .map_err(|_| StorageError::Corrupt(format!("intent '{intent}'")))?,
        category: get_os(7)?,
        location: Location::new(get_os(8)?, get_os(9)?, get_os(10)?),
        priority: Priority::from_str(&get_s(11)?)?,
        status: Status::from_str(&get_s(12)?)?,
        assignee: assignee_id.map(|id| Actor::new(id, assignee_name.unwrap_or_default())),
        rating: rating.map(Rating::new).transpose()?,
        follow_up: get_i(16)? != 0,
        respond_by: from_ms(get_i(17)?),
        resolve_by: from_ms(get_i(18)?),
        created_at: from_ms(get_i(19)?),
        updated_at: from_ms(get_i(20)?),
        version: get_i(21)?,
        round: get_i(22)?,
        upset: get_i(23)? != 0,
        estate: get_s(24)?,
    })
}
