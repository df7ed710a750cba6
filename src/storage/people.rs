//! People the desk knows: everyone it has seen (for names and `@username`s),
//! staff, owners with their rooms and private-ticket context, the private chats
//! it may write to, and `/room` requests waiting for staff.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::{Context, Result, Store, Tx, from_ms, ms};
use crate::domain::Location;
use crate::domain::ticket::{Actor, TicketId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub user_id: i64,
    pub name: String,
    pub location: Option<Location>,
    /// Staff confirmed the room: only then is it used. (Requests waiting for
    /// staff live in `room_requests`, one row each.)
    pub confirmed: bool,
    pub context_ticket: Option<TicketId>,
    pub context_until: Option<DateTime<Utc>>,
}

impl Owner {
    pub fn confirmed_location(&self) -> Option<&Location> {
        self.location.as_ref().filter(|_| self.confirmed)
    }
}

/// One `/room` registration, as staff decide it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRequest {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub location: Option<Location>,
    /// 'pending' | 'confirmed' | 'rejected' | 'superseded'
    pub status: String,
    /// The estate the room is in (`''` without `[[estate]]`).
    pub estate: String,
}

/// What pressing ✅ or ❌ under a room request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomDecision {
    /// This request was pending and is now decided.
    Decided(RoomRequest),
    /// The owner asked again since; this request changes nothing.
    Superseded(RoomRequest),
    /// Someone already decided it (a second press).
    AlreadyDecided(RoomRequest),
    NotFound,
}

impl Store {
    /// Remember who someone is, so `/transfer @name` can find them.
    pub async fn seen(
        &self,
        user: &Actor,
        username: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO people (user_id, username, name, seen_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id) DO UPDATE SET username = excluded.username, name = excluded.name, seen_at = excluded.seen_at",
        )
        .bind(user.id)
        .bind(username.map(|u| u.trim_start_matches('@').to_lowercase()))
        .bind(&user.name)
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .ctx("remembering a person")?;
        Ok(())
    }

    /// `user` wrote to the bot in private, so the bot may write to them there.
    pub async fn remember_private_chat(&self, user: i64, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO private_chats (user_id, since) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user)
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .ctx("remembering a private chat")?;
        Ok(())
    }

    pub async fn has_private_chat(&self, user: i64) -> Result<bool> {
        has_private_chat(&self.reader, user).await
    }

    /// Someone by user id or `@username`, under the name staff know them by: the
    /// name an admin gave with `/staff_add ID 名字`, else the one they last spoke
    /// under. `None` if nobody knows a name for them.
    pub async fn person(&self, who: &str) -> Result<Option<Actor>> {
        let who = who.trim();
        let id = if let Some(name) = who.strip_prefix('@') {
            match sqlx::query("SELECT user_id FROM people WHERE username = $1")
                .bind(name.to_lowercase())
                .fetch_optional(&self.pool)
                .await
                .ctx("finding a person")?
            {
                Some(r) => r.try_get::<i64, _>(0).ctx("reading people")?,
                None => return Ok(None),
            }
        } else if let Ok(id) = who.parse::<i64>() {
            id
        } else {
            return Ok(None);
        };
        Ok(self
            .display_name(id)
            .await?
            .map(|name| Actor::new(id, name)))
    }

    /// The name to show for `user`: given by an admin, else as last seen.
    pub async fn display_name(&self, user: i64) -> Result<Option<String>> {
        display_name(&self.reader, user).await
    }

    pub async fn add_staff(
        &self,
        user_id: i64,
        name: Option<&str>,
        by: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO staff (user_id, name, added_by, added_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id) DO UPDATE SET name = COALESCE(excluded.name, staff.name)
             WHERE excluded.name IS NOT NULL AND excluded.name IS DISTINCT FROM staff.name",
        )
        .bind(user_id)
        .bind(name)
        .bind(by)
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .ctx("adding staff")?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn remove_staff(&self, user_id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM staff WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await
            .ctx("removing staff")?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn is_staff(&self, user_id: i64) -> Result<bool> {
        is_staff(&self.reader, user_id).await
    }

    pub async fn staff(&self) -> Result<Vec<(i64, Option<String>)>> {
        let rows = sqlx::query("SELECT user_id, name FROM staff ORDER BY user_id")
            .fetch_all(&self.reader)
            .await
            .ctx("listing staff")?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0).ctx("reading staff")?,
                    r.try_get(1).ctx("reading staff")?,
                ))
            })
            .collect()
    }

    pub async fn owner(&self, user_id: i64) -> Result<Option<Owner>> {
        owner(&self.reader, user_id).await
    }

    /// After `/start t<N>`, the owner's next private messages belong to ticket N.
    pub async fn set_owner_context(
        &self,
        user: &Actor,
        ticket: TicketId,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO owners (user_id, name, status, requested_at, context_ticket, context_until)
             VALUES ($1, $2, 'none', $3, $4, $5)
             ON CONFLICT (user_id) DO UPDATE SET context_ticket = excluded.context_ticket,
                 context_until = excluded.context_until",
        )
        .bind(user.id)
        .bind(&user.name)
        .bind(ms(now))
        .bind(ticket.get())
        .bind(ms(until))
        .execute(&self.pool)
        .await
        .ctx("remembering a private ticket chat")?;
        Ok(())
    }
}

