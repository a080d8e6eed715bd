//! Invitations: how people join a workspace.
//!
//! An invitation holds a seat while it is pending and unexpired. Its token is
//! single-use and stored hashed. Accepting checks the seat cap again under the
//! workspace row lock, so concurrent accepts cannot pass the cap.

pub mod accept;
pub mod graphql;
pub mod service;

use async_graphql::Enum;
use chrono::{DateTime, Utc};

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl InvitationState {
    /// The state a stored invitation is in at `now` (EXPIRED is never stored).
    pub fn of(row: &entity::invitation::Model, now: DateTime<Utc>) -> InvitationState {
        match row.state.as_str() {
            "ACCEPTED" => InvitationState::Accepted,
            "REVOKED" => InvitationState::Revoked,
            _ if row.expires_at <= now => InvitationState::Expired,
            _ => InvitationState::Pending,
        }
    }
}
