//! `Task`, `Approval`, `ApprovalGrant` and `grantApproval`.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::task;

use super::{approval, depends_on, TaskKind, TaskState};
use crate::graphql::int;
use crate::{
    agent::graphql::Agent,
    auth::{Action, Allowed},
    graphql::context::ContextExt,
    identity::graphql::User,
    ids::{self, Kind},
    member::Role,
};

pub struct Task(pub task::Model);

#[derive(SimpleObject)]
pub struct ApprovalGrant {
    user: User,
    granted_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct Approval {
    required_role: Role,
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
    async fn kind(&self) -> async_graphql::Result<TaskKind> {
        Ok(TaskKind::parse(&self.0.kind)?)
    }
    async fn state(&self) -> async_graphql::Result<TaskState> {
        Ok(TaskState::parse(&self.0.state)?)
    }
    async fn agent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Agent>> {
        let Some(id) = self.0.agent_id else {
            return Ok(None);
        };
        Ok(ctx.loaders().agents().load_one(id).await?.map(Agent))
    }
    async fn assigned_role(&self) -> async_graphql::Result<Option<Role>> {
        Ok(self
            .0
            .assigned_role
            .as_deref()
            .map(Role::parse)
            .transpose()?)
    }
    async fn depends_on(&self) -> Vec<ID> {
        depends_on(&self.0)
            .into_iter()
            .map(|id| ID(ids::encode(Kind::Task, id)))
            .collect()
    }
    async fn output(&self) -> Option<&str> {
        self.0.output.as_deref()
    }
    async fn credits_used(&self) -> async_graphql::Result<i32> {
        Ok(int(self.0.credits_used)?)
    }
    async fn approval(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Approval>> {
        if TaskKind::parse(&self.0.kind)? != TaskKind::Approval {
            return Ok(None);
        }
        let loaders = ctx.loaders();
        let grants = loaders.approval_grants().load_one(self.0.id).await?;
        let grants = grants.unwrap_or_default();
        let users = loaders
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
        let requirement = approval::Requirement::of(&self.0)?;
        Ok(Some(Approval {
            required_role: requirement.role,
            required_approvals: requirement.approvals,
            grants: out,
        }))
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
}
