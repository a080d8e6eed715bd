//! Webhook endpoints (owner and admin): creating one (its `whsec_` secret
//! shown once, sealed at rest), changing, deleting, rotating its secret, and
//! the checks on its URL and event types.

use std::net::{IpAddr, SocketAddr};

use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use entity::webhook_endpoint;
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    activity::{self, NewActivity},
    auth::{policy, Action, Session},
    db::WriteTxn,
    error::{AppError, AppResult},
    ids::{self, Kind},
    input,
    state::AppState,
};

/// Event types that are not activity actions.
pub const SPECIAL_EVENTS: [&str; 2] = ["approval.requested", "credits.low"];
/// How long the secret before a rotation still signs, so receivers can switch.
pub const ROTATION_OVERLAP: TimeDelta = TimeDelta::hours(24);
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
    input: EndpointInput,
) -> AppResult<(String, webhook_endpoint::Model)> {
    policy::require(session, Action::Administer)?;
    let checked = check(state, input).await?;
    let now = state.clock.now();
    let id = Uuid::now_v7();
    let secret = new_secret();
    let row = webhook_endpoint::Model {
        id,
        workspace_id: session.workspace_id,
        url: checked.url,
        description: checked.description,
        events: json!(checked.events).to_string(),
        sealed_secret: state.sealer.seal(id.as_bytes(), secret.as_bytes())?,
        sealed_previous_secret: None,
        previous_secret_until: None,
        enabled: checked.enabled,
        disabled_reason: None,
        consecutive_failures: 0,
        created_by: Some(session.user.id),
        created_at: now,
        updated_at: now,
    };
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::Administer).await?;
    webhook_endpoint::Entity::insert(row.clone().into_active_model().reset_all())
        .exec_without_returning(&*txn)
        .await?;
    log(&txn, session, &row, "webhook.created", now).await?;
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
    row.events = json!(checked.events).to_string();
    row.enabled = checked.enabled;
    row.updated_at = now;
    row.clone()
        .into_active_model()
        .reset_all()
        .update(&*txn)
        .await?;
    log(&txn, session, &row, "webhook.updated", now).await?;
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
    webhook_endpoint::Entity::delete_by_id(id)
        .exec(&*txn)
        .await?;
    log(&txn, session, &row, "webhook.deleted", now).await?;
    txn.commit().await
}

/// A new secret; the old one still signs (a second `v1,` signature) for
/// [`ROTATION_OVERLAP`], so a receiver can switch without missing events.
#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, endpoint = %id))]
pub async fn rotate(
    state: &AppState,
    session: &Session,
    id: Uuid,
) -> AppResult<(String, webhook_endpoint::Model)> {
    policy::require(session, Action::Administer)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::Administer).await?;
    let mut row = find(&*txn, session.workspace_id, id).await?;
    let secret = new_secret();
    row.sealed_previous_secret = Some(row.sealed_secret.clone());
    row.previous_secret_until = Some(now + ROTATION_OVERLAP);
    row.sealed_secret = state.sealer.seal(id.as_bytes(), secret.as_bytes())?;
    row.updated_at = now;
    row.clone()
        .into_active_model()
        .reset_all()
        .update(&*txn)
        .await?;
    log(&txn, session, &row, "webhook.secret_rotated", now).await?;
    txn.commit().await?;
    Ok((secret, row))
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
    crate::db::scoped::<webhook_endpoint::Entity>(db, id, workspace_id)
        .await?
        .ok_or(AppError::NotFound("webhook endpoint"))
}

/// The event types an endpoint receives.
pub fn events_of(row: &webhook_endpoint::Model) -> AppResult<Vec<String>> {
    serde_json::from_str(&row.events)
        .map_err(|e| AppError::Internal(format!("webhook events are not a list: {e}")))
}

async fn log(
    txn: &WriteTxn,
    session: &Session,
    row: &webhook_endpoint::Model,
    action: &'static str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action,
        target_type: "WebhookEndpoint",
        target_id: Some(ids::encode(Kind::WebhookEndpoint, row.id)),
        summary: format!(
            "{} changed the webhook endpoint {}",
            session.user.name, row.url
        ),
        metadata: json!({ "url": row.url, "events": events_of(row)?, "enabled": row.enabled }),
    };
    activity::record(txn, session.workspace_id, entry, now).await?;
    Ok(())
}

