//! Invitations: how people join a workspace.
//!
//! An invitation holds a seat while it is pending and unexpired. Its token is
//! single-use and stored hashed. Accepting checks the seat cap again under the
//! workspace row lock, so concurrent accepts cannot pass the cap.

pub mod accept;
pub mod graphql;
pub mod service;

use chrono::{DateTime, Utc};
use entity::invitation;
use sea_orm::{ColumnTrait, Condition};

pub use entity::enums::InvitationState;

/// The state a stored invitation is in at `now`.
pub fn state_of(row: &invitation::Model, now: DateTime<Utc>) -> InvitationState {
    match row.state {
        InvitationState::Pending if row.expires_at <= now => InvitationState::Expired,
        state => state,
    }
}

/// The rows in `state` at `now`, as a query condition (the same rule as [`state_of`]).
pub fn in_state(state: InvitationState, now: DateTime<Utc>) -> Condition {
    let stored = invitation::Column::State;
    match state {
        InvitationState::Pending => Condition::all()
            .add(stored.eq(InvitationState::Pending))
            .add(invitation::Column::ExpiresAt.gt(now)),
        InvitationState::Expired => Condition::all()
            .add(stored.eq(InvitationState::Pending))
            .add(invitation::Column::ExpiresAt.lte(now)),
        other => Condition::all().add(stored.eq(other)),
    }
}
