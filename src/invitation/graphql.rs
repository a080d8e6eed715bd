//! The `Invitation` type and the invitation mutations.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::invitation;

use super::{accept, service};
use crate::{
    auth::{Action, Allowed, Open},
    graphql::{
        context::ContextExt,
        enums::{InvitationState, Role},
    },
    identity::graphql::{load_user, AuthPayload, User},
    ids::{self, Kind},
};

pub struct Invitation(pub invitation::Model);

#[Object]
impl Invitation {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::Invitation, self.0.id))
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    async fn state(&self, ctx: &Context<'_>) -> InvitationState {
        super::state_of(&self.0, ctx.app().clock.now()).into()
    }
    async fn invited_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        load_user(ctx, self.0.invited_by).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
}

#[derive(SimpleObject)]
pub struct InvitePayload {
    invitation: Invitation,
    /// Single-use secret for the accept link; also sent by email.
    accept_token: String,
}

#[derive(Default)]
pub struct InvitationMutation;

#[Object]
impl InvitationMutation {
    /// Invites someone by email; the role defaults to MEMBER.
    #[graphql(guard = "Allowed(Action::ManageMembers)")]
    async fn invite_member(
        &self,
        ctx: &Context<'_>,
        email: String,
        role: Option<Role>,
    ) -> async_graphql::Result<InvitePayload> {
        let (row, token) =
            service::invite(ctx.app(), ctx.session()?, &email, role.map(Into::into)).await?;
        Ok(InvitePayload {
            invitation: Invitation(row),
            accept_token: token,
        })
    }

    #[graphql(guard = "Allowed(Action::ManageMembers)")]
    async fn revoke_invitation(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Invitation> {
        let id = ids::decode(Kind::Invitation, &id, "invitation")?;
        Ok(Invitation(
            service::revoke(ctx.app(), ctx.session()?, id).await?,
        ))
    }

    /// Joins the workspace. Without an account for the invited email, `name`
    /// and `password` create one; with one, its `password` or a bearer token of
    /// that user proves who is accepting. Never with an API key.
    #[graphql(guard = "Open(Action::OwnAccount)")]
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        token: String,
        name: Option<String>,
        password: Option<String>,
    ) -> async_graphql::Result<AuthPayload> {
        let acceptance = accept::Acceptance {
            token: &token,
            name,
            password,
            authn: ctx.authn(),
            client_ip: ctx.client_ip(),
        };
        Ok(AuthPayload(accept::accept(ctx.app(), acceptance).await?))
    }
}
