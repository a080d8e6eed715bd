//! How many keys there may be, and how fast they may be made: at most
//! `ATELYA_MAX_API_KEYS` live keys per workspace (checked under the
//! workspace lock, so concurrent creations cannot pass it), and creations
//! per person and per client address per hour. Each refusal is RATE_LIMITED
//! and creates nothing.

use chrono::{DateTime, TimeDelta, Utc};
use entity::api_key;
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    auth::Session,
    db::WriteTxn,
    error::{AppError, AppResult},
    ratelimit::Limit,
    state::AppState,
};

/// Counts one creation against the caller's and the client address's hourly
/// allowances; refused (and counted against neither) when either is spent.
pub async fn take_creation(state: &AppState, session: &Session, client_ip: &str) -> AppResult<()> {
    let limits = &state.config.limits;
    let hour = TimeDelta::hours(1);
    let allowances = [
        (
            format!("api_key:user:{}", session.user.id),
            Limit::new(limits.api_keys_per_hour_per_user, hour),
        ),
        (
            format!("api_key:address:{client_ip}"),
            Limit::new(limits.api_keys_per_hour_per_address, hour),
        ),
    ];
    for (key, limit) in &allowances {
        state.limiter.ensure_below(key, *limit).await?;
    }
    for (key, limit) in &allowances {
        state.limiter.record(key, *limit).await;
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
