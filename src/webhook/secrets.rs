//! An endpoint's signing secrets: the current one, sealed on the endpoint's
//! row, and the earlier ones, each in a `webhook_secrets` row of its own
//! with its own expiry. Rotating makes the current secret an earlier one
//! for [`ROTATION_OVERLAP`]; every secret inside its overlap signs too (one
//! `v1,` signature each), so a receiver that has any of them keeps
//! verifying, however often the secret was rotated within the day.

use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use entity::{webhook_endpoint, webhook_secret};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use sha2::Sha256;
use uuid::Uuid;

use super::endpoint;
use crate::{
    activity::ActivityAction,
    auth::{policy, Action, Session},
    error::{AppError, AppResult},
    state::AppState,
};

/// How long a secret replaced by a rotation still signs, so receivers can switch.
pub const ROTATION_OVERLAP: TimeDelta = TimeDelta::hours(24);
/// Earlier secrets an endpoint keeps at once (so a delivery carries at most
/// one signature more than this); another rotation within their overlap
/// is RATE_LIMITED.
pub const MAX_EARLIER: u64 = 5;

/// `whsec_` and 32 random bytes in base64, as Standard Webhooks libraries read it.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// A new current secret; the one it replaces signs beside it for
/// [`ROTATION_OVERLAP`], and so do earlier ones still inside theirs.
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
    let mut row = endpoint::find(&*txn, session.workspace_id, id).await?;
    webhook_secret::Entity::delete_many()
        .filter(webhook_secret::Column::EndpointId.eq(id))
        .filter(webhook_secret::Column::ExpiresAt.lte(now))
        .exec(&*txn)
        .await?;
    let earlier = webhook_secret::Entity::find()
        .filter(webhook_secret::Column::EndpointId.eq(id))
        .count(&*txn)
        .await?;
    if earlier >= MAX_EARLIER {
        return Err(AppError::RateLimited(format!(
            "an endpoint keeps at most {MAX_EARLIER} earlier secrets, each for 24 hours after its rotation; rotate again later"
        )));
    }
    let sealer = &state.sealer;
    let current = sealer.open(id.as_bytes(), &row.sealed_secret)?;
    let kept_id = Uuid::now_v7();
    let kept = webhook_secret::Model {
        id: kept_id,
        endpoint_id: id,
        sealed_secret: sealer.seal(kept_id.as_bytes(), &current)?,
        expires_at: now + ROTATION_OVERLAP,
        created_at: now,
    };
    webhook_secret::Entity::insert(kept.into_active_model().reset_all())
        .exec_without_returning(&*txn)
        .await?;
    let secret = new_secret();
    row.sealed_secret = sealer.seal(id.as_bytes(), secret.as_bytes())?;
    row.updated_at = now;
    row.clone()
        .into_active_model()
        .reset_all()
        .update(&*txn)
        .await?;
    endpoint::log(
        &txn,
        session,
        &row,
        ActivityAction::WebhookSecretRotated,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((secret, row))
}

/// Every secret that signs now, opened: the current one first, then the
/// earlier ones still inside their overlap, newest first.
pub async fn signing(
    state: &AppState,
    db: &impl ConnectionTrait,
    endpoint: &webhook_endpoint::Model,
    now: DateTime<Utc>,
) -> AppResult<Vec<Vec<u8>>> {
    let sealer = &state.sealer;
    let mut keys = vec![sealer.open(endpoint.id.as_bytes(), &endpoint.sealed_secret)?];
    let earlier = webhook_secret::Entity::find()
        .filter(webhook_secret::Column::EndpointId.eq(endpoint.id))
        .filter(webhook_secret::Column::ExpiresAt.gt(now))
        .order_by_desc(webhook_secret::Column::ExpiresAt)
        .all(db)
        .await?;
    for secret in earlier {
        keys.push(sealer.open(secret.id.as_bytes(), &secret.sealed_secret)?);
    }
    Ok(keys)
}

/// The `webhook-signature` header: one `v1,` signature per secret.
pub fn signatures(
    secrets: &[Vec<u8>],
    message_id: &str,
    timestamp: i64,
    payload: &str,
) -> AppResult<String> {
    let signed: AppResult<Vec<String>> = secrets
        .iter()
        .map(|secret| sign(secret, message_id, timestamp, payload))
        .collect();
    Ok(signed?.join(" "))
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
