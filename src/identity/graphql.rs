//! `User`, `Viewer`, `AuthPayload`, and the sign-in mutations. Everything
//! that hands out tokens is `Action::OwnAccount`, which API keys never have.

use async_graphql::{Context, InputObject, Object, ID};
use chrono::{DateTime, Utc};
use entity::{member, user, workspace};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{service, tokens::Issued};
use crate::{
    auth::{policy, Action, Allowed, Open},
    graphql::context::ContextExt,
    graphql::enums::Role,
    ids::{self, Kind},
    member::graphql::Member,
    workspace::graphql::Workspace,
};

pub struct User(pub user::Model);

#[Object]
impl User {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::User, self.0.id))
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The users with `ids`, in that order (one query; unknown ids are left out).
pub async fn users_in_order(
    db: &crate::db::Db,
    ids: &[uuid::Uuid],
) -> crate::error::AppResult<Vec<User>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: std::collections::HashMap<_, _> = entity::user::Entity::find()
        .filter(entity::user::Column::Id.is_in(ids.iter().copied()))
        .all(db.conn())
        .await?
        .into_iter()
        .map(|user| (user.id, user))
        .collect();
    Ok(ids
        .iter()
        .filter_map(|id| rows.remove(id))
        .map(User)
        .collect())
}

/// Loads an optional user (an actor, an inviter) through the request's batch loader.
pub async fn load_user(
    ctx: &Context<'_>,
    id: Option<uuid::Uuid>,
) -> async_graphql::Result<Option<User>> {
    let Some(id) = id else { return Ok(None) };
    Ok(ctx.loaders().users().load_one(id).await?.map(User))
}

/// Tokens of a person's sign-in. Their fields check the caller again, so a
/// mutation that returns this to a caller the policy refuses tokens (an API
/// key) reveals nothing even if its own guard were missing.
pub struct AuthPayload(pub Issued);

#[Object]
impl AuthPayload {
    #[graphql(guard = "Open(Action::OwnAccount)")]
    async fn access_token(&self) -> &str {
        &self.0.access_token
    }
    #[graphql(guard = "Open(Action::OwnAccount)")]
    async fn refresh_token(&self) -> &str {
        &self.0.refresh_token
    }
    /// When the access token expires.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    async fn user(&self) -> User {
        User(self.0.user.clone())
    }
    async fn workspace_id(&self) -> ID {
        ID(ids::encode(Kind::Workspace, self.0.workspace_id))
    }
    async fn role(&self) -> Role {
        self.0.role.into()
    }
}

/// A workspace the signed-in user belongs to, for switching.
#[derive(async_graphql::SimpleObject)]
pub struct WorkspaceMembership {
    workspace_id: ID,
    workspace_name: String,
    role: Role,
    current: bool,
}

pub struct Viewer;

#[Object]
impl Viewer {
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        Ok(User(ctx.session()?.user.clone()))
    }
    async fn member(&self, ctx: &Context<'_>) -> async_graphql::Result<Member> {
        Ok(Member(ctx.session()?.member.clone()))
    }
    async fn workspace(&self, ctx: &Context<'_>) -> async_graphql::Result<Workspace> {
        Workspace::current(ctx).await
    }
    /// The workspaces of the signed-in person; for an API key, its own
    /// workspace alone (a key knows nothing of its creator's others).
    async fn memberships(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<WorkspaceMembership>> {
        let session = ctx.session()?;
        let mut query = member::Entity::find().filter(member::Column::UserId.eq(session.user.id));
        if !policy::permits(session, Action::OwnAccount) {
            query = query.filter(member::Column::WorkspaceId.eq(session.workspace_id));
        }
        let rows = query
            .find_also_related(workspace::Entity)
            .order_by_asc(member::Column::JoinedAt)
            .all(ctx.app().db.conn())
            .await
            .map_err(crate::error::AppError::from)?;
        rows.into_iter()
            .filter_map(|(m, ws)| ws.map(|ws| (m, ws)))
            .map(|(m, ws)| {
                Ok(WorkspaceMembership {
                    workspace_id: ID(ids::encode(Kind::Workspace, ws.id)),
                    workspace_name: ws.name,
                    role: m.role.into(),
                    current: ws.id == session.workspace_id,
                })
            })
            .collect()
    }
}

#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// UNAUTHENTICATED without a valid token.
    async fn viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<Viewer> {
        ctx.session()?;
        Ok(Viewer)
    }
}

#[derive(InputObject)]
pub struct SignupInput {
    email: String,
    password: String,
    name: String,
    workspace_name: String,
}

#[derive(Default)]
pub struct IdentityMutation;

#[Object]
impl IdentityMutation {
    #[graphql(guard = "Open(Action::OwnAccount)")]
    async fn signup(
        &self,
        ctx: &Context<'_>,
        input: SignupInput,
    ) -> async_graphql::Result<AuthPayload> {
        let input = service::SignupInput {
            email: input.email,
            password: input.password,
            name: input.name,
            workspace_name: input.workspace_name,
        };
        Ok(AuthPayload(
            service::signup(ctx.app(), ctx.client_ip(), input).await?,
        ))
    }

    #[graphql(guard = "Open(Action::OwnAccount)")]
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> async_graphql::Result<AuthPayload> {
        Ok(AuthPayload(
            service::login(ctx.app(), ctx.client_ip(), &email, &password).await?,
        ))
    }

    #[graphql(guard = "Open(Action::OwnAccount)")]
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<AuthPayload> {
        Ok(AuthPayload(
            service::refresh(ctx.app(), &refresh_token).await?,
        ))
    }

    /// Ends the sign-in the refresh token belongs to; true when a live session ended.
    #[graphql(guard = "Open(Action::OwnAccount)")]
    async fn logout(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<bool> {
        Ok(service::logout(ctx.app(), &refresh_token).await?)
    }

    #[graphql(guard = "Allowed(Action::OwnAccount)")]
    async fn create_workspace(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> async_graphql::Result<AuthPayload> {
        Ok(AuthPayload(
            service::create_workspace(ctx.app(), ctx.session()?, &name).await?,
        ))
    }

    #[graphql(guard = "Allowed(Action::OwnAccount)")]
    async fn switch_workspace(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
    ) -> async_graphql::Result<AuthPayload> {
        let id = ids::decode(Kind::Workspace, &workspace_id, "workspace")?;
        Ok(AuthPayload(
            service::switch_workspace(ctx.app(), ctx.session()?, id).await?,
        ))
    }
}
