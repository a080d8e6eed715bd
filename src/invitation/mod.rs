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
use entity::invitation;
use sea_orm::{ColumnTrait, Condition};

use crate::{error::AppResult, text_enum::text_enum};

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

// EXPIRED is never stored: a PENDING row past its expiry is expired.
text_enum!(InvitationState {
    Pending => "PENDING",
    Accepted => "ACCEPTED",
    Revoked => "REVOKED",
    Expired => "EXPIRED",
});

impl InvitationState {
    /// The state a stored invitation is in at `now`.
    pub fn of(row: &invitation::Model, now: DateTime<Utc>) -> AppResult<InvitationState> {
        Ok(match InvitationState::parse(&row.state)? {
            InvitationState::Pending if row.expires_at <= now => InvitationState::Expired,
            state => state,
        })
    }

    /// The rows in this state at `now`, as a query condition (the same rule as [`InvitationState::of`]).
    pub fn at(self, now: DateTime<Utc>) -> Condition {
        let stored = invitation::Column::State;
        match self {
            InvitationState::Pending => Condition::all()
                .add(stored.eq(InvitationState::Pending.as_str()))
                .add(invitation::Column::ExpiresAt.gt(now)),
            InvitationState::Expired => Condition::all()
                .add(stored.eq(InvitationState::Pending.as_str()))
                .add(invitation::Column::ExpiresAt.lte(now)),
            other => Condition::all().add(stored.eq(other.as_str())),
        }
    }
}
