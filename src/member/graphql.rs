//! The `Member` type and the membership mutations.

use async_graphql::{Context, Object, ID};
use chrono::{DateTime, Utc};
use entity::member;

use super::service;
use crate::{
    auth::{Action, Allowed},
    error::AppError,
    graphql::{context::ContextExt, enums::Role},
    identity::graphql::User,
    ids::{self, Kind},
    workspace::graphql::Workspace,
};

pub struct Member(pub member::Model);

#[Object]
impl Member {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::Member, self.0.id))
    }
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let user = ctx.loaders().users().load_one(self.0.user_id).await?;
        Ok(User(user.ok_or(AppError::NotFound("user"))?))
    }
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.joined_at
    }
}

#[derive(Default)]
pub struct MemberMutation;

#[Object]
impl MemberMutation {
    #[graphql(guard = "Allowed(Action::ManageMembers)")]
    async fn change_member_role(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
        role: Role,
    ) -> async_graphql::Result<Member> {
        let id = ids::decode(Kind::Member, &member_id, "member")?;
        let member = service::change_role(ctx.app(), ctx.session()?, id, role.into()).await?;
        Ok(Member(member))
    }

    #[graphql(guard = "Allowed(Action::ManageMembers)")]
    async fn remove_member(&self, ctx: &Context<'_>, member_id: ID) -> async_graphql::Result<bool> {
        let id = ids::decode(Kind::Member, &member_id, "member")?;
        service::remove(ctx.app(), ctx.session()?, id).await?;
        Ok(true)
    }

    #[graphql(guard = "Allowed(Action::TransferOwnership)")]
    async fn transfer_ownership(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
    ) -> async_graphql::Result<Workspace> {
        let id = ids::decode(Kind::Member, &member_id, "member")?;
        service::transfer_ownership(ctx.app(), ctx.session()?, id).await?;
        Workspace::current(ctx).await
    }

    /// Never with an API key: a key does not end its creator's membership.
    #[graphql(guard = "Allowed(Action::OwnAccount)")]
    async fn leave_workspace(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        service::leave(ctx.app(), ctx.session()?).await?;
        Ok(true)
    }
}
