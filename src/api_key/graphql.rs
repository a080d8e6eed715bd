//! The `ApiKey` type, `createApiKey` and `revokeApiKey`. No field exposes a
//! secret or its hash; the secret is in `ApiKeyPayload` once.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::api_key;

use super::service;
use crate::{
    auth::{Action, Allowed},
    graphql::{context::ContextExt, enums::Role},
    identity::graphql::{load_user, User},
    ids::{self, Kind},
};

/// A machine credential of one workspace, used as a bearer token.
pub struct ApiKey(pub api_key::Model);

#[Object]
impl ApiKey {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::ApiKey, self.0.id))
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The first characters of the secret, to recognise it; never the secret.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        load_user(ctx, self.0.created_by).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

#[derive(InputObject)]
pub struct ApiKeyInput {
    name: String,
    /// At most the creator's role; never OWNER.
    role: Role,
    expires_at: Option<DateTime<Utc>>,
}

#[derive(SimpleObject)]
pub struct ApiKeyPayload {
    /// The secret: shown once, stored only hashed.
    secret: String,
    api_key: ApiKey,
}

#[derive(Default)]
pub struct ApiKeyMutation;

#[Object]
impl ApiKeyMutation {
    /// Owner and admin only, signed in (never with a key). RATE_LIMITED when
    /// the workspace has its most live keys, or the caller or their address
    /// made too many keys this hour.
    #[graphql(guard = "Allowed(Action::ManageKeys)")]
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: ApiKeyInput,
    ) -> async_graphql::Result<ApiKeyPayload> {
        let key = service::NewKey {
            name: input.name,
            role: input.role.into(),
            expires_at: input.expires_at,
        };
        let (secret, row) =
            service::create(ctx.app(), ctx.session()?, ctx.client_ip(), key).await?;
        Ok(ApiKeyPayload {
            secret,
            api_key: ApiKey(row),
        })
    }

    /// Owner and admin only, signed in (never with a key). The key's next
    /// request is refused and its sockets close; revoking it again changes nothing.
    #[graphql(guard = "Allowed(Action::ManageKeys)")]
    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ApiKey> {
        let id = ids::decode(Kind::ApiKey, &id, "API key")?;
        Ok(ApiKey(
            service::revoke(ctx.app(), ctx.session()?, id).await?,
        ))
    }
}
