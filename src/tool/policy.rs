//! `setToolPolicy`: an owner or admin enables or disables one tool of the
//! workspace, or turns its approval on or off. Logged as `tool.policy_changed`.

use entity::tool_policy;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::registry::{self, Tool};
use crate::{
    activity::{self, ActivityAction, NewActivity},
    auth::{policy, Action, Session},
    error::{AppError, AppResult},
    state::AppState,
};

/// What a policy change asks for (absent: unchanged).
pub struct PolicyChange {
    pub name: String,
    pub enabled: Option<bool>,
    pub requires_approval: Option<bool>,
}

#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, tool = %change.name))]
pub async fn set(state: &AppState, session: &Session, change: PolicyChange) -> AppResult<Tool> {
    policy::require(session, Action::Administer)?;
    if change.enabled.is_none() && change.requires_approval.is_none() {
        return Err(AppError::bad_input(
            "give enabled, requiresApproval or both",
        ));
    }
    let now = state.clock.now();
    let web = state.config.tools.web;
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::Administer).await?;
    let mut tool = registry::find(&*txn, session.workspace_id, web, &change.name)
        .await?
        .ok_or(AppError::NotFound("tool"))?;
    let existing = tool_policy::Entity::find()
        .filter(tool_policy::Column::WorkspaceId.eq(session.workspace_id))
        .filter(tool_policy::Column::Name.eq(tool.name.as_str()))
        .one(&*txn)
        .await?;
    let row = tool_policy::Model {
        id: existing.as_ref().map_or_else(Uuid::now_v7, |p| p.id),
        workspace_id: session.workspace_id,
        name: tool.name.clone(),
        enabled: change.enabled.unwrap_or(tool.enabled),
        requires_approval: change
            .requires_approval
            .or(existing.as_ref().and_then(|p| p.requires_approval)),
        updated_by: Some(session.user.id),
        updated_at: now,
    };
    let active = row.clone().into_active_model().reset_all();
    if existing.is_some() {
        active.update(&*txn).await?;
    } else {
        tool_policy::Entity::insert(active)
            .exec_without_returning(&*txn)
            .await?;
    }
    registry::apply(&mut tool, &row);
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::ToolPolicyChanged,
        target_type: "Tool",
        target_id: None,
        summary: format!(
            "{} set {} to {}{}",
            session.user.name,
            tool.name,
            if tool.enabled { "enabled" } else { "disabled" },
            if tool.requires_approval {
                ", each call approved first"
            } else {
                ""
            }
        ),
        metadata: json!({
            "tool": tool.name,
            "enabled": tool.enabled,
            "requiresApproval": tool.requires_approval,
        }),
    };
    activity::record(&txn, session.workspace_id, entry, now).await?;
    txn.commit().await?;
    Ok(tool)
}
