//! Long-running loops. Each `select!`s on its next piece of work and on the one
//! shutdown token, so a SIGTERM stops them all between steps, never mid-write.

pub mod clock;
pub mod instance;
pub mod outbox;

pub use outbox::{OutboxConfig, OutboxWorker, SendError, Transport};
