//! Webhook endpoints (owner and admin): creating one (its `whsec_` secret
//! shown once, sealed at rest), changing and deleting it, and the checks on
//! its URL and event types. Creating is capped: endpoints per workspace,
//! and creations per user and per client address per hour (RATE_LIMITED).
//!
//! An endpoint's URL is often a credential (Slack and Zapier hook URLs), so
//! only owners and admins read it; activity entries, which every role reads
//! and other endpoints receive, name the endpoint's id and its URL's scheme
//! and host only.

use chrono::{DateTime, TimeDelta, Utc};
use entity::json_text::JsonText;
use entity::webhook_endpoint;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

use super::secrets;
use crate::{
    activity::{self, ActivityAction, NewActivity},
    auth::{policy, Action, Session},
    db::WriteTxn,
    error::{AppError, AppResult},
    ids::{self, Kind},
    input, outbound,
    ratelimit::Limit,
    state::AppState,
};

/// Event types that are not activity actions.
pub const SPECIAL_EVENTS: [&str; 2] = ["approval.requested", "credits.low"];
const MAX_URL: usize = 2_048;
const MAX_DESCRIPTION: usize = 500;
const MAX_EVENTS: usize = 50;

/// What creating or changing an endpoint takes.
pub struct EndpointInput {
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// Creates an endpoint; returns its secret (shown this once) and its row.
#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id))]
pub async fn create(
    state: &AppState,
    session: &Session,
    client_ip: &str,
    input: EndpointInput,
) -> AppResult<(String, webhook_endpoint::Model)> {
    policy::require(session, Action::Administer)?;
    count_creation(state, session, client_ip).await?;
    let checked = check(state, input).await?;
    let now = state.clock.now();
    let id = Uuid::now_v7();
    let secret = secrets::new_secret();
    let row = webhook_endpoint::Model {
        id,
        workspace_id: session.workspace_id,
        url: checked.url,
        description: checked.description,
        events: JsonText(checked.events),
        sealed_secret: state.sealer.seal(id.as_bytes(), secret.as_bytes())?,
        enabled: checked.enabled,
        disabled_reason: None,
        consecutive_failures: 0,
        created_by: Some(session.user.id),
        created_at: now,
        updated_at: now,
    };
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::Administer).await?;
    // Counted under the workspace's lock, so concurrent creations cannot pass the cap.
    let max = state.config.webhooks.max_endpoints;
    let existing = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::WorkspaceId.eq(session.workspace_id))
        .count(&*txn)
        .await?;
    if existing >= max {
        return Err(AppError::RateLimited(format!(
            "a workspace has at most {max} webhook endpoints; delete one first"
        )));
    }
    webhook_endpoint::Entity::insert(row.clone().into_active_model().reset_all())
        .exec_without_returning(&*txn)
        .await?;
    log(&txn, session, &row, ActivityAction::WebhookCreated, now).await?;
    txn.commit().await?;
    Ok((secret, row))
}

/// Changes an endpoint. Enabling a disabled one clears why it was disabled
/// and its count of failures.
#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, endpoint = %id))]
pub async fn update(
    state: &AppState,
    session: &Session,
    id: Uuid,
    input: EndpointInput,
) -> AppResult<webhook_endpoint::Model> {
    policy::require(session, Action::Administer)?;
    let checked = check(state, input).await?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::Administer).await?;
    let mut row = find(&*txn, session.workspace_id, id).await?;
    if checked.enabled && !row.enabled {
        row.disabled_reason = None;
        row.consecutive_failures = 0;
    }
    row.url = checked.url;
    row.description = checked.description;
    row.events = JsonText(checked.events);
    row.enabled = checked.enabled;
    row.updated_at = now;
    row.clone()
        .into_active_model()
        .reset_all()
        .update(&*txn)
        .await?;
    log(&txn, session, &row, ActivityAction::WebhookUpdated, now).await?;
    txn.commit().await?;
    Ok(row)
}

/// Deletes an endpoint and its delivery log.
#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, endpoint = %id))]
pub async fn delete(state: &AppState, session: &Session, id: Uuid) -> AppResult<()> {
    policy::require(session, Action::Administer)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::Administer).await?;
    let row = find(&*txn, session.workspace_id, id).await?;
    entity::webhook_delivery::Entity::delete_many()
        .filter(entity::webhook_delivery::Column::EndpointId.eq(id))
        .exec(&*txn)
        .await?;
    entity::webhook_secret::Entity::delete_many()
        .filter(entity::webhook_secret::Column::EndpointId.eq(id))
        .exec(&*txn)
        .await?;
    webhook_endpoint::Entity::delete_by_id(id)
        .exec(&*txn)
        .await?;
    log(&txn, session, &row, ActivityAction::WebhookDeleted, now).await?;
    txn.commit().await
}

