//! The declarative front of the policy on GraphQL fields: `#[graphql(guard = "Allowed(Action::X)")]`.

use async_graphql::{Context, Guard};

use super::{policy, Action, Authn};

pub struct Allowed(pub Action);

impl Guard for Allowed {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let session = ctx.data_unchecked::<Authn>().session()?;
        policy::require(session, self.0)?;
        Ok(())
    }
}
