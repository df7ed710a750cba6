//! Guanjia (管家): a service desk for property-management companies that lives in
//! the owners' building group chats.
//!
//! - [`domain`]: what messages mean, tickets, notices: no chat platform, no SQL.
//! - [`desk`]: what happens when someone says something; the application layer.
//! - [`storage`]: the database edge (SQLite or PostgreSQL), all SQL.
//! - [`telegram`] and [`console`]: chat edges.
//! - [`worker`]: the outbox sender and the clock.
//! - [`http`] and [`metrics`]: the operations edge (`/healthz`, `/metrics`, the webhook).

pub mod classify_cli;
pub mod configuration;
pub mod console;
pub mod corrections_cli;
pub mod desk;
pub mod domain;
pub mod http;
pub mod inbox_cli;
pub mod metrics;
pub mod report_cli;
pub mod startup;
pub mod storage;
pub mod telegram;
pub mod telemetry;
pub mod worker;
