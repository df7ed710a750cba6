//! The database edge: every SQL statement of the project lives in this module.
//!
//! One set of portable SQL runs on SQLite (the embedded default) and PostgreSQL
//! (scale-out) through sqlx's `Any` driver: `$n` placeholders, `BIGINT` unix-millisecond
//! times, `ON CONFLICT`, `UPDATE … RETURNING`. The schemas in `migrations/sqlite` and
//! `migrations/postgres` differ only in how ids are generated.
//!
//! What several instances may race on is settled here, not in memory: ticket
//! updates check a version column (two claims at once: one wins), outbox rows are
//! leased with a conditional `UPDATE` (two workers never send the same row), and
//! scheduled jobs insert a `(job, slot)` key (a reminder fires once).

mod clocks;
mod corrections;
mod fees;
mod inbox;
mod media;
mod outbox;
mod records;
mod report;
mod state;

pub use corrections::Correction;
pub use fees::FeeImport;
pub use inbox::DeadLetter;
pub use media::{MediaRole, TicketMedia, Unsorted};
pub use outbox::{OutboxRow, OutboxStats};
pub use records::*;

use chrono::{DateTime, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::{AnyConnection, AnyPool, Executor, Row};
use std::str::FromStr;

use crate::domain::notice::{OutagePlan, Targets, Utility};
use crate::domain::ticket::{
    Actor, EventKind, Priority, Rating, Status, Ticket, TicketError, TicketId,
};
use crate::domain::{Intent, Location};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database error while {context}: {source}")]
    Db {
        context: &'static str,
        source: sqlx::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database url '{0}': use sqlite://FILE or postgres://…")]
    BadUrl(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Unsupported(&'static str),
}

impl From<TicketError> for StorageError {
    fn from(e: TicketError) -> Self {
        StorageError::Corrupt(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// A database URL fit for a log or an error: whatever a typo did to its shape
/// (`postgres//…`, `postgres:/…`, no scheme at all), everything between the first
/// `:` of the credentials and the `@` is replaced by `***`. Safety over looks: a
/// malformed URL may lose its user name too, never shows its password.
pub fn redact(url: &str) -> String {
    let Some(at) = url.rfind('@') else {
        return url.to_string();
    };
    let creds_start = url.find("://").map(|i| i + 3).unwrap_or(0);
    if creds_start > at {
        return url.to_string();
    }
    match url[creds_start..at].find(':') {
        Some(colon) => {
            let colon = creds_start + colon;
            format!("{}:***{}", &url[..colon], &url[at..])
        }
        None => url.to_string(),
    }
}

/// Adds what was being done to a sqlx error.
trait Context<T> {
    fn ctx(self, context: &'static str) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, sqlx::Error> {
    fn ctx(self, context: &'static str) -> Result<T> {
        self.map_err(|source| StorageError::Db { context, source })
    }
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(v).unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle to the database, cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// A write transaction: a change and the messages that report it commit together.
///
/// Begun and ended with plain `BEGIN`/`COMMIT`/`ROLLBACK` on a connection we hold,
/// not with sqlx's nested-transaction bookkeeping: when a statement or the commit
/// fails (a full disk, a constraint, a lost server), SQLite may or may not have
/// rolled back on its own. sqlx's counter then still believes a transaction is
/// open, turns the next `BEGIN` into a `SAVEPOINT` and a later failure's rollback
/// into `ROLLBACK TO`, which leaves a transaction open for good: everything after
/// it lives in a transaction that never commits, while the same connection reads
/// it back and owners are told it was recorded (tests/durability.rs shows it). So
/// a failure rolls back and, unless that rollback is known to have worked, the
/// connection is closed and the pool opens a fresh one.
pub struct Tx {
    tx: TxConn,
}

/// The connection of an open transaction; derefs to it so statements run on it.
struct TxConn(Option<PoolConnection<sqlx::Any>>);

impl std::ops::Deref for TxConn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.0
            .as_deref()
            .expect("a transaction's connection is held until it ends")
    }
}

impl std::ops::DerefMut for TxConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.0
            .as_deref_mut()
            .expect("a transaction's connection is held until it ends")
    }
}

impl Drop for TxConn {
    /// Dropped without a commit: an early return or an error. Roll back before the
    /// connection can serve anyone else; the task holds the connection until then.
    fn drop(&mut self) {
        let Some(mut conn) = self.0.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(e) = conn.execute("ROLLBACK").await {
                        tracing::warn!(error = %e, "rollback failed; replacing the database connection");
                        conn.close_on_drop();
                    }
                });
            }
            Err(_) => conn.close_on_drop(),
        }
    }
}

