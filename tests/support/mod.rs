//! Shared helpers for Guanjia's integration tests.

pub mod fake_bot_api;
