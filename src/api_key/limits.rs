//! How many keys there may be, and how fast they may be made: at most
//! `ATELYA_MAX_API_KEYS` live keys per workspace (checked under the
//! workspace lock, so concurrent creations cannot pass it), and creations
//! per person (whatever workspace) and per client address (an IPv6 address
//! by its /64) per hour. Each refusal is RATE_LIMITED and creates nothing.

use chrono::{DateTime, Utc};
use entity::api_key;
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    auth::Session,
    db::WriteTxn,
    error::{AppError, AppResult},
    ratelimit::{self, Limit, Refused},
    state::AppState,
};

/// Counts one creation against the caller's and the client address's hourly
/// allowances (0 turns either off); refused, and counted against neither,
/// when either is spent.
pub async fn take_creation(state: &AppState, session: &Session, client_ip: &str) -> AppResult<()> {
    let limits = &state.config.limits;
    let allowances: Vec<(String, Limit)> = [
        (
            format!("api_keys:member:{}", session.user.id),
            limits.api_keys_per_hour_per_user,
        ),
        (
            format!("api_keys:address:{}", ratelimit::address(client_ip)),
            limits.api_keys_per_hour_per_address,
        ),
    ]
    .into_iter()
    .filter(|(_, count)| *count > 0)
    .map(|(key, count)| (key, Limit::per_hour(count).named("api_keys")))
    .collect();
    let refused = |refused: Refused| refused.error("API keys created");
    for (key, limit) in &allowances {
        state.limiter.peek(key, *limit).await.map_err(refused)?;
    }
    for (key, limit) in &allowances {
        state.limiter.take(key, *limit).await.map_err(refused)?;
    }
    Ok(())
}

/// RATE_LIMITED when the workspace already has its most live keys (neither
/// revoked nor expired). Runs under the workspace lock.
pub async fn ensure_room(
    txn: &WriteTxn,
    state: &AppState,
    workspace_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let most = u64::from(state.config.limits.max_api_keys);
    let live = api_key::Entity::find()
        .filter(api_key::Column::WorkspaceId.eq(workspace_id))
        .filter(api_key::Column::RevokedAt.is_null())
        .filter(
            Condition::any()
                .add(api_key::Column::ExpiresAt.is_null())
                .add(api_key::Column::ExpiresAt.gt(now)),
        )
        .count(&**txn)
        .await?;
    if live >= most {
        return Err(AppError::RateLimited(format!(
            "this workspace has {live} live API keys, the most it may have; revoke one first"
        )));
    }
    Ok(())
}