impl Store {
    /// Connect, create the SQLite file if needed, and bring the schema up to date.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if let Some(rest) = url.strip_prefix("sqlite:") {
            let mut url = format!("sqlite:{rest}");
            if !url.contains("mode=") && !url.contains(":memory:") {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str("mode=rwc");
            }
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Only the well-formed prefix: `postgres:/user:pw@host` would reach the
            // server with the password taken for a database name.
            (Backend::Postgres, url.to_string())
        } else {
            return Err(StorageError::BadUrl(redact(url)));
        };
        let options = AnyPoolOptions::new();
        let pool = match backend {
            // One connection: SQLite serialises writers anyway, and a single
            // connection can never meet SQLITE_BUSY on a lock upgrade.
            Backend::Sqlite => options
                .max_connections(1)
                // A store call made while a Tx is open would wait forever: fail loudly.
                .acquire_timeout(std::time::Duration::from_secs(10))
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        Ok(())
                    })
                })
                .connect(&url)
                .await
                .ctx("opening the SQLite database")?,
            Backend::Postgres => options
                .max_connections(8)
                .connect(&url)
                .await
                .ctx("connecting to PostgreSQL")?,
        };
        match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
        }
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool itself, for tests that provoke faults (`PRAGMA max_page_count`)
    /// and for diagnostics; the desk never uses it.
    #[doc(hidden)]
    pub fn raw_pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Start a write transaction. On SQLite it holds the only connection until it
    /// commits or drops: read what the change needs *before* `begin`, never call
    /// another `Store` method while a `Tx` is open.
    pub async fn begin(&self) -> Result<Tx> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .ctx("waiting for a database connection")?;
        // IMMEDIATE takes SQLite's write lock at once, so another process (a CLI
        // import beside the daemon) waits at BEGIN instead of failing mid-change.
        let begin = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        if let Err(e) = conn.execute(begin).await {
            conn.close_on_drop();
            return Err(StorageError::Db {
                context: "starting a transaction",
                source: e,
            });
        }
        Ok(Tx {
            tx: TxConn(Some(conn)),
        })
    }

    /// A consistent copy of a live SQLite database in `file` (`VACUUM INTO`: a
    /// snapshot taken inside one read transaction, while the daemon keeps
    /// writing). PostgreSQL databases are backed up with pg_dump.
    pub async fn backup_to(&self, file: &std::path::Path) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Err(StorageError::Unsupported(
                "guanjia backup 只复制 SQLite 数据库;PostgreSQL 请用 pg_dump 备份",
            ));
        }
        let path = file.to_string_lossy().replace('\'', "''");
        sqlx::raw_sql(&format!("VACUUM INTO '{path}'"))
            .execute(&self.pool)
            .await
            .ctx("copying the database")?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    // ---- inbox -----------------------------------------------------------------

    /// Store delivered updates before they are acknowledged. Returns the ids that
    /// are new; an id seen before (a re-delivery) is not handled again.
    pub async fn inbox_accept(
        &self,
        updates: &[(i64, String)],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>> {
        let mut tx = self.begin().await?;
        let mut fresh = Vec::with_capacity(updates.len());
        for (id, payload) in updates {
            let done = sqlx::query(
                "INSERT INTO inbox (update_id, payload, received_at) VALUES ($1, $2, $3) ON CONFLICT (update_id) DO NOTHING",
            )
            .bind(id)
            .bind(payload)
            .bind(ms(now))
            .execute(&mut *tx.tx)
            .await
            .ctx("storing an update")?;
            if done.rows_affected() == 1 {
                fresh.push(*id);
            }
        }
        tx.commit().await?;
        Ok(fresh)
    }

    /// Updates stored but not handled (a crash or failing handlers interrupted
    /// them), with the attempts already made: (update id, payload, attempts).
    pub async fn inbox_pending(&self) -> Result<Vec<(i64, String, i64)>> {
        let rows = sqlx::query(
            "SELECT update_id, payload, attempts FROM inbox WHERE done_at IS NULL ORDER BY update_id",
        )
        .fetch_all(&self.pool)
        .await
        .ctx("reading unhandled updates")?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0).ctx("reading the inbox")?,
                    r.try_get(1).ctx("reading the inbox")?,
                    r.try_get(2).ctx("reading the inbox")?,
                ))
            })
            .collect()
    }

    pub async fn inbox_done(&self, update_id: i64, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE inbox SET done_at = $2 WHERE update_id = $1")
            .bind(update_id)
            .bind(ms(now))
            .execute(&self.pool)
            .await
            .ctx("marking an update handled")?;
        Ok(())
    }

    /// Forget handled updates older than `before` (a re-delivery that late is not expected).
    pub async fn inbox_prune(&self, before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM inbox WHERE done_at IS NOT NULL AND done_at < $1")
            .bind(ms(before))
            .execute(&self.pool)
            .await
            .ctx("pruning the inbox")?;
        Ok(done.rows_affected())
    }

    // ---- buildings -------------------------------------------------------------

    pub async fn bind_building(
        &self,
        chat_id: i64,
        name: &str,
        source: &str,
        by: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO buildings (chat_id, name, source, bound_by, bound_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (chat_id) DO UPDATE SET name = excluded.name, source = excluded.source,
                 bound_by = excluded.bound_by, bound_at = excluded.bound_at",
        )
        .bind(chat_id)
        .bind(name)
        .bind(source)
        .bind(by)
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .ctx("binding a building group")?;
        Ok(())
    }

    pub async fn unbind_building(&self, chat_id: i64) -> Result<Option<String>> {
        let name = self.building_of(chat_id).await?;
        sqlx::query("DELETE FROM buildings WHERE chat_id = $1")
            .bind(chat_id)
            .execute(&self.pool)
            .await
            .ctx("unbinding a building group")?;
        Ok(name)
    }

    pub async fn building_of(&self, chat_id: i64) -> Result<Option<String>> {
        sqlx::query("SELECT name FROM buildings WHERE chat_id = $1")
            .bind(chat_id)
            .fetch_optional(&self.pool)
            .await
            .ctx("looking up a building group")?
            .map(|r| r.try_get::<String, _>(0))
            .transpose()
            .ctx("reading a building name")
    }

    pub async fn buildings(&self) -> Result<Vec<BuildingGroup>> {
        let rows =
            sqlx::query("SELECT chat_id, name, source FROM buildings ORDER BY name, chat_id")
                .fetch_all(&self.pool)
                .await
                .ctx("listing building groups")?;
        rows.iter()
            .map(|r| {
                Ok(BuildingGroup {
                    chat_id: r.try_get(0).ctx("reading buildings")?,
                    name: r.try_get(1).ctx("reading buildings")?,
                    source: r.try_get(2).ctx("reading buildings")?,
                })
            })
            .collect()
    }

    /// A group became a supergroup: its binding, its tickets and its queued
    /// messages follow the new chat id.
    pub async fn migrate_chat(&self, old: i64, new: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        for (sql, what) in [
            (
                "UPDATE buildings SET chat_id = $2 WHERE chat_id = $1",
                "moving a building binding",
            ),
            (
                "UPDATE tickets SET source_chat_id = $2 WHERE source_chat_id = $1",
                "moving tickets",
            ),
            (
                "UPDATE outbox SET chat_id = $2 WHERE chat_id = $1 AND state IN ('pending', 'sending')",
                "moving queued messages",
            ),
        ] {
            sqlx::query(sql)
                .bind(old)
                .bind(new)
                .execute(&mut *tx.tx)
                .await
                .ctx(what)?;
        }
        tx.commit().await
    }

    // ---- staff and owners ------------------------------------------------------

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
        Ok(
            sqlx::query("SELECT 1 FROM private_chats WHERE user_id = $1")
                .bind(user)
                .fetch_optional(&self.pool)
                .await
                .ctx("checking a private chat")?
                .is_some(),
        )
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
        let row = sqlx::query(
            "SELECT s.name FROM staff s WHERE s.user_id = $1 AND s.name IS NOT NULL AND s.name <> ''
             UNION ALL
             SELECT p.name FROM people p WHERE p.user_id = $1",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await
        .ctx("finding a name")?;
        row.first()
            .map(|r| r.try_get::<String, _>(0).ctx("reading a name"))
            .transpose()
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
        Ok(sqlx::query("SELECT 1 FROM staff WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
            .ctx("checking staff")?
            .is_some())
    }

    pub async fn staff(&self) -> Result<Vec<(i64, Option<String>)>> {
        let rows = sqlx::query("SELECT user_id, name FROM staff ORDER BY user_id")
            .fetch_all(&self.pool)
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
        sqlx::query(
            "SELECT user_id, name, building, unit, room, status, context_ticket, context_until FROM owners WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await
        .ctx("reading an owner")?
        .map(|r| owner_from_row(&r))
        .transpose()
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

    // ---- tickets ----------------------------------------------------------------

    pub async fn ticket(&self, id: TicketId) -> Result<Option<Ticket>> {
        let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await
            .ctx("reading a ticket")?
            .map(|r| ticket_from_row(&r))
            .transpose()
    }

    pub async fn ticket_by_source(&self, chat_id: i64, message_id: i64) -> Result<Option<Ticket>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE source_chat_id = $1 AND source_message_id = $2"
        );
        sqlx::query(&sql)
            .bind(chat_id)
            .bind(message_id)
            .fetch_optional(&self.pool)
            .await
            .ctx("reading a ticket by its message")?
            .map(|r| ticket_from_row(&r))
            .transpose()
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
            .fetch_optional(&self.pool)
            .await
            .ctx("finding a ticket a report repeats")?
            .map(|r| ticket_from_row(&r))
            .transpose()
    }

    /// Times `actor` reported again into ticket `id` since `since`.
    pub async fn repeats_by(&self, id: TicketId, actor: i64, since: DateTime<Utc>) -> Result<i64> {
        sqlx::query(
            "SELECT COUNT(*) FROM ticket_events WHERE ticket_id = $1 AND actor_id = $2 AND kind = 'repeated' AND at >= $3",
        )
        .bind(id.get())
        .bind(actor)
        .bind(ms(since))
        .fetch_one(&self.pool)
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
            .fetch_optional(&self.pool)
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
            .fetch_one(&self.pool)
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
        .fetch_one(&self.pool)
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
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE {cond} ORDER BY id DESC LIMIT {}",
            limit.clamp(1, 500)
        );
        let mut q = sqlx::query(&sql);
        if uses_arg {
            q = q.bind(arg);
        }
        let rows = q.fetch_all(&self.pool).await.ctx("listing tickets")?;
        rows.iter().map(ticket_from_row).collect()
    }

    pub async fn events(&self, id: TicketId) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query(
            "SELECT at, actor_id, actor_name, kind, detail FROM ticket_events WHERE ticket_id = $1 ORDER BY id",
        )
        .bind(id.get())
        .fetch_all(&self.pool)
        .await
        .ctx("reading a ticket's history")?;
        rows.iter()
            .map(|r| {
                Ok(EventRecord {
                    at: from_ms(r.try_get(0).ctx("reading events")?),
                    actor_id: r.try_get(1).ctx("reading events")?,
                    actor_name: r.try_get(2).ctx("reading events")?,
                    kind: r.try_get(3).ctx("reading events")?,
                    detail: r.try_get(4).ctx("reading events")?,
                })
            })
            .collect()
    }

    pub async fn count_tickets(&self) -> Result<i64> {
        sqlx::query("SELECT COUNT(*) FROM tickets")
            .fetch_one(&self.pool)
            .await
            .ctx("counting tickets")?
            .try_get::<i64, _>(0)
            .ctx("counting tickets")
    }

    // ---- broadcasts and outages -------------------------------------------------------

    pub async fn broadcast(&self, id: i64) -> Result<Option<Broadcast>> {
        sqlx::query(
            "SELECT id, kind, sender_id, text, targets, outage_id, pin, created_at, recalled_at, report_chat FROM broadcasts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .ctx("reading a broadcast")?
        .map(|r| broadcast_from_row(&r))
        .transpose()
    }

    pub async fn broadcast_by_key(&self, key: &str) -> Result<Option<Broadcast>> {
        sqlx::query(
            "SELECT id, kind, sender_id, text, targets, outage_id, pin, created_at, recalled_at, report_chat FROM broadcasts WHERE dedupe_key = $1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .ctx("reading a broadcast")?
        .map(|r| broadcast_from_row(&r))
        .transpose()
    }

    /// The latest broadcasts, newest first: the broadcast log.
    pub async fn recent_broadcasts(&self, limit: i64) -> Result<Vec<Broadcast>> {
        let sql = format!(
            "SELECT id, kind, sender_id, text, targets, outage_id, pin, created_at, recalled_at, report_chat
             FROM broadcasts ORDER BY id DESC LIMIT {}",
            limit.clamp(1, 100)
        );
        let rows = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .ctx("listing broadcasts")?;
        rows.iter().map(broadcast_from_row).collect()
    }

    /// The broadcast that first announced outage `id`.
    pub async fn outage_announcement(&self, outage_id: i64) -> Result<Option<Broadcast>> {
        sqlx::query(
            "SELECT id, kind, sender_id, text, targets, outage_id, pin, created_at, recalled_at, report_chat FROM broadcasts
             WHERE outage_id = $1 AND kind = 'outage' ORDER BY id LIMIT 1",
        )
        .bind(outage_id)
        .fetch_optional(&self.pool)
        .await
        .ctx("reading an outage announcement")?
        .map(|r| broadcast_from_row(&r))
        .transpose()
    }

    pub async fn outage(&self, id: i64) -> Result<Option<Outage>> {
        let sql = format!("SELECT {OUTAGE_COLUMNS} FROM outages WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .ctx("reading an outage")?
            .map(|r| outage_from_row(&r))
            .transpose()
    }

    /// Planned outages that have not ended by `now`.
    pub async fn current_outages(&self, now: DateTime<Utc>) -> Result<Vec<Outage>> {
        let sql = format!(
            "SELECT {OUTAGE_COLUMNS} FROM outages WHERE status = 'planned' AND ends_at > $1 ORDER BY starts_at"
        );
        let rows = sqlx::query(&sql)
            .bind(ms(now))
            .fetch_all(&self.pool)
            .await
            .ctx("listing outages")?;
        rows.iter().map(outage_from_row).collect()
    }

    /// Outages whose "starts soon" reminder is due and not yet sent.
    pub async fn due_outage_reminders(
        &self,
        now: DateTime<Utc>,
        lead: chrono::Duration,
    ) -> Result<Vec<Outage>> {
        let sql = format!(
            "SELECT {OUTAGE_COLUMNS} FROM outages
             WHERE status = 'planned' AND reminded_at IS NULL AND starts_at > $1 AND starts_at <= $2"
        );
        let rows = sqlx::query(&sql)
            .bind(ms(now))
            .bind(ms(now + lead))
            .fetch_all(&self.pool)
            .await
            .ctx("finding due outage reminders")?;
        rows.iter().map(outage_from_row).collect()
    }

    /// Outages that have ended and whose "已恢复" is not yet sent.
    pub async fn due_outage_ends(&self, now: DateTime<Utc>) -> Result<Vec<Outage>> {
        let sql = format!(
            "SELECT {OUTAGE_COLUMNS} FROM outages WHERE status = 'planned' AND ended_at IS NULL AND ends_at <= $1"
        );
        let rows = sqlx::query(&sql)
            .bind(ms(now))
            .fetch_all(&self.pool)
            .await
            .ctx("finding ended outages")?;
        rows.iter().map(outage_from_row).collect()
    }

    // ---- schedules (the fee ledger is in fees.rs) ---------------------------------------

    /// Record that scheduled `job` ran for `slot`. False if it already had.
    pub async fn claim_job_slot(
        &self,
        job: &str,
        slot: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query("INSERT INTO job_runs (job, slot, fired_at) VALUES ($1, $2, $3) ON CONFLICT (job, slot) DO NOTHING")
            .bind(job)
            .bind(ms(slot))
            .bind(ms(now))
            .execute(&self.pool)
            .await
            .ctx("recording a scheduled run")?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn last_job_slot(&self, job: &str) -> Result<Option<DateTime<Utc>>> {
        let row = sqlx::query("SELECT MAX(slot) FROM job_runs WHERE job = $1")
            .bind(job)
            .fetch_one(&self.pool)
            .await
            .ctx("reading scheduled runs")?;
        Ok(row
            .try_get::<Option<i64>, _>(0)
            .ctx("reading scheduled runs")?
            .map(from_ms))
    }
}

impl Tx {
    pub async fn commit(mut self) -> Result<()> {
        let mut conn = self.tx.0.take().expect("a transaction is committed once");
        match conn.execute("COMMIT").await {
            Ok(_) => Ok(()),
            Err(e) => {
                // Whether SQLite kept the transaction open or rolled it back itself,
                // this connection goes: the next change starts on a clean one.
                let _ = conn.execute("ROLLBACK").await;
                conn.close_on_drop();
                Err(StorageError::Db {
                    context: "committing",
                    source: e,
                })
            }
        }
    }

    /// Run a statement of the caller's inside this transaction: for tests that
    /// provoke faults (SQLite ending a transaction on its own, as it may on a full
    /// disk); the desk never uses it.
    #[doc(hidden)]
    pub async fn execute_raw(&mut self, sql: &str) -> Result<()> {
        sqlx::raw_sql(sql)
            .execute(&mut *self.tx)
            .await
            .ctx("running a raw statement")?;
        Ok(())
    }

    /// An owner asks to register a room. It stays untrusted until staff confirm
    /// this very request; the owner's earlier pending requests are superseded, so
    /// their buttons can no longer confirm anything. Returns the request's number.
    pub async fn request_room(
        &mut self,
        user: &Actor,
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
            "INSERT INTO room_requests (user_id, name, building, unit, room, status, requested_at)
             VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING id",
        )
        .bind(user.id)
        .bind(&user.name)
        .bind(location.building.as_deref())
        .bind(location.unit.as_deref())
        .bind(location.room.as_deref())
        .bind(ms(now))
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
            "SELECT id, user_id, name, building, unit, room, status FROM room_requests WHERE id = $1",
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
                "INSERT INTO owners (user_id, name, building, unit, room, status, requested_at, decided_by, decided_at)
                 VALUES ($1, $2, $3, $4, $5, 'confirmed', $6, $7, $6)
                 ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, building = excluded.building,
                     unit = excluded.unit, room = excluded.room, status = 'confirmed',
                     decided_by = excluded.decided_by, decided_at = excluded.decided_at",
            )
            .bind(request.user_id)
            .bind(&request.name)
            .bind(loc.and_then(|l| l.building.as_deref()))
            .bind(loc.and_then(|l| l.unit.as_deref()))
            .bind(loc.and_then(|l| l.room.as_deref()))
            .bind(ms(now))
            .bind(by)
            .execute(&mut *self.tx)
            .await
            .ctx("confirming a room")?;
        }
        Ok(RoomDecision::Decided(request))
    }

    /// Insert a new ticket. `None` if this message already opened one (a
    /// re-delivered update): the caller then does nothing more.
    pub async fn insert_ticket(&mut self, t: &NewTicket) -> Result<Option<TicketId>> {
        let loc = t.location.as_ref();
        let row = sqlx::query(
            "INSERT INTO tickets (source_chat_id, source_message_id, reporter_id, reporter_name, text, intent,
                 category, building, unit, room, location_source, priority, status, respond_by, resolve_by,
                 created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', $13, $14, $15, $15)
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
        .bind(event.kind())
        .bind(event.detail())
        .execute(&mut *self.tx)
        .await
        .ctx("recording a ticket event")?;
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
        .bind(event.kind())
        .bind(event.detail())
        .bind(source_key)
        .execute(&mut *self.tx)
        .await
        .ctx("recording a ticket event")?;
        Ok(done.rows_affected() == 1)
    }

    /// Create a broadcast. `None` if the same command already created one.
    pub async fn insert_broadcast(
        &mut self,
        b: &NewBroadcast<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "INSERT INTO broadcasts (kind, sender_id, text, targets, dedupe_key, outage_id, pin, created_at, report_chat)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        )
        .bind(b.kind)
        .bind(b.sender_id)
        .bind(b.text)
        .bind(b.targets.to_stored())
        .bind(b.dedupe_key)
        .bind(b.outage_id)
        .bind(i64::from(b.pin))
        .bind(ms(now))
        .bind(b.report_chat)
        .fetch_optional(&mut *self.tx)
        .await
        .ctx("recording a broadcast")?;
        row.map(|r| r.try_get::<i64, _>(0))
            .transpose()
            .ctx("reading a broadcast id")
    }

    pub async fn mark_recalled(&mut self, id: i64, by: i64, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query("UPDATE broadcasts SET recalled_at = $1, recalled_by = $2 WHERE id = $3 AND recalled_at IS NULL")
            .bind(ms(now))
            .bind(by)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .ctx("recalling a broadcast")?;
        Ok(done.rows_affected() == 1)
    }

    /// `reminded`: the announcement itself is close enough to the start to be the reminder.
    pub async fn insert_outage(
        &mut self,
        plan: &OutagePlan,
        by: i64,
        now: DateTime<Utc>,
        reminded: bool,
    ) -> Result<i64> {
        sqlx::query(
            "INSERT INTO outages (utility, buildings, starts_at, ends_at, reason, status, created_by, created_at, reminded_at)
             VALUES ($1, $2, $3, $4, $5, 'planned', $6, $7, $8) RETURNING id",
        )
        .bind(plan.utility.as_str())
        .bind(plan.targets.to_stored())
        .bind(ms(plan.starts_at))
        .bind(ms(plan.ends_at))
        .bind(&plan.reason)
        .bind(by)
        .bind(ms(now))
        .bind(reminded.then(|| ms(now)))
        .fetch_one(&mut *self.tx)
        .await
        .ctx("recording an outage")?
        .try_get::<i64, _>(0)
        .ctx("reading an outage id")
    }

    /// Record that an outage's reminder (`reminded_at`) or "已恢复" (`ended_at`) is
    /// queued. False if another run already did.
    pub async fn mark_outage(
        &mut self,
        id: i64,
        step: OutageStep,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let sql = match step {
            OutageStep::Reminded => {
                "UPDATE outages SET reminded_at = $2 WHERE id = $1 AND reminded_at IS NULL"
            }
            OutageStep::Ended => {
                "UPDATE outages SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL"
            }
        };
        let done = sqlx::query(sql)
            .bind(id)
            .bind(ms(now))
            .execute(&mut *self.tx)
            .await
            .ctx("marking an outage")?;
        Ok(done.rows_affected() == 1)
    }

    /// Cancel a planned outage. False if it was not planned (already cancelled).
    pub async fn cancel_outage(&mut self, id: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE outages SET status = 'cancelled' WHERE id = $1 AND status = 'planned'",
        )
        .bind(id)
        .execute(&mut *self.tx)
        .await
        .ctx("cancelling an outage")?;
        Ok(done.rows_affected() == 1)
    }
}

