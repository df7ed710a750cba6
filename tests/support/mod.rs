//! Shared helpers for Guanjia's integration tests.

pub mod daemon;
pub mod fake_bot_api;
pub mod inprocess;
