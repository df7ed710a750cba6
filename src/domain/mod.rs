//! Message understanding: normalisation, locations and intent rules.
pub mod intent;
pub mod location;
pub mod text;
