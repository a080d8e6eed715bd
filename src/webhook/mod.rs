//! Signed outgoing webhooks (Standard Webhooks): integrators' endpoints and
//! the durable outbox of their deliveries.
//!
//! - `endpoint`: creating, changing, deleting and rotating endpoints (owner
//!   and admin), and the checks on their URLs (no internal addresses unless
//!   `ATELYA_WEBHOOK_ALLOW_PRIVATE=true`) and event types.
//! - `outbox`: a delivery per interested endpoint, written in the
//!   transaction of the change that caused the event (every activity action
//!   can be asked for, `workroom.completed` and `workroom.failed` among them).
//! - `dispatch`: sending due deliveries, signed, once per event across
//!   instances, retried with backoff; disabling endpoints that keep failing.
//! - `graphql`: the types and mutations of the contract.

pub mod dispatch;
pub mod endpoint;
pub mod graphql;
pub mod outbox;
pub mod service;

use crate::text_enum::text_enum;

/// Where a delivery stands.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "WebhookDeliveryState")]
pub enum DeliveryState {
    Pending,
    Succeeded,
    Failed,
}

text_enum!(DeliveryState {
    Pending => "PENDING",
    Succeeded => "SUCCEEDED",
    Failed => "FAILED",
});
