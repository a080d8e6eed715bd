//! One attempt: check the URL again, sign, send, and read at most the first
//! [`SNIPPET`] bytes of the answer (the connection is then dropped, so an
//! endpoint answering gigabytes costs a kilobyte), all within the attempt's
//! time limit.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entity::{webhook_delivery, webhook_endpoint};
use futures_util::StreamExt;
use sea_orm::EntityTrait;

use super::{fair::Slot, record};
use crate::{error::AppResult, outbound, state::SharedState, webhook::secrets};

/// Bytes of an answer's body read and kept in the delivery log.
pub const SNIPPET: usize = 1_024;

/// What one attempt got.
pub struct Outcome {
    pub status: Option<u16>,
    pub latency_ms: i32,
    pub snippet: String,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    fn failed(started: Instant, why: String) -> Outcome {
        Outcome {
            status: None,
            latency_ms: elapsed_ms(started),
            snippet: why,
        }
    }
}

/// Sends `delivery` once (claimed until `claimed_until`) and records what
/// happened; `slot` is given back when it is done.
#[tracing::instrument(level = "debug", skip_all, fields(delivery = %delivery.id, attempt = delivery.attempts + 1))]
pub async fn attempt(
    state: SharedState,
    delivery: webhook_delivery::Model,
    claimed_until: DateTime<Utc>,
    slot: Slot,
) {
    let id = delivery.id;
    let endpoint = match webhook_endpoint::Entity::find_by_id(delivery.endpoint_id)
        .one(state.db.conn())
        .await
    {
        Ok(endpoint) => endpoint,
        Err(err) => {
            // The claim lapses and the delivery is attempted again.
            tracing::warn!(delivery = %id, error = %err, "a webhook endpoint could not be read");
            return;
        }
    };
    let started = Instant::now();
    let limit = Duration::from_secs(state.config.webhooks.timeout_secs);
    let outcome = match &endpoint {
        Some(endpoint) if endpoint.enabled => {
            tokio::time::timeout(limit, send(&state, endpoint, &delivery))
                .await
                .unwrap_or_else(|_| {
                    Outcome::failed(started, format!("no answer within {} s", limit.as_secs()))
                })
        }
        _ => Outcome::failed(started, "the endpoint is disabled or gone".into()),
    };
    if let Err(err) = record::record(&state, delivery, endpoint, outcome, claimed_until).await {
        tracing::warn!(delivery = %id, error = %err, "a webhook attempt could not be recorded");
    }
    drop(slot);
}

/// Signs and sends one attempt; a refused URL or a transport error is an
/// attempt without a status. No message here holds the URL.
async fn send(
    state: &SharedState,
    endpoint: &webhook_endpoint::Model,
    delivery: &webhook_delivery::Model,
) -> Outcome {
    let started = Instant::now();
    match request(state, endpoint, delivery).await {
        Ok(response) => {
            let status = response.status().as_u16();
            let snippet = snippet(response, SNIPPET).await;
            Outcome {
                status: Some(status),
                latency_ms: elapsed_ms(started),
                snippet,
            }
        }
        Err(why) => Outcome::failed(started, why),
    }
}

async fn request(
    state: &SharedState,
    endpoint: &webhook_endpoint::Model,
    delivery: &webhook_delivery::Model,
) -> Result<reqwest::Response, String> {
    let target = outbound::check(&endpoint.url, state.config.webhook_allow_private)
        .await
        .map_err(|e| e.to_string())?;
    let client = target
        .client(
            outbound::builder().user_agent(concat!("Atelya-Webhooks/", env!("CARGO_PKG_VERSION"))),
        )
        .map_err(|e| e.to_string())?;
    let now = state.clock.now();
    let signature = sign(state, endpoint, delivery, now)
        .await
        .map_err(|e| e.to_string())?;
    client
        .post(target.url().clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &delivery.message_id)
        .header("webhook-timestamp", now.timestamp().to_string())
        .header("webhook-signature", signature)
        .body(delivery.payload.clone())
        .send()
        .await
        // Without the URL, which may carry a token in its path or query.
        .map_err(|e| e.without_url().to_string())
}

async fn sign(
    state: &SharedState,
    endpoint: &webhook_endpoint::Model,
    delivery: &webhook_delivery::Model,
    now: DateTime<Utc>,
) -> AppResult<String> {
    let keys = secrets::signing(state, state.db.conn(), endpoint, now).await?;
    secrets::signatures(
        &keys,
        &delivery.message_id,
        now.timestamp(),
        &delivery.payload,
    )
}

/// At most the first `cap` bytes of the body, as text of at most `cap`
/// bytes; the rest is never read, and dropping the response closes the
/// connection.
async fn snippet(response: reqwest::Response, cap: usize) -> String {
    let mut kept = Vec::with_capacity(cap.min(4_096));
    let mut body = response.bytes_stream();
    while kept.len() < cap {
        match body.next().await {
            Some(Ok(chunk)) => {
                let room = cap - kept.len();
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            _ => break,
        }
    }
    let mut text = String::from_utf8_lossy(&kept).into_owned();
    let mut end = text.len().min(cap);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

fn elapsed_ms(started: Instant) -> i32 {
    i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX)
}
