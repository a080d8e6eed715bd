//! Leases: at most one instance runs a workroom at a time.

use std::collections::HashSet;

use chrono::TimeDelta;
use entity::workroom;
use sea_orm::{
    sea_query::{Expr, LockBehavior, LockType},
    ColumnTrait, Condition, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::Engine;
use crate::error::AppResult;

/// Claims up to a few runnable workrooms whose lease is free or expired.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn claim(engine: &Engine, running: &HashSet<Uuid>) -> AppResult<Vec<Uuid>> {
    let state = &engine.state;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let mut query = workroom::Entity::find()
        .select_only()
        .column(workroom::Column::Id)
        .filter(workroom::Column::NeedsRun.eq(true))
        .filter(
            Condition::any()
                .add(workroom::Column::LeaseUntil.is_null())
                .add(workroom::Column::LeaseUntil.lt(now)),
        )
        .order_by_asc(workroom::Column::UpdatedAt)
        .limit(8);
    if state.db.backend() == DatabaseBackend::Postgres {
        // Two instances claiming at once skip each other's rows instead of waiting.
        query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let candidates: Vec<Uuid> = query.into_tuple().all(&*txn).await?;
    let mut claimed = Vec::new();
    for id in candidates.into_iter().filter(|id| !running.contains(id)) {
        let won = workroom::Entity::update_many()
            .col_expr(
                workroom::Column::LeaseOwner,
                Expr::value(engine.instance.clone()),
            )
            .col_expr(workroom::Column::LeaseUntil, Expr::value(now + ttl(engine)))
            .filter(workroom::Column::Id.eq(id))
            .filter(
                Condition::any()
                    .add(workroom::Column::LeaseUntil.is_null())
                    .add(workroom::Column::LeaseUntil.lt(now)),
            )
            .exec(&*txn)
            .await?;
        if won.rows_affected == 1 {
            claimed.push(id);
        }
    }
    txn.commit().await?;
    Ok(claimed)
}

fn ttl(engine: &Engine) -> TimeDelta {
    TimeDelta::from_std(engine.lease_ttl).unwrap_or(TimeDelta::seconds(30))
}

/// Extends this instance's lease; false when it is no longer ours.
#[tracing::instrument(level = "debug", name = "renew_lease", skip_all, fields(workroom = %id))]
pub async fn renew(engine: &Engine, id: Uuid) -> AppResult<bool> {
    let now = engine.state.clock.now();
    let txn = engine.state.db.begin().await?;
    let renewed = workroom::Entity::update_many()
        .col_expr(workroom::Column::LeaseUntil, Expr::value(now + ttl(engine)))
        .filter(workroom::Column::Id.eq(id))
        .filter(workroom::Column::LeaseOwner.eq(engine.instance.as_str()))
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    Ok(renewed.rows_affected == 1)
}

/// Gives the lease up so any instance may claim the workroom when it has work again.
#[tracing::instrument(level = "debug", skip_all, fields(workroom = %id))]
pub async fn release(engine: &Engine, id: Uuid) -> AppResult<()> {
    release_where(engine, Some(id)).await.map(|_| ())
}

/// Gives up every lease this instance holds (shutdown); returns how many.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn release_all(engine: &Engine) -> AppResult<u64> {
    release_where(engine, None).await
}

/// Releases this instance's lease of `id`, or all of them.
async fn release_where(engine: &Engine, id: Option<Uuid>) -> AppResult<u64> {
    let txn = engine.state.db.begin().await?;
    let mut update = workroom::Entity::update_many()
        .col_expr(
            workroom::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            workroom::Column::LeaseUntil,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .filter(workroom::Column::LeaseOwner.eq(engine.instance.as_str()));
    if let Some(id) = id {
        update = update.filter(workroom::Column::Id.eq(id));
    }
    let released = update.exec(&*txn).await?;
    txn.commit().await?;
    Ok(released.rows_affected)
}
