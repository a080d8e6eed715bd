//! Sending due deliveries, signed per the Standard Webhooks spec.
//!
//! - **Once per event, across instances**: a dispatcher claims a delivery by
//!   pushing its `next_attempt_at` forward with a conditional update (the
//!   email outbox does the same), so exactly one instance sends each
//!   attempt; one that dies mid-send frees it after [`CLAIM`].
//! - **Signed**: `webhook-id` (the message id, the same on every attempt),
//!   `webhook-timestamp` (Unix seconds) and `webhook-signature`, `v1,` and
//!   the base64 HMAC-SHA256 of `id.timestamp.body` with the endpoint's key;
//!   during a rotation's overlap the previous key signs too.
//! - **Retried** on anything but a 2xx, with exponential backoff and jitter
//!   ([`RETRY_AFTER`], about a day in all); a delivery that runs out of
//!   attempts is FAILED, and an endpoint whose deliveries fail for good
//!   [`DISABLE_AFTER`] times in a row is disabled, with an activity entry.
//! - **Safe**: the URL is checked again before each attempt (DNS may have
//!   changed) and the request connects only to the addresses that passed;
//!   redirects are not followed, and connecting and the whole request have
//!   timeouts. A response's body is kept only as a short snippet.

use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use entity::{webhook_delivery, webhook_endpoint};
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use sha2::Sha256;

use super::{endpoint, DeliveryState};
use crate::{
    activity::{self, NewActivity},
    error::{AppError, AppResult},
    ids::{self, Kind},
    state::SharedState,
};

/// Delays before each retry; the first attempt is at once. With jitter the
/// whole schedule spans about 27 hours.
pub const RETRY_AFTER: [TimeDelta; 7] = [
    TimeDelta::seconds(5),
    TimeDelta::minutes(5),
    TimeDelta::minutes(30),
    TimeDelta::hours(2),
    TimeDelta::hours(5),
    TimeDelta::hours(10),
    TimeDelta::hours(10),
];
/// Deliveries failed for good in a row (no success between) that disable an endpoint.
pub const DISABLE_AFTER: i32 = 3;
/// How long a claim lasts.
const CLAIM: TimeDelta = TimeDelta::seconds(60);
/// Deliveries sent at once by one instance.
const CONCURRENCY: usize = 8;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(15);
/// Bytes of a response's body kept in the delivery log.
const SNIPPET: usize = 1_024;

/// Sends due deliveries every half second until the process stops.
pub fn spawn_dispatcher(state: SharedState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = match client() {
            Ok(client) => client,
            Err(err) => {
                tracing::error!(error = %err, "webhooks cannot be sent: no HTTP client");
                return;
            }
        };
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(err) = dispatch_due(&state, &client).await {
                tracing::warn!(error = %err, "webhook dispatch failed; will retry");
            }
        }
    })
}

fn client() -> reqwest::Result<reqwest::Client> {
    client_builder().build()
}

/// No redirects (a redirect could lead anywhere), and timeouts.
fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .user_agent(concat!("Atelya-Webhooks/", env!("CARGO_PKG_VERSION")))
}

#[tracing::instrument(level = "debug", skip_all)]
async fn dispatch_due(state: &SharedState, client: &reqwest::Client) -> AppResult<()> {
    let now = state.clock.now();
    let due = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::State.eq(DeliveryState::Pending.as_str()))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
        .order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .limit(50)
        .all(state.db.conn())
        .await?;
    let mut claimed = Vec::new();
    for delivery in due {
        if claim(state, &delivery, now).await? {
            claimed.push(delivery);
        }
    }
    futures_util::stream::iter(claimed)
        .for_each_concurrent(CONCURRENCY, |delivery| async move {
            let id = delivery.id;
            if let Err(err) = attempt(state, client, delivery).await {
                tracing::warn!(delivery = %id, error = %err, "a webhook attempt could not be recorded");
            }
        })
        .await;
    Ok(())
}

async fn claim(
    state: &SharedState,
    delivery: &webhook_delivery::Model,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let txn = state.db.begin().await?;
    let claimed = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(now + CLAIM),
        )
        .filter(webhook_delivery::Column::Id.eq(delivery.id))
        .filter(webhook_delivery::Column::State.eq(DeliveryState::Pending.as_str()))
        .filter(webhook_delivery::Column::NextAttemptAt.eq(delivery.next_attempt_at))
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    Ok(claimed.rows_affected == 1)
}

/// What one attempt got.
struct Outcome {
    status: Option<u16>,
    latency_ms: i32,
    snippet: String,
}

