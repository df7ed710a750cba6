//! The clock loop: outage reminders, "已恢复" notices and scheduled fee reminders.
//! Due work is found in the database each tick, so nothing is lost to a restart
//! and nothing fires twice.

use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::desk::Desk;

pub async fn run(desk: Desk, every: Duration, shutdown: CancellationToken) {
    loop {
        if let Err(e) = desk.tick().await {
            tracing::error!(error = %e, "clock tick failed; will try again");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    tracing::info!("clock stopped");
}
