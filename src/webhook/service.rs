//! An endpoint's delivery log, and sending a delivery again.

use entity::webhook_delivery;
use sea_orm::{
    sea_query::Expr, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use super::DeliveryState;
use crate::{
    activity::{self, ActivityAction, NewActivity},
    auth::{policy, Action, Session},
    error::{AppError, AppResult},
    ids::{self, Kind},
    page::PageArgs,
    state::AppState,
};

/// An endpoint's deliveries, newest first.
pub async fn deliveries(
    db: &impl ConnectionTrait,
    endpoint_id: Uuid,
    page: &PageArgs<Uuid>,
) -> AppResult<Vec<webhook_delivery::Model>> {
    let mut query = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint_id));
    if let Some(after) = page.after {
        query = query.filter(webhook_delivery::Column::Id.lt(after));
    }
    Ok(query
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(page.fetch_limit())
        .all(db)
        .await?)
}

/// Sends a delivery again, as soon as the dispatcher can: its state goes
/// back to PENDING (with the same message id, so a receiver that got it
/// before can tell), whatever it was.
#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, delivery = %id))]
pub async fn redeliver(
    state: &AppState,
    session: &Session,
    id: Uuid,
) -> AppResult<webhook_delivery::Model> {
    policy::require(session, Action::Administer)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::Administer).await?;
    let mut row = crate::db::scoped::<webhook_delivery::Entity>(&*txn, id, session.workspace_id)
        .await?
        .ok_or(AppError::NotFound("webhook delivery"))?;
    webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::State,
            Expr::value(DeliveryState::Pending),
        )
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now))
        .filter(webhook_delivery::Column::Id.eq(id))
        .exec(&*txn)
        .await?;
    row.state = DeliveryState::Pending;
    row.next_attempt_at = Some(now);
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::WebhookRedelivered,
        target_type: "WebhookDelivery",
        target_id: Some(ids::encode(Kind::WebhookDelivery, id)),
        summary: format!("{} asked for a webhook delivery again", session.user.name),
        metadata: json!({ "eventType": row.event_type, "messageId": row.message_id }),
    };
    activity::record(&txn, session.workspace_id, entry, now).await?;
    txn.commit().await?;
    Ok(row)
}
