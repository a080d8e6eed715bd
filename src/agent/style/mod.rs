//! Style Memory: each custom agent learns a voice from writing samples.
//!
//! Every sample added derives the profile again from all the agent's
//! samples (`traits`): the measurable traits and a readable summary, stored
//! as a new version that records why it changed and who changed it. The
//! engine hands the current version to the model with every call the agent
//! is part of. Samples and profiles belong to the agent's workspace and are
//! only ever read through it.

pub mod graphql;
pub mod traits;

use entity::json_text::JsonText;
use entity::{style_memory_version, style_sample};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

use super::service::{begin, find_custom};
use crate::{
    activity::{self, ActivityAction, NewActivity},
    auth::Session,
    error::{AppError, AppResult},
    ids::{self, Kind},
    input,
    state::AppState,
};

/// Longest sample (DESIGN.md's limit for a style sample).
pub const SAMPLE_MAX: usize = 100_000;

/// Why a version was made when a sample is added.
pub const SAMPLE_ADDED: &str = "sample added";

/// Adds a sample to a custom agent and derives its next profile version.
#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, agent = %agent_id))]
pub async fn add_sample(
    state: &AppState,
    session: &Session,
    agent_id: Uuid,
    text: &str,
) -> AppResult<entity::agent::Model> {
    let text = input::text(text, "text", SAMPLE_MAX)?;
    let (txn, now) = begin(state, session).await?;
    // The workspace row lock taken by `begin` serializes versions of its agents.
    let agent = find_custom(&*txn, session.workspace_id, agent_id).await?;
    ensure_room(state, &txn, &agent, text.len()).await?;
    let sample = style_sample::Model {
        id: Uuid::now_v7(),
        workspace_id: session.workspace_id,
        agent_id: agent.id,
        text,
        added_by: Some(session.user.id),
        created_at: now,
    };
    style_sample::Entity::insert(sample.into_active_model())
        .exec_without_returning(&*txn)
        .await?;
    let samples = samples_of(&*txn, session.workspace_id, agent.id).await?;
    let texts: Vec<&str> = samples.iter().map(|s| s.text.as_str()).collect();
    let derived = traits::analyze(&texts);
    let previous = current(&*txn, session.workspace_id, agent.id).await?;
    let version = previous.map_or(1, |v| v.version + 1);
    let row = style_memory_version::Model {
        id: Uuid::now_v7(),
        workspace_id: session.workspace_id,
        agent_id: agent.id,
        version,
        summary: traits::summarize(&derived, samples.len()),
        traits: JsonText(
            serde_json::to_value(&derived)
                .map_err(|e| AppError::Internal(format!("traits do not serialize: {e}")))?,
        ),
        sample_count: crate::error::int(samples.len())?,
        reason: SAMPLE_ADDED.to_owned(),
        actor_id: Some(session.user.id),
        created_at: now,
    };
    style_memory_version::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(&*txn)
        .await?;
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::AgentStyleMemoryUpdated,
        target_type: "Agent",
        target_id: Some(ids::encode(Kind::Agent, agent.id)),
        summary: format!(
            "{} taught the agent {} from a new sample (version {version})",
            session.user.name, agent.name
        ),
        metadata: json!({ "version": version, "reason": SAMPLE_ADDED, "sampleCount": samples.len() }),
    };
    activity::record(&txn, session.workspace_id, entry, now).await?;
    txn.commit().await?;
    Ok(agent)
}

/// BAD_USER_INPUT when `adding` bytes would take the agent's samples past
/// `ATELYA_SAMPLES_MAX_BYTES` together: each sample added derives the
/// profile from all of them, in memory, under the workspace lock.
async fn ensure_room(
    state: &AppState,
    txn: &crate::db::WriteTxn,
    agent: &entity::agent::Model,
    adding: usize,
) -> AppResult<()> {
    let select = style_sample::Entity::find()
        .filter(style_sample::Column::WorkspaceId.eq(agent.workspace_id))
        .filter(style_sample::Column::AgentId.eq(agent.id));
    let held = crate::db::total_bytes(&**txn, select, style_sample::Column::Text).await?;
    let max = state.config.limits.samples_max_bytes;
    if held.saturating_add(adding as u64) > max as u64 {
        return Err(AppError::bad_input(format!(
            "an agent's style samples hold at most {max} bytes together ({held} are taken, this adds {adding})"
        )));
    }
    Ok(())
}

/// The agent's current profile version, if it has learned anything yet.
pub async fn current(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    agent_id: Uuid,
) -> AppResult<Option<style_memory_version::Model>> {
    Ok(style_memory_version::Entity::find()
        .filter(style_memory_version::Column::WorkspaceId.eq(workspace_id))
        .filter(style_memory_version::Column::AgentId.eq(agent_id))
        .order_by_desc(style_memory_version::Column::Version)
        .one(db)
        .await?)
}

/// Every version of the agent's profile, newest first.
pub async fn history(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    agent_id: Uuid,
) -> AppResult<Vec<style_memory_version::Model>> {
    Ok(style_memory_version::Entity::find()
        .filter(style_memory_version::Column::WorkspaceId.eq(workspace_id))
        .filter(style_memory_version::Column::AgentId.eq(agent_id))
        .order_by_desc(style_memory_version::Column::Version)
        .all(db)
        .await?)
}

async fn samples_of(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    agent_id: Uuid,
) -> AppResult<Vec<style_sample::Model>> {
    Ok(style_sample::Entity::find()
        .filter(style_sample::Column::WorkspaceId.eq(workspace_id))
        .filter(style_sample::Column::AgentId.eq(agent_id))
        .order_by_asc(style_sample::Column::Id)
        .all(db)
        .await?)
}
