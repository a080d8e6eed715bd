//! The `Agent` type.

use async_graphql::{Context, Object, ID};
use chrono::{DateTime, Utc};
use entity::agent;

use super::AgentKind;
use crate::{
    identity::graphql::{load_user, User},
    ids::{self, Kind},
};

pub struct Agent(pub agent::Model);

#[Object]
impl Agent {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::Agent, self.0.id))
    }
    async fn kind(&self) -> async_graphql::Result<AgentKind> {
        Ok(AgentKind::parse(&self.0.kind)?)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn instructions(&self) -> &str {
        &self.0.instructions
    }
    async fn client_name(&self) -> Option<&str> {
        self.0.client_name.as_deref()
    }
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        load_user(ctx, self.0.created_by).await
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
