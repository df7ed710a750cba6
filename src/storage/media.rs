//! Photos and voice messages kept with tickets, and messages waiting for staff
//! to sort them (a voice message the desk cannot read).

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::tickets::{TICKET_COLUMNS, ticket_from_row};
use super::{Context, Result, StorageError, Store, Tx, ms};
use crate::domain::media::{Media, MediaKind};
use crate::domain::ticket::{Actor, Ticket, TicketId};

/// Whose a ticket's photo is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaRole {
    /// The owner's, with the report or just after it.
    Report,
    /// Staff's, of the finished job.
    Finished,
}

impl MediaRole {
    fn as_str(self) -> &'static str {
        match self {
            MediaRole::Report => "report",
            MediaRole::Finished => "finished",
        }
    }
}

/// A photo or voice message kept with a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketMedia {
    pub id: i64,
    pub ticket: TicketId,
    pub media: Media,
    pub role: MediaRole,
    pub album: Option<String>,
}

/// A message staff sort by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsorted {
    pub id: i64,
    pub source_chat: i64,
    pub source_message: i64,
    pub sender: Actor,
    pub text: String,
    pub media: Option<Media>,
    /// 'open' | 'ticket' | 'answered' | 'ignored'
    pub state: String,
    pub ticket: Option<TicketId>,
}

const UNSORTED_COLUMNS: &str = "id, source_chat_id, source_message_id, sender_id, sender_name, text, kind, file_id, state, ticket_id";

fn unsorted_from(r: &AnyRow) -> Result<Unsorted> {
    let c = "reading an unsorted message";
    let kind: String = r.try_get(6).ctx(c)?;
    let file: Option<String> = r.try_get(7).ctx(c)?;
    let media = match file {
        Some(f) => Some(
            MediaKind::parse(&kind)
                .and_then(|k| Media::new(k, f))
                .ok_or_else(|| StorageError::Corrupt(format!("unsorted kind '{kind}'")))?,
        ),
        None => None,
    };
    let ticket: Option<i64> = r.try_get(9).ctx(c)?;
    Ok(Unsorted {
        id: r.try_get(0).ctx(c)?,
        source_chat: r.try_get(1).ctx(c)?,
        source_message: r.try_get(2).ctx(c)?,
        sender: Actor::new(r.try_get(3).ctx(c)?, r.try_get::<String, _>(4).ctx(c)?),
        text: r.try_get(5).ctx(c)?,
        media,
        state: r.try_get(8).ctx(c)?,
        ticket: ticket.and_then(TicketId::new),
    })
}

impl Store {
    /// The photos and voice messages of a ticket, oldest first.
    pub async fn ticket_media(&self, ticket: TicketId) -> Result<Vec<TicketMedia>> {
        let rows = sqlx::query(
            "SELECT id, kind, file_id, role, album FROM ticket_media WHERE ticket_id = $1 ORDER BY id",
        )
        .bind(ticket.get())
        .fetch_all(&self.pool)
        .await
        .ctx("reading a ticket's photos")?;
        rows.iter()
            .map(|r| {
                let c = "reading a ticket's photos";
                let kind: String = r.try_get(1).ctx(c)?;
                let role: String = r.try_get(3).ctx(c)?;
                Ok(TicketMedia {
                    id: r.try_get(0).ctx(c)?,
                    ticket,
                    media: MediaKind::parse(&kind)
                        .and_then(|k| Media::new(k, r.try_get::<String, _>(2).ok()?))
                        .ok_or_else(|| StorageError::Corrupt(format!("media kind '{kind}'")))?,
                    role: if role == "finished" {
                        MediaRole::Finished
                    } else {
                        MediaRole::Report
                    },
                    album: r.try_get(4).ctx(c)?,
                })
            })
            .collect()
    }

    /// How many photos and voice messages were kept with `ticket` since `since`.
    pub async fn media_since(&self, ticket: TicketId, since: DateTime<Utc>) -> Result<i64> {
        sqlx::query("SELECT COUNT(*) FROM ticket_media WHERE ticket_id = $1 AND created_at >= $2")
            .bind(ticket.get())
            .bind(ms(since))
            .fetch_one(&self.pool)
            .await
            .ctx("counting a ticket's photos")?
            .try_get(0)
            .ctx("counting a ticket's photos")
    }