impl Tx {
    /// Whether the bot may write to `user` in private, read inside this transaction.
    pub async fn has_private_chat(&mut self, user: i64) -> Result<bool> {
        has_private_chat(&mut *self.tx, user).await
    }

    /// The name to show for `user`, read inside this transaction.
    pub async fn display_name(&mut self, user: i64) -> Result<Option<String>> {
        display_name(&mut *self.tx, user).await
    }

    /// Whether `user_id` is staff, read inside this transaction.
    pub async fn is_staff(&mut self, user_id: i64) -> Result<bool> {
        is_staff(&mut *self.tx, user_id).await
    }

    /// An owner as this transaction sees them (a room it just confirmed included).
    pub async fn owner(&mut self, user_id: i64) -> Result<Option<Owner>> {
        owner(&mut *self.tx, user_id).await
    }

    /// An owner asks to register a room. It stays untrusted until staff confirm
    /// this very request; the owner's earlier pending requests are superseded, so
    /// their buttons can no longer confirm anything. Returns the request's number.
    pub async fn request_room(
        &mut self,
        user: &Actor,
        estate: &str,
        location: &Location,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        sqlx::query(
            "UPDATE room_requests SET status = 'superseded', decided_at = $2 WHERE user_id = $1 AND status = 'pending'",
        )
        .bind(user.id)
        .bind(ms(now))
        .execute(&mut *self.tx)
        .await
        .ctx("superseding earlier room requests")?;
        sqlx::query(
            "INSERT INTO room_requests (user_id, name, building, unit, room, status, requested_at, estate)
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) RETURNING id",
        )
        .bind(user.id)
        .bind(&user.name)
        .bind(location.building.as_deref())
        .bind(location.unit.as_deref())
        .bind(location.room.as_deref())
        .bind(ms(now))
        .bind(estate)
        .fetch_one(&mut *self.tx)
        .await
        .ctx("registering a room")?
        .try_get::<i64, _>(0)
        .ctx("reading a room request id")
    }

    /// Staff approve or reject room request `id`, the one their button was shown
    /// with. Only a pending request changes; a confirmed one becomes the owner's
    /// trusted room. Pressing twice, or on a superseded request, changes nothing.
    pub async fn decide_room(
        &mut self,
        id: i64,
        confirm: bool,
        by: i64,
        now: DateTime<Utc>,
    ) -> Result<RoomDecision> {
        let status = if confirm { "confirmed" } else { "rejected" };
        let changed = sqlx::query(
            "UPDATE room_requests SET status = $2, decided_by = $3, decided_at = $4 WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(status)
        .bind(by)
        .bind(ms(now))
        .execute(&mut *self.tx)
        .await
        .ctx("deciding a room")?
        .rows_affected()
            == 1;
        let Some(row) = sqlx::query(
            "SELECT id, user_id, name, building, unit, room, status, estate FROM room_requests WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await
        .ctx("reading a room request")?
        else {
            return Ok(RoomDecision::NotFound);
        };
        let c = "reading a room request";
        let request = RoomRequest {
            id: row.try_get(0).ctx(c)?,
            user_id: row.try_get(1).ctx(c)?,
            name: row.try_get(2).ctx(c)?,
            location: Location::new(
                row.try_get(3).ctx(c)?,
                row.try_get(4).ctx(c)?,
                row.try_get(5).ctx(c)?,
            ),
            status: row.try_get(6).ctx(c)?,
            estate: row.try_get(7).ctx(c)?,
        };
        if !changed {
            return Ok(if request.status == "superseded" {
                RoomDecision::Superseded(request)
            } else {
                RoomDecision::AlreadyDecided(request)
            });
        }
        if confirm {
            let loc = request.location.as_ref();
            sqlx::query(
                "INSERT INTO owners (user_id, name, building, unit, room, status, requested_at, decided_by, decided_at, estate)
                 VALUES ($1, $2, $3, $4, $5, 'confirmed', $6, $7, $6, $8)
                 ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, building = excluded.building,
                     unit = excluded.unit, room = excluded.room, status = 'confirmed',
                     decided_by = excluded.decided_by, decided_at = excluded.decided_at,
                     estate = excluded.estate",
            )
            .bind(request.user_id)
            .bind(&request.name)
            .bind(loc.and_then(|l| l.building.as_deref()))
            .bind(loc.and_then(|l| l.unit.as_deref()))
            .bind(loc.and_then(|l| l.room.as_deref()))
            .bind(ms(now))
            .bind(by)
            .bind(&request.estate)
            .execute(&mut *self.tx)
            .await
            .ctx("confirming a room")?;
        }
        Ok(RoomDecision::Decided(request))
    }
}

async fn has_private_chat<'e>(db: impl Executor<'e, Database = Any>, user: i64) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM private_chats WHERE user_id = $1")
            .bind(user)
            .fetch_optional(db)
            .await
            .ctx("checking a private chat")?
            .is_some(),
    )
}