const TICKET_COLUMNS: &str = "id, source_chat_id, source_message_id, reporter_id, reporter_name, text, intent, category,
    building, unit, room, priority, status, assignee_id, assignee_name, rating, follow_up, respond_by, resolve_by,
    created_at, updated_at, version, round";

fn ticket_from_row(r: &AnyRow) -> Result<Ticket> {
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
    })
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

fn broadcast_from_row(r: &AnyRow) -> Result<Broadcast> {
    let c = "reading a broadcast";
    let targets: String = r.try_get(4).ctx(c)?;
    Ok(Broadcast {
        id: r.try_get(0).ctx(c)?,
        kind: r.try_get(1).ctx(c)?,
        sender_id: r.try_get(2).ctx(c)?,
        text: r.try_get(3).ctx(c)?,
        targets: Targets::from_stored(&targets),
        outage_id: r.try_get(5).ctx(c)?,
        pin: r.try_get::<i64, _>(6).ctx(c)? != 0,
        created_at: from_ms(r.try_get(7).ctx(c)?),
        recalled_at: r.try_get::<Option<i64>, _>(8).ctx(c)?.map(from_ms),
        report_chat: r.try_get(9).ctx(c)?,
    })
}

const OUTAGE_COLUMNS: &str = "id, utility, buildings, starts_at, ends_at, reason, status";

fn outage_from_row(r: &AnyRow) -> Result<Outage> {
    let c = "reading an outage";
    let utility: String = r.try_get(1).ctx(c)?;
    let buildings: String = r.try_get(2).ctx(c)?;
    Ok(Outage {
        id: r.try_get(0).ctx(c)?,
        utility: Utility::parse(&utility)
            .map_err(|_| StorageError::Corrupt(format!("utility '{utility}'")))?,
        targets: Targets::from_stored(&buildings),
        starts_at: from_ms(r.try_get(3).ctx(c)?),
        ends_at: from_ms(r.try_get(4).ctx(c)?),
        reason: r.try_get(5).ctx(c)?,
        cancelled: r.try_get::<String, _>(6).ctx(c)? == "cancelled",
    })
}
