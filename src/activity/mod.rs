//! The activity log: one entry per change, append-only and tamper-evident.
//!
//! Each entry stores the SHA-256 of its content chained to the previous entry
//! of its workspace (`prev_hash`); the workspace row keeps the head of the
//! chain. Entries are written inside the transaction of the change they
//! describe, with the workspace row locked, so the chain never forks.
//! `verify` recomputes the chain and reports the first entry that does not fit.

pub mod action;
pub mod chain;
pub mod graphql;
pub mod service;
pub mod shown;

pub use action::ActivityAction;
pub use service::{record, NewActivity};
