//! The declarative front of the policy on GraphQL fields:
//! `#[graphql(guard = "Allowed(Action::X)")]` where a session is needed,
//! `#[graphql(guard = "Open(Action::X)")]` where callers without one are welcome.

use async_graphql::{Context, Guard};

use super::{policy, Action, Authn};

/// A session whose role and credential allow the action.
pub struct Allowed(pub Action);

impl Guard for Allowed {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let session = ctx.data_unchecked::<Authn>().session()?;
        policy::require(session, self.0)?;
        Ok(())
    }
}

/// Anyone without a session, or a session allowed the action (see
/// [`policy::require_caller`]).
pub struct Open(pub Action);

impl Guard for Open {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        policy::require_caller(ctx.data_unchecked::<Authn>(), self.0)?;
        Ok(())
    }
}
