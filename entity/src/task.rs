use sea_orm::entity::prelude::*;

use crate::json_text::JsonText;

use crate::enums::{Role, TaskKind, TaskState};

/// One step of a workroom's plan.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub workroom_id: Uuid,
    pub plan_round: i32,
    pub position: i32,
    pub title: String,
    pub kind: TaskKind,
    pub state: TaskState,
    pub agent_id: Option<Uuid>,
    /// APPROVAL tasks: the role an approver needs at least.
    pub assigned_role: Option<Role>,
    /// The ids of the tasks it waits for.
    pub depends_on: JsonText<Vec<Uuid>>,
    pub output: Option<String>,
    pub credits_used: i64,
    /// Times the task was started (each start is one attempt, charged once).
    pub attempts: i32,
    /// Failed attempts, bounded by the retry limit.
    pub failures: i32,
    pub error: Option<String>,
    pub required_approvals: Option<i32>,
    /// TOOL tasks: the tool's name in the workspace.
    pub tool: Option<String>,
    /// TOOL tasks: the call's arguments, an object.
    pub tool_arguments: Option<JsonText<Json>>,
    /// Why an approver rejected it (state REJECTED).
    pub rejection_reason: Option<String>,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