    /// The reporter's newest active ticket from this chat opened since `since`:
    /// a photo or voice message right after a report belongs to it.
    pub async fn recent_ticket_of(
        &self,
        reporter: i64,
        chat_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Option<Ticket>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets
             WHERE reporter_id = $1 AND source_chat_id = $2 AND created_at >= $3
               AND status IN ('open', 'claimed')
             ORDER BY id DESC LIMIT 1"
        );
        sqlx::query(&sql)
            .bind(reporter)
            .bind(chat_id)
            .bind(ms(since))
            .fetch_optional(&self.pool)
            .await
            .ctx("finding a recent ticket")?
            .map(|r| ticket_from_row(&r))
            .transpose()
    }

    pub async fn unsorted(&self, id: i64) -> Result<Option<Unsorted>> {
        let sql = format!("SELECT {UNSORTED_COLUMNS} FROM unsorted WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .ctx("reading an unsorted message")?
            .map(|r| unsorted_from(&r))
            .transpose()
    }

    /// The sender's newest message in this chat still waiting for staff, since `since`.
    pub async fn open_unsorted_of(
        &self,
        sender: i64,
        chat_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Option<Unsorted>> {
        let sql = format!(
            "SELECT {UNSORTED_COLUMNS} FROM unsorted
             WHERE sender_id = $1 AND source_chat_id = $2 AND state = 'open' AND created_at >= $3
             ORDER BY id DESC LIMIT 1"
        );
        sqlx::query(&sql)
            .bind(sender)
            .bind(chat_id)
            .bind(ms(since))
            .fetch_optional(&self.pool)
            .await
            .ctx("finding an unsorted message")?
            .map(|r| unsorted_from(&r))
            .transpose()
    }

    /// How many messages from this sender in this chat went to staff unsorted
    /// since `since` (the owner is asked for text once, not after every voice).
    pub async fn unsorted_count(
        &self,
        sender: i64,
        chat_id: i64,
        since: DateTime<Utc>,
    ) -> Result<i64> {
        sqlx::query(
            "SELECT COUNT(*) FROM unsorted WHERE sender_id = $1 AND source_chat_id = $2 AND created_at >= $3",
        )
        .bind(sender)
        .bind(chat_id)
        .bind(ms(since))
        .fetch_one(&self.pool)
        .await
        .ctx("counting unsorted messages")?
        .try_get(0)
        .ctx("counting unsorted messages")
    }
}

impl Tx {
    /// Keep `media` with ticket `ticket`. False if this message was kept already
    /// (a re-delivered update).
    #[allow(clippy::too_many_arguments)]
    pub async fn add_ticket_media(
        &mut self,
        ticket: TicketId,
        media: &Media,
        role: MediaRole,
        source: (i64, i64),
        album: Option<&str>,
        by: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO ticket_media (ticket_id, kind, file_id, role, source_chat_id, source_message_id, album, added_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (source_chat_id, source_message_id) DO NOTHING",
        )
        .bind(ticket.get())
        .bind(media.kind.as_str())
        .bind(media.file_id())
        .bind(role.as_str())
        .bind(source.0)
        .bind(source.1)
        .bind(album)
        .bind(by)
        .bind(ms(now))
        .execute(&mut *self.tx)
        .await
        .ctx("keeping a photo with a ticket")?;
        Ok(done.rows_affected() == 1)
    }

    /// Keep a message for staff to sort. `None` if it is kept already.
    pub async fn insert_unsorted(
        &mut self,
        source: (i64, i64),
        sender: &Actor,
        text: &str,
        media: Option<&Media>,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "INSERT INTO unsorted (source_chat_id, source_message_id, sender_id, sender_name, text, kind, file_id, state, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8)
             ON CONFLICT (source_chat_id, source_message_id) DO NOTHING
             RETURNING id",
        )
        .bind(source.0)
        .bind(source.1)
        .bind(sender.id)
        .bind(&sender.name)
        .bind(text)
        .bind(media.map(|m| m.kind.as_str()).unwrap_or("text"))
        .bind(media.map(|m| m.file_id()))
        .bind(ms(now))
        .fetch_optional(&mut *self.tx)
        .await
        .ctx("keeping an unsorted message")?;
        row.map(|r| r.try_get(0).ctx("reading an unsorted id"))
            .transpose()
    }

    /// Decide an open unsorted message: `state` is 'ticket' (with `ticket`),
    /// 'answered' or 'ignored'. False if someone decided it first.
    pub async fn decide_unsorted(
        &mut self,
        id: i64,
        state: &str,
        ticket: Option<TicketId>,
        by: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE unsorted SET state = $2, ticket_id = $3, decided_by = $4, decided_at = $5
             WHERE id = $1 AND state = 'open'",
        )
        .bind(id)
        .bind(state)
        .bind(ticket.map(TicketId::get))
        .bind(by)
        .bind(ms(now))
        .execute(&mut *self.tx)
        .await
        .ctx("deciding an unsorted message")?;
        Ok(done.rows_affected() == 1)
    }
}
