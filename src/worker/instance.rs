//! Several daemons on one PostgreSQL database: each says it is alive, and one at a
//! time sends.
//!
//! **Why one sender.** Telegram's limits (30 messages a second in all, 20 a minute
//! into one group, and the `retry_after` holds) are per bot token, not per
//! process. Three instances each keeping them would send three times too much.
//! Sharing the budgets through the database (a token bucket row per chat, taken
//! in a transaction before every send) would put a write and a contended row lock
//! in front of every message; instead one instance holds the `sender` lease and
//! only its outbox worker sends, with the one in-memory limiter the single-process
//! daemon has always had, seeded from the database when it takes over. One sender
//! is enough: the ceiling is Telegram's 30 a second, which one worker reaches
//! (`cargo bench --bench broadcast`). The clock (escalations, reminders,
//! retention) runs on the same instance, so a reminder is computed by one
//! instance, and its `(job, slot)` keys and guarded tiers still make it once if
//! two ever overlapped.
//!
//! **The lease.** Renewed every [`HEARTBEAT`] to last [`LAPSE`]; another instance
//! takes it only once it has lapsed. The holder stops sending [`SAFETY`] before its
//! lease would lapse if it cannot renew it (a lost database), so two instances
//! never send at once while their clocks agree within that margin (NTP). A
//! graceful stop gives the lease up after the last send, so the next instance
//! takes over within a heartbeat; a kill -9 within [`LAPSE`].
//!
//! **Updates.** Any instance takes webhook posts. Each update is handled by the
//! instance that stored it; the heartbeat tells the others it is still alive.
//! When it stops (a crash), a live instance takes its pending updates over after
//! [`LAPSE`] (`telegram::intake` sweeps every [`SWEEP`]).
//!
//! On SQLite only one daemon can own the database: it always sends and nothing
//! here runs.

use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::storage::Store;

/// The lease whose holder sends and ticks the clock.
pub const SENDER_LEASE: &str = "sender";
/// How often an instance renews its heartbeat and the lease it holds.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A heartbeat or lease not renewed for this long has lapsed: its instance is
/// taken for dead and its work taken over.
pub const LAPSE: Duration = Duration::from_secs(5);
/// A holder that could not renew stops acting this long before its lease lapses.
pub const SAFETY: Duration = Duration::from_secs(2);
/// How often an instance looks for updates a dead instance left pending.
pub const SWEEP: Duration = Duration::from_secs(2);
/// Instances not seen for this long are forgotten.
const FORGET: chrono::Duration = chrono::Duration::hours(1);

/// Whether this instance is the sender: `true` while it holds the lease.
pub type Leading = watch::Receiver<bool>;

/// Always the sender: one daemon alone on its database (SQLite, tests).
pub fn alone() -> Leading {
    watch::channel(true).1
}

/// Wall-clock now: liveness is about real time, whatever clock the desk reads
/// (a test may move the desk's clock by hours).
fn wall_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// Say this instance is alive once (before it accepts any update, so no other
/// instance takes its first updates for a dead one's).
pub async fn announce(store: &Store) -> Result<(), crate::storage::StorageError> {
    store.heartbeat(wall_now()).await
}

/// Renew the heartbeat and compete for the sender lease until `shutdown`; the
/// returned receiver says whether this instance sends. The lease is not given up
/// here: call [`Store::leave`] once the sender stopped.
pub fn start(store: Store, shutdown: CancellationToken) -> (Leading, tokio::task::JoinHandle<()>) {
    let (tx, rx) = watch::channel(false);
    let handle = tokio::spawn(run(store, tx, shutdown));
    (rx, handle)
}

async fn run(store: Store, leading: watch::Sender<bool>, shutdown: CancellationToken) {
    // Until when our hold is known good (SAFETY before it lapses for the others).
    let mut good_until: Option<Instant> = None;
    let mut last_prune = Instant::now();
    loop {
        let asked = Instant::now();
        let now = wall_now();
        if let Err(e) = store.heartbeat(now).await {
            tracing::warn!(error = %e, "could not renew this instance's heartbeat");
        }
        let lapse = chrono::Duration::from_std(LAPSE).unwrap_or_default();
        match store.hold_lease(SENDER_LEASE, now, now + lapse).await {
            Ok(true) => good_until = Some(asked + LAPSE - SAFETY),
            Ok(false) => good_until = None,
            Err(e) => tracing::warn!(error = %e, "could not renew the sender lease"),
        }
        let lead = good_until.is_some_and(|t| t > Instant::now());
        let changed = leading.send_if_modified(|was| {
            let changed = *was != lead;
            *was = lead;
            changed
        });
        if changed {
            tracing::info!(
                instance = store.instance(),
                sending = lead,
                "{}",
                if lead {
                    "this instance now sends and ticks the clock"
                } else {
                    "another instance sends now"
                }
            );
        }
        if lead && last_prune.elapsed() > Duration::from_secs(600) {
            last_prune = Instant::now();
            if let Err(e) = store.instances_prune(now - FORGET).await {
                tracing::warn!(error = %e, "could not forget gone instances");
            }
        }
        // Wake for the next renewal, or when an unrenewed hold stops being good.
        let next = match good_until {
            Some(t) if t > Instant::now() => (Instant::now() + HEARTBEAT).min(t),
            _ => Instant::now() + HEARTBEAT,
        };
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = shutdown.cancelled() => break,
        }
    }
}