async fn display_name<'e>(
    db: impl Executor<'e, Database = Any>,
    user: i64,
) -> Result<Option<String>> {
    let row = sqlx::query(
        "SELECT s.name FROM staff s WHERE s.user_id = $1 AND s.name IS NOT NULL AND s.name <> ''
         UNION ALL
         SELECT p.name FROM people p WHERE p.user_id = $1",
    )
    .bind(user)
    .fetch_all(db)
    .await
    .ctx("finding a name")?;
    row.first()
        .map(|r| r.try_get::<String, _>(0).ctx("reading a name"))
        .transpose()
}

async fn is_staff<'e>(db: impl Executor<'e, Database = Any>, user_id: i64) -> Result<bool> {
    Ok(sqlx::query("SELECT 1 FROM staff WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(db)
        .await
        .ctx("checking staff")?
        .is_some())
}

async fn owner<'e>(db: impl Executor<'e, Database = Any>, user_id: i64) -> Result<Option<Owner>> {
    sqlx::query(
        "SELECT user_id, name, building, unit, room, status, context_ticket, context_until FROM owners WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(db)
    .await
    .ctx("reading an owner")?
    .map(|r| owner_from_row(&r))
    .transpose()
}

fn owner_from_row(r: &AnyRow) -> Result<Owner> {
    let c = "reading an owner";
    let status: String = r.try_get(5).ctx(c)?;
    Ok(Owner {
        user_id: r.try_get(0).ctx(c)?,
        name: r.try_get(1).ctx(c)?,
        location: Location::new(
            r.try_get(2).ctx(c)?,
            r.try_get(3).ctx(c)?,
            r.try_get(4).ctx(c)?,
        ),
        confirmed: status == "confirmed",
        context_ticket: r
            .try_get::<Option<i64>, _>(6)
            .ctx(c)?
            .and_then(TicketId::new),
        context_until: r.try_get::<Option<i64>, _>(7).ctx(c)?.map(from_ms),
    })
}
