use sea_orm::entity::prelude::*;

use crate::json_text::JsonText;

use crate::enums::ToolCallState;

/// One call of a tool by a task.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tool_calls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub workroom_id: Uuid,
    pub task_id: Uuid,
    /// The tool's name in the workspace.
    pub tool: String,
    /// An object.
    pub arguments: JsonText<Json>,
    /// AWAITING_APPROVAL, RUNNING, COMPLETED, FAILED, REJECTED or OUTCOME_UNKNOWN.
    pub state: ToolCallState,
    /// Whether the tool was read-only when called (a read-only call is
    /// retried after a crash; any other becomes OUTCOME_UNKNOWN).
    pub read_only: bool,
    /// Its text result, at most 64 KiB.
    pub result: Option<String>,
    pub is_error: bool,
    pub credits_used: i64,
    /// The instance making the call while RUNNING.
    pub instance: Option<String>,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
