//! The clock loop: outage reminders, "已恢复" notices and scheduled fee reminders.
//! Due work is found in the database each tick, so nothing is lost to a restart
//! and nothing fires twice. With several instances only the sender ticks
//! (`worker::instance`); the `(job, slot)` keys and guarded tiers would still
//! make each step once if two ever overlapped.

use std::time::Duration;
use tokio_util::sync::CancellationToken;

use super::instance::Leading;
use crate::desk::Desk;

pub async fn run(desk: Desk, every: Duration, leading: Leading, shutdown: CancellationToken) {
    loop {
        let sends = *leading.borrow();
        if sends && let Err(e) = desk.tick().await {
            tracing::error!(error = %e, "clock tick failed; will try again");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    tracing::info!("clock stopped");
}