impl Outcome {
    fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

#[tracing::instrument(level = "debug", skip_all, fields(delivery = %delivery.id, attempt = delivery.attempts + 1))]
async fn attempt(
    state: &SharedState,
    client: &reqwest::Client,
    delivery: webhook_delivery::Model,
) -> AppResult<()> {
    let endpoint = webhook_endpoint::Entity::find_by_id(delivery.endpoint_id)
        .one(state.db.conn())
        .await?;
    let outcome = match &endpoint {
        Some(endpoint) if endpoint.enabled => send(state, client, endpoint, &delivery).await,
        _ => Outcome {
            status: None,
            latency_ms: 0,
            snippet: "the endpoint is disabled or gone".into(),
        },
    };
    record(state, delivery, endpoint, outcome).await
}

/// Signs and sends one attempt; a refused URL or a transport error is an
/// attempt without a status.
async fn send(
    state: &SharedState,
    client: &reqwest::Client,
    endpoint: &webhook_endpoint::Model,
    delivery: &webhook_delivery::Model,
) -> Outcome {
    let started = Instant::now();
    let failed = |snippet: String| Outcome {
        status: None,
        latency_ms: elapsed_ms(started),
        snippet,
    };
    let resolved =
        match endpoint::resolve_url(&endpoint.url, state.config.webhook_allow_private).await {
            Ok(resolved) => resolved,
            Err(err) => return failed(err.to_string()),
        };
    // A host name connects only to the addresses just checked.
    let pinned_client;
    let client = match &resolved.pinned {
        Some((host, addresses)) => match client_builder().resolve_to_addrs(host, addresses).build()
        {
            Ok(pinned) => {
                pinned_client = pinned;
                &pinned_client
            }
            Err(err) => return failed(err.to_string()),
        },
        None => client,
    };
    let url = resolved.url;
    let timestamp = state.clock.now().timestamp();
    let signature = match signatures(
        state,
        endpoint,
        &delivery.message_id,
        timestamp,
        &delivery.payload,
    ) {
        Ok(signature) => signature,
        Err(err) => return failed(err.to_string()),
    };
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &delivery.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(delivery.payload.clone())
        .send()
        .await;
    match response {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.bytes().await.unwrap_or_default();
            let snippet = String::from_utf8_lossy(&body[..body.len().min(SNIPPET)]).into_owned();
            Outcome {
                status: Some(status),
                latency_ms: elapsed_ms(started),
                snippet,
            }
        }
        // Without the URL, which may carry a token in its query.
        Err(err) => failed(err.without_url().to_string()),
    }
}

/// The `webhook-signature` header: one `v1,` signature per live key.
fn signatures(
    state: &SharedState,
    endpoint: &webhook_endpoint::Model,
    message_id: &str,
    timestamp: i64,
    payload: &str,
) -> AppResult<String> {
    let mut keys = vec![&endpoint.sealed_secret];
    if let (Some(previous), Some(until)) = (
        &endpoint.sealed_previous_secret,
        endpoint.previous_secret_until,
    ) {
        if until > state.clock.now() {
            keys.push(previous);
        }
    }
    let mut signatures = Vec::with_capacity(keys.len());
    for sealed in keys {
        let secret = state.sealer.open(endpoint.id.as_bytes(), sealed)?;
        signatures.push(sign(&secret, message_id, timestamp, payload)?);
    }
    Ok(signatures.join(" "))
}

/// `v1,` and the base64 HMAC-SHA256 of `id.timestamp.payload`, keyed with the
/// bytes the `whsec_` secret encodes.
pub fn sign(secret: &[u8], message_id: &str, timestamp: i64, payload: &str) -> AppResult<String> {
    let secret = std::str::from_utf8(secret).map_err(|e| AppError::Internal(e.to_string()))?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|e| AppError::Internal(format!("a webhook secret is not base64: {e}")))?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&key).map_err(|e| AppError::Internal(e.to_string()))?;
    mac.update(format!("{message_id}.{timestamp}.{payload}").as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    Ok(format!("v1,{signature}"))
}

