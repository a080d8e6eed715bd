//! `credits.low`: the first time in a billing period that a workspace's
//! available credits (balance less what running tasks hold) fall below 10 %
//! of its plan's monthly allowance, or below [`TRIAL_THRESHOLD`] on the
//! trial, an activity entry says so (and the webhooks that asked for
//! `credits.low` receive it, from the same transaction).

use chrono::{DateTime, Utc};
use entity::{activity_event, workspace};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::billing::plans::PlanTable;
use crate::{
    activity::{self, ActivityAction, NewActivity},
    billing::{period, Plan},
    db::WriteTxn,
    error::AppResult,
    ids::{self, Kind},
};

/// Below this many available credits, a trial is low.
pub const TRIAL_THRESHOLD: i64 = 50;

/// Where a plan's credits count as low.
pub fn threshold(plan: Plan) -> i64 {
    match plan {
        Plan::FreeTrial => TRIAL_THRESHOLD,
        plan => plan.monthly_credits() / 10,
    }
}

/// After a charge moved `ws` (as it was before) to `balance_after`: records
/// `credits.low` if this crossed the threshold and the period has none yet.
pub async fn check(
    txn: &WriteTxn,
    ws: &workspace::Model,
    balance_after: i64,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let threshold = threshold(ws.plan);
    let (before, after) = (
        ws.credit_balance - ws.credit_reserved,
        balance_after - ws.credit_reserved,
    );
    if !(after < threshold && before >= threshold) {
        return Ok(());
    }
    let start = period::current(ws)?.start;
    let already = activity_event::Entity::find()
        .filter(activity_event::Column::WorkspaceId.eq(ws.id))
        .filter(activity_event::Column::Action.eq(ActivityAction::CreditsLow))
        .filter(activity_event::Column::OccurredAt.gte(start))
        .count(&**txn)
        .await?;
    if already > 0 {
        return Ok(());
    }
    let entry = NewActivity {
        actor_id: None,
        api_key: None,
        action: ActivityAction::CreditsLow,
        target_type: "Workspace",
        target_id: Some(ids::encode(Kind::Workspace, ws.id)),
        summary: format!("Credits are low: {after} available"),
        metadata: json!({ "available": after, "threshold": threshold, "plan": ws.plan }),
    };
    activity::record(txn, ws.id, entry, now).await?;
    Ok(())
}
