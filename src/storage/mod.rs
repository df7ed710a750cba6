//! The database edge: every SQL statement of the project lives in this module.
//!
//! One set of portable SQL runs on SQLite (the embedded default) and PostgreSQL
//! (scale-out) through sqlx's `Any` driver: `$n` placeholders, `BIGINT` unix-millisecond
//! times, `ON CONFLICT`, `UPDATE … RETURNING`. The schemas in `migrations/sqlite` and
//! `migrations/postgres` differ only in how ids are generated and in the report
//! roll-up's trigger (a SQL trigger on SQLite, a PL/pgSQL function on PostgreSQL).
//!
//! What several instances may race on is settled here, not in memory: ticket
//! updates check a version column (two claims at once: one wins), outbox rows are
//! leased with a conditional `UPDATE` (on PostgreSQL `FOR UPDATE SKIP LOCKED`: two
//! workers never send the same row), scheduled jobs insert a `(job, slot)` key (a
//! reminder fires once), an update belongs to the instance that stored it until
//! that instance stops renewing its heartbeat, and one instance at a time holds
//! the `sender` lease (`instances`).
//!
//! One file per aggregate, each adding its own `impl Store` (reads, and changes
//! that stand alone) and `impl Tx` (changes made with others): `tickets` (and
//! their events), `people` (staff, owners, private chats, room requests),
//! `buildings`, `broadcasts` (and outages), `outbox`, `inbox`, `media`, `fees`,
//! `corrections`, `jobs`, `instances` (heartbeats, leases, taking over a dead
//! instance's updates), `state`, `clocks` (escalation tiers), `report`
//! (the manager's figures: kept day tallies, the rest streamed), `health` (what probes and `/metrics`
//! read). This file holds the connection, the
//! transaction, the errors and the helpers they share.

mod broadcasts;
mod buildings;
mod clocks;
mod corrections;
mod fees;
mod followup;
mod health;
mod inbox;
mod instances;
mod jobs;
mod media;
mod outbox;
mod people;
mod report;
mod reporters;
mod state;
mod surveys;
mod tickets;

/// A domain type, re-exported because the store is where a new ticket goes.
pub use crate::domain::ticket::NewTicket;
pub use broadcasts::{Broadcast, NewBroadcast, Outage, OutageStep};
pub use buildings::BuildingGroup;
pub use corrections::Correction;
pub use fees::FeeImport;
pub use followup::Unrated;
pub use health::OpsSnapshot;
pub use inbox::DeadLetter;
pub use media::{MediaRole, TicketMedia, Unsorted};
pub use outbox::{OutboxRow, OutboxStats};
pub use people::{Owner, RoomDecision, RoomRequest};
pub use report::EventLine;
pub use reporters::CoReporter;
pub use tickets::{EventRecord, TicketFilter};

use chrono::{DateTime, Utc};
use sqlx::any::AnyPoolOptions;
use sqlx::pool::PoolConnection;
use sqlx::{AnyConnection, AnyPool, Executor};

use crate::domain::ticket::TicketError;

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
    /// What was read could not be written out (an export's file, a full disk).
    #[error("writing what was read: {0}")]
    Write(std::io::Error),
    /// The task that writes this kind of record has stopped (shutting down).
    #[error("not stored: {0} has stopped")]
    Stopped(&'static str),
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

/// A name no other start of any daemon has: the host (when the environment
/// says), the process id and a random part.
fn instance_name() -> String {
    use std::hash::{BuildHasher, RandomState};
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let random = RandomState::new().hash_one(std::time::SystemTime::now()) & 0xff_ffff;
    let pid = std::process::id();
    if host.is_empty() {
        format!("{pid}-{random:06x}")
    } else {
        format!("{host}-{pid}-{random:06x}")
    }
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(v).unwrap_or_default()
}

/// Read-only SQLite connections beside the writer (see [`Store`]).
const READERS: u32 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle to the database, cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// Where the desk's frequent reads go. On a SQLite file, a few read-only
    /// connections beside the single writer: WAL lets them read the last commit
    /// while a write is under way, so an owner's lookup does not queue behind
    /// another's ticket (nor behind a year's report). Elsewhere the same pool.
    reader: AnyPool,
    backend: Backend,
    /// This process's name among the instances sharing the database.
    instance: std::sync::Arc<str>,
}

/// A write transaction: a change and the messages that report it commit together.
///
/// **Reads inside it.** On SQLite the pool has a single connection (SQLite has a
/// single writer anyway), and an open `Tx` holds it: a `Store` read made while a
/// `Tx` is open waits for the connection its own caller holds, until the pool's
/// acquire timeout fails it. So a use case that must read and then write reads
/// through the `Tx` (`Tx::ticket`, `Tx::owner`, `Tx::building_of`,
/// `Tx::has_private_chat`, `Tx::is_staff`, `Tx::display_name`), which runs on the
/// transaction's connection and sees its own uncommitted changes (on PostgreSQL
/// too). Reads made through the `Store` before `begin` stay fine for what may be a
/// moment old.
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
        // An in-memory SQLite database is one per connection: it reads where it writes.
        let reader = if backend == Backend::Sqlite && !url.contains(":memory:") {
            AnyPoolOptions::new()
                .max_connections(READERS)
                .acquire_timeout(std::time::Duration::from_secs(10))
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        conn.execute("PRAGMA query_only = ON").await?;
                        Ok(())
                    })
                })
                .connect_lazy(&url)
                .ctx("opening the SQLite database for reading")?
        } else {
            pool.clone()
        };
        Ok(Self {
            pool,
            reader,
            backend,
            instance: instance_name().into(),
        })
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
    /// commits or drops: read what the change needs *before* `begin` or through the
    /// `Tx` itself, never call another `Store` method while a `Tx` is open (see [`Tx`]).
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
        self.reader.close().await;
        self.pool.close().await;
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
}
