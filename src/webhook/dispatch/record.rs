//! Writing an attempt to the delivery log: the next attempt (with backoff)
//! or the delivery's end, and disabling an endpoint that keeps failing.
//! Written only while the attempt's claim still holds, so an attempt whose
//! delivery was meanwhile sent again (`redeliverWebhook`) changes nothing.

use chrono::{DateTime, TimeDelta, Utc};
use entity::{webhook_delivery, webhook_endpoint};
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    ColumnTrait, EntityTrait, QueryFilter,
};
use serde_json::json;

use super::send::Outcome;
use crate::{
    activity::{self, ActivityAction, NewActivity},
    error::{AppError, AppResult},
    ids::{self, Kind},
    outbound,
    state::SharedState,
    webhook::DeliveryState,
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

/// Writes the attempt to the delivery log, schedules the next one or ends
/// the delivery, and disables an endpoint that keeps failing.
pub async fn record(
    state: &SharedState,
    delivery: webhook_delivery::Model,
    endpoint: Option<webhook_endpoint::Model>,
    outcome: Outcome,
    claimed_until: DateTime<Utc>,
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
        tracing::info!(delivery = %delivery.id, attempts, status = ?outcome.status, "a webhook attempt failed");
    }
    let txn = state.db.begin().await?;
    use webhook_delivery::Column;
    let written = webhook_delivery::Entity::update_many()
        .col_expr(Column::State, Expr::value(state_after))
        .col_expr(Column::Attempts, Expr::value(attempts))
        .col_expr(
            Column::LastStatusCode,
            Expr::value(outcome.status.map(i32::from)),
        )
        .col_expr(Column::LastLatencyMs, Expr::value(outcome.latency_ms))
        .col_expr(Column::LastResponse, Expr::value(outcome.snippet))
        .col_expr(Column::LastAttemptAt, Expr::value(now))
        .col_expr(Column::NextAttemptAt, Expr::value(next))
        .filter(Column::Id.eq(delivery.id))
        .filter(Column::State.eq(DeliveryState::Pending))
        .filter(Column::NextAttemptAt.eq(claimed_until))
        .exec(&*txn)
        .await?;
    if written.rows_affected == 0 {
        tracing::warn!(delivery = %delivery.id, "a webhook attempt ended after its claim was taken over; not recorded");
        return txn.commit().await;
    }
    if let Some(endpoint) = endpoint.filter(|e| e.enabled) {
        if succeeded {
            reset_failures(&txn, &endpoint).await?;
        } else if state_after == DeliveryState::Failed {
            count_failure(&txn, &endpoint, outcome.status, now).await?;
        }
    }
    txn.commit().await
}

async fn reset_failures(
    txn: &crate::db::WriteTxn,
    endpoint: &webhook_endpoint::Model,
) -> AppResult<()> {
    webhook_endpoint::Entity::update_many()
        .col_expr(
            webhook_endpoint::Column::ConsecutiveFailures,
            Expr::value(0),
        )
        .filter(webhook_endpoint::Column::Id.eq(endpoint.id))
        .exec(&**txn)
        .await?;
    Ok(())
}

/// Counts a delivery failed for good (in the database: deliveries to one
/// endpoint end concurrently) and disables the endpoint at [`DISABLE_AFTER`].
async fn count_failure(
    txn: &crate::db::WriteTxn,
    endpoint: &webhook_endpoint::Model,
    last_status: Option<u16>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    webhook_endpoint::Entity::update_many()
        .col_expr(
            webhook_endpoint::Column::ConsecutiveFailures,
            Expr::col(webhook_endpoint::Column::ConsecutiveFailures).add(1),
        )
        .filter(webhook_endpoint::Column::Id.eq(endpoint.id))
        .exec(&**txn)
        .await?;
    let counted = webhook_endpoint::Entity::find_by_id(endpoint.id)
        .one(&**txn)
        .await?
        .ok_or(AppError::NotFound("webhook endpoint"))?;
    if counted.enabled && counted.consecutive_failures >= DISABLE_AFTER {
        disable(txn, &counted, last_status, now).await?;
    }
    Ok(())
}

/// Disables an endpoint whose deliveries keep failing, and says why (with
/// its id and its URL's scheme and host only).
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
    let id = ids::encode(Kind::WebhookEndpoint, endpoint.id);
    let origin = outbound::origin(&endpoint.url);
    let entry = NewActivity {
        actor_id: None,
        api_key: None,
        action: ActivityAction::WebhookDisabled,
        target_type: "WebhookEndpoint",
        target_id: Some(id.clone()),
        summary: format!("The webhook endpoint {id} ({origin}) was disabled"),
        metadata: json!({
            "endpointId": id,
            "scheme": origin.scheme,
            "host": origin.host,
            "reason": reason,
        }),
    };
    activity::record(txn, endpoint.workspace_id, entry, now).await?;
    Ok(())
}

/// The delay with up to a fifth either way, so retries of many deliveries spread out.
fn jitter(delay: TimeDelta) -> TimeDelta {
    let factor = 0.8 + rand::random::<f64>() * 0.4;
    TimeDelta::milliseconds((delay.num_milliseconds() as f64 * factor) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

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
