//! Signed outgoing webhooks (Standard Webhooks): integrators' endpoints and
//! the durable outbox of their deliveries.
//!
//! - `endpoint`: creating, changing and deleting endpoints (owner and
//!   admin), capped per workspace, user and client address, and the checks
//!   on their URLs (through `outbound`: no internal addresses unless
//!   `ATELYA_WEBHOOK_ALLOW_PRIVATE=true`) and event types.
//! - `secrets`: the current signing secret and the earlier ones, each
//!   signing for 24 hours after the rotation that replaced it.
//! - `outbox`: a delivery per interested endpoint, written in the
//!   transaction of the change that caused the event (every activity action
//!   can be asked for, `workroom.completed` and `workroom.failed` among them).
//! - `dispatch`: sending due deliveries, fairly between workspaces, signed,
//!   once per attempt across instances, retried with backoff; disabling
//!   endpoints that keep failing.
//! - `graphql`: the types and mutations of the contract.

pub mod dispatch;
pub mod endpoint;
pub mod graphql;
pub mod outbox;
pub mod secrets;
pub mod service;

pub use entity::enums::DeliveryState;
