use sea_orm::entity::prelude::*;

use crate::json_text::JsonText;

use crate::enums::{Role, WorkroomState};

/// A bounded piece of work and its run state.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workrooms")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub title: String,
    /// The title lower-cased (fully, not just ASCII), for case-insensitive search.
    pub title_key: String,
    pub goal: String,
    pub state: WorkroomState,
    /// Why it is paused or failed.
    pub state_reason: Option<String>,
    /// The state a pause left, which resume returns to.
    pub paused_from: Option<WorkroomState>,
    pub deadline: Option<DateTimeUtc>,
    pub max_credits: Option<i64>,
    pub paste_flags: JsonText<Vec<String>>,
    pub approval_role: Option<Role>,
    pub approval_count: Option<i32>,
    pub style_override: Option<String>,
    pub revision_round: i32,
    /// How many plans have been made; tasks of older rounds are discarded.
    pub plan_round: i32,
    /// Failed attempts at the current plan; reset when planning begins anew.
    pub plan_failures: i32,
    /// Sequence number of the newest event.
    pub last_seq: i64,
    pub credits_spent: i64,
    pub credits_reserved: i64,
    pub created_by: Option<Uuid>,
    /// The member who started the current run; usage is attributed to them.
    pub run_by: Option<Uuid>,
    /// The engine has work to do here.
    pub needs_run: bool,
    /// The instance running this workroom now.
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
