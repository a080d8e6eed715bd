//! Workroom queries and mutations, and their input types.

use async_graphql::{Context, InputObject, Object, ID};
use chrono::{DateTime, Utc};

use super::{
    create::{self, ConstraintsPatch, NewSource, NewWorkroom},
    graphql::{Source, Workroom, WorkroomEvent},
    service,
};
use crate::{
    auth::{Action, Allowed},
    error::AppResult,
    graphql::{
        context::ContextExt,
        enums::{Role, SourceKind},
    },
    ids::{self, Kind},
};

#[derive(InputObject)]
pub struct ApprovalPolicyInput {
    required_role: Role,
    required_approvals: i32,
}

#[derive(InputObject, Default)]
pub struct ConstraintsInput {
    deadline: Option<DateTime<Utc>>,
    max_credits: Option<i32>,
    paste_flags: Option<Vec<String>>,
    approval: Option<ApprovalPolicyInput>,
}

impl From<ConstraintsInput> for ConstraintsPatch {
    fn from(input: ConstraintsInput) -> ConstraintsPatch {
        ConstraintsPatch {
            deadline: input.deadline,
            max_credits: input.max_credits.map(i64::from),
            paste_flags: input.paste_flags,
            approval: input
                .approval
                .map(|a| (a.required_role.into(), a.required_approvals)),
        }
    }
}

#[derive(InputObject)]
pub struct SourceInput {
    kind: SourceKind,
    title: Option<String>,
    content: String,
}

impl From<SourceInput> for NewSource {
    fn from(input: SourceInput) -> NewSource {
        NewSource {
            kind: input.kind.into(),
            title: input.title,
            content: input.content,
        }
    }
}

#[derive(InputObject)]
pub struct CreateWorkroomInput {
    title: String,
    goal: String,
    deliverables: Vec<String>,
    constraints: Option<ConstraintsInput>,
    agent_ids: Option<Vec<ID>>,
    style_override: Option<String>,
    sources: Option<Vec<SourceInput>>,
}

impl CreateWorkroomInput {
    fn into_new(self) -> AppResult<NewWorkroom> {
        let agent_ids = self
            .agent_ids
            .unwrap_or_default()
            .iter()
            .map(|id| ids::decode(Kind::Agent, id, "agent"))
            .collect::<AppResult<Vec<_>>>()?;
        Ok(NewWorkroom {
            title: self.title,
            goal: self.goal,
            deliverables: self.deliverables,
            constraints: self.constraints.unwrap_or_default().into(),
            agent_ids,
            style_override: self.style_override,
            sources: self
                .sources
                .unwrap_or_default()
                .into_iter()
                .map(NewSource::from)
                .collect(),
        })
    }
}

#[derive(Default)]
pub struct WorkroomQuery;

#[Object]
impl WorkroomQuery {
    async fn workroom(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Workroom>> {
        let session = ctx.session()?;
        let Ok(id) = ids::decode(Kind::Workroom, &id, "workroom") else {
            return Ok(None);
        };
        match service::find(ctx.app().db.conn(), session.workspace_id, id).await {
            Ok(room) => Ok(Some(Workroom(room))),
            Err(crate::error::AppError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

fn workroom_id(id: &ID) -> AppResult<uuid::Uuid> {
    ids::decode(Kind::Workroom, id, "workroom")
}

#[derive(Default)]
pub struct WorkroomMutation;

#[Object]
impl WorkroomMutation {
    #[graphql(guard = "Allowed(Action::Work)")]
    async fn create_workroom(
        &self,
        ctx: &Context<'_>,
        input: CreateWorkroomInput,
    ) -> async_graphql::Result<Workroom> {
        let new = input.into_new()?;
        Ok(Workroom(
            create::create(ctx.app(), ctx.session()?, new).await?,
        ))
    }

    #[graphql(guard = "Allowed(Action::Work)")]
    async fn add_source(
        &self,
        ctx: &Context<'_>,
        workroom_id: ID,
        input: SourceInput,
    ) -> async_graphql::Result<Source> {
        let id = self::workroom_id(&workroom_id)?;
        Ok(Source(
            service::add_source(ctx.app(), ctx.session()?, id, input.into()).await?,
        ))
    }

    #[graphql(guard = "Allowed(Action::Work)")]
    async fn update_constraints(
        &self,
        ctx: &Context<'_>,
        workroom_id: ID,
        input: ConstraintsInput,
    ) -> async_graphql::Result<Workroom> {
        let id = self::workroom_id(&workroom_id)?;
        Ok(Workroom(
            service::update_constraints(ctx.app(), ctx.session()?, id, input.into()).await?,
        ))
    }

    #[graphql(guard = "Allowed(Action::Work)")]
    async fn pause_workroom(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Workroom> {
        Ok(Workroom(
            service::pause(ctx.app(), ctx.session()?, workroom_id(&id)?).await?,
        ))
    }

    #[graphql(guard = "Allowed(Action::Work)")]
    async fn resume_workroom(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Workroom> {
        Ok(Workroom(
            service::resume(ctx.app(), ctx.session()?, workroom_id(&id)?).await?,
        ))
    }

    #[graphql(guard = "Allowed(Action::Work)")]
    async fn cancel_workroom(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Workroom> {
        Ok(Workroom(
            service::cancel(ctx.app(), ctx.session()?, workroom_id(&id)?).await?,
        ))
    }

    #[graphql(guard = "Allowed(Action::Work)")]
    async fn replan_workroom(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Workroom> {
        Ok(Workroom(
            service::replan(ctx.app(), ctx.session()?, workroom_id(&id)?).await?,
        ))
    }

    #[graphql(guard = "Allowed(Action::Work)")]
    async fn request_revision(
        &self,
        ctx: &Context<'_>,
        id: ID,
        notes: String,
    ) -> async_graphql::Result<Workroom> {
        Ok(Workroom(
            service::request_revision(ctx.app(), ctx.session()?, workroom_id(&id)?, &notes).await?,
        ))
    }

    #[graphql(guard = "Allowed(Action::Work)")]
    async fn post_message(
        &self,
        ctx: &Context<'_>,
        workroom_id: ID,
        body: String,
    ) -> async_graphql::Result<WorkroomEvent> {
        let id = self::workroom_id(&workroom_id)?;
        Ok(WorkroomEvent(
            service::post_message(ctx.app(), ctx.session()?, id, &body).await?,
        ))
    }
}