/// `whsec_` and 32 random bytes in base64, as Standard Webhooks libraries read it.
fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
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
    check_url(&url, state.config.webhook_allow_private).await?;
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
                "{event:?} is not an event type: use workroom.completed, workroom.failed, approval.requested, credits.low or an activity action"
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

/// An activity action (`word.word`, lower case) or one of [`SPECIAL_EVENTS`].
fn valid_event(event: &str) -> bool {
    SPECIAL_EVENTS.contains(&event)
        || (event.len() <= 100
            && event.contains('.')
            && event.split('.').all(|part| {
                !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            }))
}

/// An http(s) URL without credentials whose host (unless `allow_private`)
/// resolves only to public addresses: never loopback, private, link-local
/// or otherwise internal ones, so an endpoint cannot reach into the
/// server's own network. Checked again before every delivery.
pub async fn check_url(raw: &str, allow_private: bool) -> AppResult<reqwest::Url> {
    Ok(resolve_url(raw, allow_private).await?.url)
}

/// A checked URL, and the addresses its host name resolved to when they
/// were checked (none for an IP literal, or when private ones are allowed).
pub struct Resolved {
    pub url: reqwest::Url,
    pub pinned: Option<(String, Vec<SocketAddr>)>,
}

/// [`check_url`], keeping the addresses that passed, so that the request
/// connects to exactly those: a name that resolves to a public address when
/// checked and to an internal one a moment later (DNS rebinding) gets nowhere.
pub async fn resolve_url(raw: &str, allow_private: bool) -> AppResult<Resolved> {
    let bad = |why: &str| AppError::bad_input(format!("url {why}"));
    let url = reqwest::Url::parse(raw).map_err(|_| bad("is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not hold credentials"));
    }
    let host = url.host_str().ok_or_else(|| bad("has no host"))?.to_owned();
    if allow_private {
        return Ok(Resolved { url, pinned: None });
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let (addresses, pinned) = match bare.parse::<IpAddr>() {
        Ok(ip) => (vec![SocketAddr::new(ip, port)], false),
        Err(_) => {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
                .await
                .map_err(|_| bad("has a host that does not resolve"))?
                .collect();
            (resolved, true)
        }
    };
    if addresses.is_empty() || addresses.iter().any(|addr| !is_public(addr.ip())) {
        return Err(bad(
            "must reach a public address (loopback, private and link-local ones are refused)",
        ));
    }
    Ok(Resolved {
        pinned: pinned.then_some((host, addresses)),
        url,
    })
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
                || (a == 198 && (b == 18 || b == 19))) // benchmarking
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80) // link-local
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_public_http_urls_are_accepted() {
        for refused in [
            "ftp://example.com/hook",
            "http://user:pass@example.com/hook",
            "not a url",
            "http://127.0.0.1/hook",
            "http://localhost:8080/hook",
            "http://10.1.2.3/hook",
            "http://172.16.0.1/hook",
            "http://192.168.1.1/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/hook",
            "http://0.0.0.0/hook",
            "http://[::1]/hook",
            "http://[fd00::1]/hook",
            "http://[fe80::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
        ] {
            assert!(check_url(refused, false).await.is_err(), "{refused}");
        }
        for accepted in [
            "https://93.184.216.34/hook",
            "http://[2606:4700::1111]:8443/x",
        ] {
            assert!(check_url(accepted, false).await.is_ok(), "{accepted}");
        }
        assert!(check_url("http://127.0.0.1:9/hook", true).await.is_ok());
        // An address written in the URL is the one connected to: nothing to pin.
        let literal = resolve_url("https://93.184.216.34/hook", false)
            .await
            .unwrap();
        assert!(literal.pinned.is_none());
        assert!(check_url("ftp://127.0.0.1/hook", true).await.is_err());
    }

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
        for invalid in ["", "workroom", "Workroom.Completed", "a..b", "a.b-c", ".a"] {
            assert!(!valid_event(invalid), "{invalid}");
        }
    }

    #[test]
    fn a_secret_is_whsec_and_32_bytes_of_base64() {
        let secret = new_secret();
        let key = secret.strip_prefix("whsec_").unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key)
            .unwrap();
        assert_eq!(bytes.len(), 32);
        assert_ne!(secret, new_secret());
    }
}
