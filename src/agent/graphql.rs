//! The `Agent` type.

use async_graphql::{Context, InputObject, Object, ID};
use chrono::{DateTime, Utc};
use entity::agent;

use super::{service, style::graphql::StyleMemory};
use crate::{
    auth::{Action, Allowed},
    graphql::{context::ContextExt, enums},
    identity::graphql::{load_user, User},
    ids::{self, Kind},
};

pub struct Agent(pub agent::Model);

#[Object]
impl Agent {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::Agent, self.0.id))
    }
    async fn kind(&self) -> enums::AgentKind {
        self.0.kind.into()
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
    /// What the agent has learned from its style samples; null before the first.
    async fn style_memory(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<StyleMemory>> {
        let current =
            super::style::current(ctx.app().db.conn(), self.0.workspace_id, self.0.id).await?;
        Ok(current.map(StyleMemory))
    }
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        load_user(ctx, self.0.created_by).await
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(InputObject)]
pub struct AgentInput {
    name: String,
    description: Option<String>,
    instructions: String,
    client_name: Option<String>,
}

impl From<AgentInput> for service::AgentFields {
    fn from(input: AgentInput) -> service::AgentFields {
        service::AgentFields {
            name: input.name,
            description: input.description,
            instructions: input.instructions,
            client_name: input.client_name,
        }
    }
}

#[derive(Default)]
pub struct AgentMutation;

#[Object]
impl AgentMutation {
    #[graphql(guard = "Allowed(Action::EditAgents)")]
    async fn create_agent(
        &self,
        ctx: &Context<'_>,
        input: AgentInput,
    ) -> async_graphql::Result<Agent> {
        Ok(Agent(
            service::create(ctx.app(), ctx.session()?, input.into()).await?,
        ))
    }

    #[graphql(guard = "Allowed(Action::EditAgents)")]
    async fn update_agent(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: AgentInput,
    ) -> async_graphql::Result<Agent> {
        let id = ids::decode(Kind::Agent, &id, "agent")?;
        Ok(Agent(
            service::update(ctx.app(), ctx.session()?, id, input.into()).await?,
        ))
    }

    /// Teaches a custom agent from a sample of writing: its style memory is
    /// derived again from all its samples, as a new version.
    #[graphql(guard = "Allowed(Action::EditAgents)")]
    async fn add_style_sample(
        &self,
        ctx: &Context<'_>,
        agent_id: ID,
        text: String,
    ) -> async_graphql::Result<Agent> {
        let id = ids::decode(Kind::Agent, &agent_id, "agent")?;
        Ok(Agent(
            super::style::add_sample(ctx.app(), ctx.session()?, id, &text).await?,
        ))
    }

    #[graphql(guard = "Allowed(Action::EditAgents)")]
    async fn delete_agent(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let id = ids::decode(Kind::Agent, &id, "agent")?;
        service::delete(ctx.app(), ctx.session()?, id).await?;
        Ok(true)
    }
}
