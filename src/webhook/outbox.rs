//! The durable outbox of webhook deliveries: a delivery row per interested
//! endpoint, written in the transaction of the change that caused the
//! event, so an event is delivered if and only if its change committed.

use chrono::{DateTime, SecondsFormat, Utc};
use entity::{activity_event, webhook_delivery, webhook_endpoint};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::DeliveryState;
use crate::{
    db::WriteTxn,
    error::AppResult,
    ids::{self, Kind},
};

/// Queues `event_type` with `data` (the ids a client needs to fetch the
/// rest through the API) for every enabled endpoint of the workspace that
/// asked for it.
pub async fn enqueue(
    txn: &WriteTxn,
    workspace_id: Uuid,
    event_type: &str,
    data: Map<String, Value>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::WorkspaceId.eq(workspace_id))
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .all(&**txn)
        .await?;
    let mut wanted = Vec::new();
    for endpoint in endpoints {
        if endpoint.events.iter().any(|e| e == event_type) {
            wanted.push(endpoint.id);
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let mut data = data;
    data.insert(
        "workspaceId".into(),
        ids::encode(Kind::Workspace, workspace_id).into(),
    );
    let payload = json!({
        "type": event_type,
        "timestamp": now.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string();
    // One message id per event: every endpoint receives the same event.
    let message_id = format!("msg_{}", Uuid::now_v7().simple());
    let rows = wanted.into_iter().map(|endpoint_id| {
        webhook_delivery::Model {
            id: Uuid::now_v7(),
            workspace_id,
            endpoint_id,
            message_id: message_id.clone(),
            event_type: event_type.to_owned(),
            payload: payload.clone(),
            state: DeliveryState::Pending,
            attempts: 0,
            last_status_code: None,
            last_latency_ms: None,
            last_response: None,
            last_attempt_at: None,
            next_attempt_at: Some(now),
            created_at: now,
        }
        .into_active_model()
        .reset_all()
    });
    webhook_delivery::Entity::insert_many(rows)
        .exec_without_returning(&**txn)
        .await?;
    Ok(())
}

/// Queues an activity entry for the endpoints that asked for its action.
pub async fn enqueue_activity(txn: &WriteTxn, entry: &activity_event::Model) -> AppResult<()> {
    let mut data = Map::new();
    data.insert(
        "activityId".into(),
        ids::encode(Kind::ActivityEvent, entry.id).into(),
    );
    data.insert("action".into(), entry.action.to_string().into());
    data.insert("targetType".into(), entry.target_type.clone().into());
    data.insert("targetId".into(), entry.target_id.clone().into());
    data.insert(
        "actorId".into(),
        entry.actor_id.map(|id| ids::encode(Kind::User, id)).into(),
    );
    data.insert("summary".into(), entry.summary.clone().into());
    enqueue(
        txn,
        entry.workspace_id,
        &entry.action.to_string(),
        data,
        entry.occurred_at,
    )
    .await
}
