//! Sending due deliveries, signed per the Standard Webhooks spec.
//!
//! - **Fair**: free sending slots go round robin over the workspaces with
//!   due deliveries, within caps per instance, per workspace and per
//!   endpoint (`fair`), and a slot is refilled as soon as its attempt ends,
//!   so a slow or flooded workspace holds up nobody else.
//! - **Once per attempt, across instances**: a delivery is claimed just
//!   before it is sent, by pushing its `next_attempt_at` past the attempt's
//!   whole time limit (`ATELYA_WEBHOOK_TIMEOUT_SECS`, resolving and reading
//!   the answer included) plus [`CLAIM_MARGIN`], with a conditional update.
//!   The attempt cannot outlive its claim, so no other instance takes the
//!   delivery while it is being sent; its outcome is recorded only while the
//!   claim still holds. An instance that dies mid-send frees it when the
//!   claim lapses.
//! - **Signed** (`send`): `webhook-id` (the message id, the same on every
//!   attempt), `webhook-timestamp` and `webhook-signature`, one `v1,`
//!   signature per live secret.
//! - **Retried** (`record`) on anything but a 2xx, with exponential backoff
//!   and jitter ([`RETRY_AFTER`]); a delivery that runs out of attempts is
//!   FAILED, and an endpoint whose deliveries fail for good
//!   [`DISABLE_AFTER`] times in a row is disabled, with an activity entry.
//! - **Safe**: the URL is checked again before each attempt through
//!   `outbound` (DNS may have changed) and the request connects only to the
//!   addresses that passed, through no proxy, following no redirect; only
//!   the first bytes of an answer are read.

mod fair;
mod record;
mod send;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use entity::webhook_delivery;
use sea_orm::{
    sea_query::Expr, ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
};
use tokio::task::JoinSet;
use uuid::Uuid;

pub use record::{DISABLE_AFTER, RETRY_AFTER};

use super::DeliveryState;
use crate::{error::AppResult, state::SharedState};
use fair::{Caps, Due, Slots};

/// How much longer than an attempt's time limit a claim lasts: time to
/// record the outcome, and for clocks of instances that differ a little.
pub const CLAIM_MARGIN: TimeDelta = TimeDelta::seconds(30);
/// How often due deliveries are looked for when no attempt ends meanwhile.
const TICK: Duration = Duration::from_millis(250);
/// The least time between two looks, however fast attempts end, so a
/// backlog of quick deliveries does not turn into a stream of queries.
const MIN_GAP: Duration = Duration::from_millis(50);
/// Endpoints with due deliveries considered in one pass, those waiting longest first.
const CANDIDATES: u64 = 500;

/// Sends due deliveries until the process stops; stopping it abandons the
/// attempts in flight, whose claims then lapse and which are sent again.
pub fn spawn_dispatcher(state: SharedState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let settings = &state.config.webhooks;
        let slots = Slots::new(Caps {
            total: settings.concurrency,
            workspace: settings.workspace_concurrency,
            endpoint: settings.endpoint_concurrency,
        });
        let mut sending = JoinSet::new();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_look = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                Some(_) = sending.join_next(), if !sending.is_empty() => {}
            }
            tokio::time::sleep_until(last_look + MIN_GAP).await;
            last_look = tokio::time::Instant::now();
            while sending.try_join_next().is_some() {}
            match fill(&state, &slots, &mut sending).await {
                Ok(()) if sending.is_empty() => {
                    crate::state::Rounds::completed(&state.rounds.webhooks_idle)
                }
                Ok(()) => {}
                Err(err) => tracing::warn!(error = %err, "webhook dispatch failed; will retry"),
            }
        }
    })
}

/// Claims and starts as many due deliveries as there are free slots, fairly.
#[tracing::instrument(level = "debug", skip_all)]
async fn fill(state: &SharedState, slots: &Arc<Slots>, sending: &mut JoinSet<()>) -> AppResult<()> {
    if slots.free() == 0 {
        return Ok(());
    }
    let now = state.clock.now();
    let due = due_endpoints(state, now).await?;
    let claim = claim_length(state);
    for pick in slots.plan(&due) {
        let Some(slot) = slots.take(pick) else {
            continue;
        };
        if let Some((delivery, claimed_until)) =
            claim_next(state, pick.endpoint, now, claim).await?
        {
            sending.spawn(send::attempt(state.clone(), delivery, claimed_until, slot));
        }
    }
    Ok(())
}

/// How long a claim lasts: the attempt's whole time limit and [`CLAIM_MARGIN`].
fn claim_length(state: &SharedState) -> TimeDelta {
    let limit = i64::try_from(state.config.webhooks.timeout_secs).unwrap_or(i64::MAX / 2_000);
    TimeDelta::seconds(limit) + CLAIM_MARGIN
}

#[derive(FromQueryResult)]
struct DueRow {
    workspace_id: Uuid,
    endpoint_id: Uuid,
    due: i64,
}

/// The endpoints with deliveries due, those waiting longest first.
async fn due_endpoints(state: &SharedState, now: DateTime<Utc>) -> AppResult<Vec<Due>> {
    use webhook_delivery::Column;
    let rows = webhook_delivery::Entity::find()
        .select_only()
        .column(Column::WorkspaceId)
        .column(Column::EndpointId)
        .column_as(Column::Id.count(), "due")
        .filter(Column::State.eq(DeliveryState::Pending))
        .filter(Column::NextAttemptAt.lte(now))
        .group_by(Column::WorkspaceId)
        .group_by(Column::EndpointId)
        .order_by_asc(Column::NextAttemptAt.min())
        .limit(CANDIDATES)
        .into_model::<DueRow>()
        .all(state.db.conn())
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| Due {
            workspace: row.workspace_id,
            endpoint: row.endpoint_id,
            count: usize::try_from(row.due).unwrap_or(0),
        })
        .collect())
}

/// Claims the endpoint's oldest due delivery that no other instance took
/// first; returns it with the time its claim lasts until.
async fn claim_next(
    state: &SharedState,
    endpoint: Uuid,
    now: DateTime<Utc>,
    claim: TimeDelta,
) -> AppResult<Option<(webhook_delivery::Model, DateTime<Utc>)>> {
    use webhook_delivery::Column;
    let due = webhook_delivery::Entity::find()
        .filter(Column::EndpointId.eq(endpoint))
        .filter(Column::State.eq(DeliveryState::Pending))
        .filter(Column::NextAttemptAt.lte(now))
        .order_by_asc(Column::NextAttemptAt)
        .order_by_asc(Column::Id)
        .limit(4)
        .all(state.db.conn())
        .await?;
    let until = now + claim;
    for delivery in due {
        let txn = state.db.begin().await?;
        let claimed = webhook_delivery::Entity::update_many()
            .col_expr(Column::NextAttemptAt, Expr::value(until))
            .filter(Column::Id.eq(delivery.id))
            .filter(Column::State.eq(DeliveryState::Pending))
            .filter(Column::NextAttemptAt.eq(delivery.next_attempt_at))
            .exec(&*txn)
            .await?;
        txn.commit().await?;
        if claimed.rows_affected == 1 {
            return Ok(Some((delivery, until)));
        }
    }
    Ok(None)
}