/// Writes the attempt to the delivery log, schedules the next one or ends
/// the delivery, and disables an endpoint that keeps failing.
async fn record(
    state: &SharedState,
    delivery: webhook_delivery::Model,
    endpoint: Option<webhook_endpoint::Model>,
    outcome: Outcome,
) -> AppResult<()> {
    let now = state.clock.now();
    let attempts = delivery.attempts + 1;
    let succeeded = outcome.succeeded();
    let retry = RETRY_AFTER
        .get(delivery.attempts as usize)
        .filter(|_| !succeeded);
    let endpoint_usable = endpoint.as_ref().is_some_and(|e| e.enabled);
    let (state_after, next) = match (succeeded, retry) {
        (true, _) => (DeliveryState::Succeeded, None),
        (false, Some(delay)) if endpoint_usable => {
            (DeliveryState::Pending, Some(now + jitter(*delay)))
        }
        _ => (DeliveryState::Failed, None),
    };
    if !succeeded {
        tracing::info!(
            delivery = %delivery.id,
            attempts,
            status = ?outcome.status,
            "a webhook attempt failed"
        );
    }
    let txn = state.db.begin().await?;
    webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::State,
            Expr::value(state_after.as_str()),
        )
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(attempts))
        .col_expr(
            webhook_delivery::Column::LastStatusCode,
            Expr::value(outcome.status.map(i32::from)),
        )
        .col_expr(
            webhook_delivery::Column::LastLatencyMs,
            Expr::value(outcome.latency_ms),
        )
        .col_expr(
            webhook_delivery::Column::LastResponse,
            Expr::value(outcome.snippet),
        )
        .col_expr(webhook_delivery::Column::LastAttemptAt, Expr::value(now))
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(next))
        .filter(webhook_delivery::Column::Id.eq(delivery.id))
        .exec(&*txn)
        .await?;
    if let Some(endpoint) = endpoint.filter(|e| e.enabled) {
        if succeeded {
            webhook_endpoint::Entity::update_many()
                .col_expr(
                    webhook_endpoint::Column::ConsecutiveFailures,
                    Expr::value(0),
                )
                .filter(webhook_endpoint::Column::Id.eq(endpoint.id))
                .exec(&*txn)
                .await?;
        } else if state_after == DeliveryState::Failed {
            // Counted in the database: deliveries to one endpoint end concurrently.
            webhook_endpoint::Entity::update_many()
                .col_expr(
                    webhook_endpoint::Column::ConsecutiveFailures,
                    Expr::col(webhook_endpoint::Column::ConsecutiveFailures).add(1),
                )
                .filter(webhook_endpoint::Column::Id.eq(endpoint.id))
                .exec(&*txn)
                .await?;
            let counted = webhook_endpoint::Entity::find_by_id(endpoint.id)
                .one(&*txn)
                .await?
                .ok_or(AppError::NotFound("webhook endpoint"))?;
            if counted.enabled && counted.consecutive_failures >= DISABLE_AFTER {
                disable(&txn, &counted, outcome.status, now).await?;
            }
        }
    }
    txn.commit().await
}

/// Disables an endpoint whose deliveries keep failing, and says why.
async fn disable(
    txn: &crate::db::WriteTxn,
    endpoint: &webhook_endpoint::Model,
    last_status: Option<u16>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let reason = format!(
        "{} deliveries in a row failed after every retry; the last attempt got {}",
        endpoint.consecutive_failures,
        last_status.map_or("no answer".to_owned(), |s| format!("status {s}"))
    );
    webhook_endpoint::Entity::update_many()
        .col_expr(webhook_endpoint::Column::Enabled, Expr::value(false))
        .col_expr(
            webhook_endpoint::Column::DisabledReason,
            Expr::value(reason.clone()),
        )
        .filter(webhook_endpoint::Column::Id.eq(endpoint.id))
        .exec(&**txn)
        .await?;
    let entry = NewActivity {
        actor_id: None,
        api_key: None,
        action: "webhook.disabled",
        target_type: "WebhookEndpoint",
        target_id: Some(ids::encode(Kind::WebhookEndpoint, endpoint.id)),
        summary: format!("The webhook endpoint {} was disabled", endpoint.url),
        metadata: json!({ "url": endpoint.url, "reason": reason }),
    };
    activity::record(txn, endpoint.workspace_id, entry, now).await?;
    Ok(())
}

/// The delay with up to a fifth either way, so retries of many deliveries spread out.
fn jitter(delay: TimeDelta) -> TimeDelta {
    let factor = 0.8 + rand::random::<f64>() * 0.4;
    TimeDelta::milliseconds((delay.num_milliseconds() as f64 * factor) as i64)
}

fn elapsed_ms(started: Instant) -> i32 {
    i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_standard_webhooks_one() {
        // The example of the Standard Webhooks specification.
        let signature = sign(
            b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn the_schedule_spans_about_a_day() {
        let total: TimeDelta = RETRY_AFTER.iter().copied().sum();
        assert!(
            total > TimeDelta::hours(24) && total < TimeDelta::hours(30),
            "{total}"
        );
        for _ in 0..100 {
            let delay = jitter(TimeDelta::minutes(10));
            assert!(delay >= TimeDelta::minutes(8) && delay <= TimeDelta::minutes(12));
        }
    }
}