/// The workspace's endpoints, oldest first.
pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
) -> AppResult<Vec<webhook_endpoint::Model>> {
    Ok(webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(webhook_endpoint::Column::CreatedAt)
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(db)
        .await?)
}

/// An endpoint of the workspace; another workspace's is NOT_FOUND.
pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    id: Uuid,
) -> AppResult<webhook_endpoint::Model> {
    crate::db::found::<webhook_endpoint::Entity>(db, workspace_id, id, "webhook endpoint").await
}

/// Appends the endpoint's activity entry: its id and its URL's scheme and
/// host, never the whole URL.
pub(super) async fn log(
    txn: &WriteTxn,
    session: &Session,
    row: &webhook_endpoint::Model,
    action: crate::activity::ActivityAction,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let id = ids::encode(Kind::WebhookEndpoint, row.id);
    let origin = outbound::origin(&row.url);
    let done = match action {
        ActivityAction::WebhookCreated => "created",
        ActivityAction::WebhookDeleted => "deleted",
        ActivityAction::WebhookSecretRotated => "rotated the secret of",
        _ => "changed",
    };
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action,
        target_type: "WebhookEndpoint",
        target_id: Some(id.clone()),
        summary: format!(
            "{} {done} the webhook endpoint {id} ({origin})",
            session.user.name
        ),
        metadata: json!({
            "endpointId": id,
            "scheme": origin.scheme,
            "host": origin.host,
            "events": &*row.events,
            "enabled": row.enabled,
        }),
    };
    activity::record(txn, session.workspace_id, entry, now).await?;
    Ok(())
}

/// Counts one creation against the caller's and the client address's
/// hourly allowance; RATE_LIMITED (counting nothing) when either is spent.
async fn count_creation(state: &AppState, session: &Session, client_ip: &str) -> AppResult<()> {
    let settings = &state.config.webhooks;
    let hour = TimeDelta::hours(1);
    let limits = [
        (
            format!("webhook-create:user:{}", session.user.id),
            Limit::new(settings.creates_per_user_per_hour, hour),
        ),
        (
            format!("webhook-create:address:{client_ip}"),
            Limit::new(settings.creates_per_address_per_hour, hour),
        ),
    ];
    for (key, limit) in &limits {
        state.limiter.ensure_below(key, *limit).await?;
    }
    for (key, limit) in &limits {
        state.limiter.attempt(key, *limit).await?;
    }
    Ok(())
}

struct Checked {
    url: String,
    events: Vec<String>,
    description: Option<String>,
    enabled: bool,
}

/// Every field checked before anything is written.
async fn check(state: &AppState, input: EndpointInput) -> AppResult<Checked> {
    let url = input.url.trim().to_owned();
    input::limit(&url, "url", MAX_URL)?;
    outbound::check(&url, state.config.webhook_allow_private).await?;
    if input.events.is_empty() || input.events.len() > MAX_EVENTS {
        return Err(AppError::bad_input(format!(
            "events must name 1 to {MAX_EVENTS} event types"
        )));
    }
    let mut events = Vec::with_capacity(input.events.len());
    for event in input.events {
        let event = event.trim().to_owned();
        if !valid_event(&event) {
            return Err(AppError::bad_input(format!(
                "{event:?} is not an event type: use approval.requested, credits.low or an activity action (workroom.completed, member.joined, tool.called, …)"
            )));
        }
        if !events.contains(&event) {
            events.push(event);
        }
    }
    let description = input
        .description
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty());
    if let Some(description) = &description {
        input::limit(description, "description", MAX_DESCRIPTION)?;
    }
    Ok(Checked {
        url,
        events,
        description,
        enabled: input.enabled.unwrap_or(true),
    })
}

/// An activity action or one of [`SPECIAL_EVENTS`]: a name nothing sends
/// is refused, so a misspelled subscription does not wait for nothing.
fn valid_event(event: &str) -> bool {
    SPECIAL_EVENTS.contains(&event) || activity::action::named(event).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_the_special_ones_or_activity_actions() {
        for valid in [
            "workroom.completed",
            "credits.low",
            "approval.requested",
            "member.role_changed",
        ] {
            assert!(valid_event(valid), "{valid}");
        }
        for invalid in [
            "",
            "workroom",
            "Workroom.Completed",
            "a..b",
            "a.b-c",
            ".a",
            "member.joind",
            "workroom.started",
        ] {
            assert!(!valid_event(invalid), "{invalid}");
        }
    }
}
