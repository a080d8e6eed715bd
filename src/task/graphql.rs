//! `Task`, `Approval`, `ApprovalGrant`, `grantApproval` and `rejectApproval`.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::{approval_grant, task, tool_call};

use super::{approval, rejection, TaskAction, TaskKind, TaskState};
use crate::graphql::int;
use crate::{
    agent::graphql::Agent,
    auth::{Action, Allowed},
    graphql::{context::ContextExt, enums},
    identity::graphql::User,
    ids::{self, Kind},
    tool::{calls, graphql::ToolCall},
    workroom::model::WorkroomState,
};

pub struct Task(pub task::Model);

#[derive(SimpleObject)]
pub struct ApprovalGrant {
    user: User,
    granted_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct Approval {
    required_role: enums::Role,
    required_approvals: i32,
    grants: Vec<ApprovalGrant>,
}

#[Object]
impl Task {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::Task, self.0.id))
    }
    async fn position(&self) -> i32 {
        self.0.position
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn kind(&self) -> enums::TaskKind {
        self.0.kind.into()
    }
    async fn state(&self) -> enums::TaskState {
        self.0.state.into()
    }
    async fn agent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Agent>> {
        let Some(id) = self.0.agent_id else {
            return Ok(None);
        };
        Ok(ctx.loaders().agents().load_one(id).await?.map(Agent))
    }
    async fn assigned_role(&self) -> Option<enums::Role> {
        self.0.assigned_role.map(Into::into)
    }
    async fn depends_on(&self) -> Vec<ID> {
        self.0
            .depends_on
            .iter()
            .map(|&id| ID(ids::encode(Kind::Task, id)))
            .collect()
    }
    async fn output(&self) -> Option<&str> {
        self.0.output.as_deref()
    }
    async fn credits_used(&self) -> async_graphql::Result<i32> {
        Ok(int(self.0.credits_used)?)
    }
    async fn approval(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Approval>> {
        let latest = match self.0.kind {
            TaskKind::Approval => None,
            _ => self.tool_calls_of(ctx).await?.pop(),
        };
        approval_of(ctx, &self.0, latest.as_ref()).await
    }
    /// The task's tool calls, oldest first: one for a TOOL task, up to the setting for an AGENT task.
    async fn tool_calls(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ToolCall>> {
        Ok(self
            .tool_calls_of(ctx)
            .await?
            .into_iter()
            .map(ToolCall)
            .collect())
    }
    /// Why an approver rejected it (state REJECTED).
    async fn rejection_reason(&self) -> Option<&str> {
        self.0.rejection_reason.as_deref()
    }
    /// What the signed-in member may do to this task now (grant or reject its approval or its tool call).
    async fn allowed_actions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TaskAction>> {
        let session = ctx.session()?;
        if self.0.state != TaskState::AwaitingApproval {
            return Ok(Vec::new());
        }
        let room = ctx
            .loaders()
            .workrooms()
            .load_one(self.0.workroom_id)
            .await?
            .and_then(|rows| rows.into_iter().next());
        let executing = room.is_some_and(|r| r.state == WorkroomState::Executing);
        let call = self.tool_calls_of(ctx).await?.pop();
        let grants = grants_for(ctx, &self.0, call.as_ref()).await?;
        let granted = grants.iter().any(|g| g.user_id == session.user.id);
        Ok(approval::allowed_actions(
            approval::Requirement::of(&self.0).role,
            session.role,
            granted,
            executing,
        ))
    }
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
}

impl Task {
    async fn tool_calls_of(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<tool_call::Model>> {
        Ok(ctx
            .loaders()
            .tool_calls()
            .load_one(self.0.id)
            .await?
            .unwrap_or_default())
    }
}

/// The grants of an APPROVAL task (`call` none), or of one of a task's tool calls.
async fn grants_for(
    ctx: &Context<'_>,
    task: &task::Model,
    call: Option<&tool_call::Model>,
) -> async_graphql::Result<Vec<approval_grant::Model>> {
    let grants = ctx.loaders().approval_grants().load_one(task.id).await?;
    Ok(grants
        .unwrap_or_default()
        .into_iter()
        .filter(|g| match call {
            Some(call) => calls::counts(g, call),
            None => g.tool_call_id.is_none(),
        })
        .collect())
}

/// The approval an APPROVAL task asks for, or the one a tool call waits for
/// or got (tools that require one: the task then has a required role).
pub async fn approval_of(
    ctx: &Context<'_>,
    task: &task::Model,
    call: Option<&tool_call::Model>,
) -> async_graphql::Result<Option<Approval>> {
    let asks = match task.kind {
        TaskKind::Approval => call.is_none(),
        _ => call.is_some() && task.assigned_role.is_some(),
    };
    if !asks {
        return Ok(None);
    }
    let grants = grants_for(ctx, task, call).await?;
    let users = ctx
        .loaders()
        .users()
        .load_many(grants.iter().map(|g| g.user_id))
        .await?;
    let out = grants
        .into_iter()
        .filter_map(|grant| {
            let user = users.get(&grant.user_id)?.clone();
            Some(ApprovalGrant {
                user: User(user),
                granted_at: grant.granted_at,
            })
        })
        .collect();
    let requirement = approval::Requirement::of(task);
    Ok(Some(Approval {
        required_role: requirement.role.into(),
        required_approvals: requirement.approvals,
        grants: out,
    }))
}

#[derive(Default)]
pub struct TaskMutation;

#[Object]
impl TaskMutation {
    /// Approves an APPROVAL task (role at least its required role; viewers never).
    #[graphql(guard = "Allowed(Action::Work)")]
    async fn grant_approval(&self, ctx: &Context<'_>, task_id: ID) -> async_graphql::Result<Task> {
        let id = ids::decode(Kind::Task, &task_id, "task")?;
        Ok(Task(approval::grant(ctx.app(), ctx.session()?, id).await?))
    }

    /// Any member who may grant it. Reason 1-2,000 characters.
    #[graphql(guard = "Allowed(Action::Work)")]
    async fn reject_approval(
        &self,
        ctx: &Context<'_>,
        task_id: ID,
        reason: String,
    ) -> async_graphql::Result<Task> {
        let id = ids::decode(Kind::Task, &task_id, "task")?;
        Ok(Task(
            rejection::reject(ctx.app(), ctx.session()?, id, &reason).await?,
        ))
    }
}
