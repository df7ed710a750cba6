//! The clock loop: outage reminders, "已恢复" notices and scheduled fee reminders.
//! Due work is found in the database each tick, so nothing is lost to a restart
//! and nothing fires twice. With several instances only the sender ticks
//! (`worker::instance`); the `(job, slot)` keys and guarded tiers would still
//! make each step once if two ever overlapped.
//! The sender also recounts the report's changed days every ten minutes, so a
//! manager's report over a long history stays quick.

use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use super::instance::Leading;
use crate::desk::Desk;

const RECOUNT_EVERY: Duration = Duration::from_secs(600);

pub async fn run(desk: Desk, every: Duration, leading: Leading, shutdown: CancellationToken) {
    let mut recounted: Option<Instant> = None;
    loop {
        let sends = *leading.borrow();
        if sends && let Err(e) = desk.tick().await {
            tracing::error!(error = %e, "clock tick failed; will try again");
        }
        if sends && recounted.is_none_or(|t| t.elapsed() >= RECOUNT_EVERY) {
            recounted = Some(Instant::now());
            match desk.refresh_report().await {
                Ok(0) => {}
                Ok(days) => tracing::debug!(days, "recounted the report's changed days"),
                Err(e) => tracing::warn!(error = %e, "could not recount the report's days"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    tracing::info!("clock stopped");
}
