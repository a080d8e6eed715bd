//! Billing periods: monthly credits are granted once per period.
//!
//! Period n of a workspace runs from its anchor + n months to anchor + n + 1
//! months. Each monthly grant carries a period key, unique per workspace in
//! the ledger: the period's start and the allowance level the grant brings
//! the period to. An upgrade grants the difference up to the new allowance, a
//! downgrade nothing, so no sequence of plan changes yields more than the
//! highest allowance reached in a period. Renewal is a background job; each
//! renewal locks the workspace row and the period key makes a second grant
//! impossible, so any number of instances may run it, and after downtime it
//! grants every period that began meanwhile. Unused allowance carries over.

use std::time::Duration;

use async_graphql::SimpleObject;
use chrono::{DateTime, Months, SecondsFormat, Utc};
use entity::workspace;
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use uuid::Uuid;

use super::Plan;
use crate::billing::plans::PlanTable;
use crate::{
    activity::{self, ActivityAction, NewActivity},
    credit::{ledger, EntryKind, NewEntry},
    db::WriteTxn,
    error::{AppError, AppResult},
    ids::{self, Kind},
    state::SharedState,
};

/// How often each instance looks for periods that have ended.
const RENEWAL_TICK: Duration = Duration::from_secs(1);
/// Workspaces renewed per tick; the rest follow on the next ones.
const RENEWAL_BATCH: u64 = 100;

/// A workspace's current billing period.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct BillingPeriod {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Monthly credits granted in this period so far (never more than the highest allowance reached in it).
    pub granted: i32,
}

/// Where a workspace's periods are counted from, and its first period's end.
pub struct Anchor {
    pub anchor: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
}

impl Anchor {
    /// Periods counted from `now`, the first one beginning at once.
    pub fn at(now: DateTime<Utc>) -> AppResult<Anchor> {
        Ok(Anchor {
            anchor: now,
            period_end: month_after(now, 1)?,
        })
    }
}

/// The workspace's current period.
pub fn current(ws: &workspace::Model) -> AppResult<BillingPeriod> {
    let number = period_number(ws)?;
    Ok(BillingPeriod {
        start: month_after(ws.billing_anchor, number)?,
        end: ws.period_end,
        granted: crate::error::int(ws.period_granted)?,
    })
}

/// Grants what moving from `from` to `to` earns in the current period and
/// returns the credits granted. Leaving the free trial starts the first paid
/// period at `now`, as a subscription's billing anchor is its start.
pub async fn grant_for_plan_change(
    txn: &WriteTxn,
    ws: &workspace::Model,
    from: Plan,
    to: Plan,
    actor: Uuid,
    now: DateTime<Utc>,
) -> AppResult<i64> {
    let mut ws = ws.clone();
    if from == Plan::FreeTrial {
        let anchor = Anchor::at(now)?;
        (ws.billing_anchor, ws.billing_period) = (anchor.anchor, 0);
        (ws.period_end, ws.period_granted) = (anchor.period_end, 0);
    }
    let level = to.monthly_credits();
    let amount = (level - ws.period_granted).max(0);
    if amount > 0 {
        let start = current(&ws)?.start;
        let grant = NewEntry::new(
            EntryKind::MonthlyGrant,
            amount,
            format!("{} monthly credits", to.name()),
        )
        .by(Some(actor))
        .for_period(period_key(start, level));
        ledger::append(txn, ws.id, grant, now).await?;
        ws.period_granted = level;
    }
    store(txn, &ws).await?;
    Ok(amount)
}

/// Renews every period of the workspace that has ended by `now`, granting
/// each new period its plan's allowance. Returns how many periods began.
#[tracing::instrument(level = "debug", skip_all, fields(workspace = %workspace_id))]
pub async fn renew(txn: &WriteTxn, workspace_id: Uuid, now: DateTime<Utc>) -> AppResult<u32> {
    let mut ws = txn.lock_workspace(workspace_id).await?;
    let plan = ws.plan;
    let mut renewed = 0;
    let mut balance = ws.credit_balance;
    while ws.period_end <= now {
        let start = ws.period_end;
        ws.billing_period += 1;
        ws.period_end = month_after(ws.billing_anchor, period_number(&ws)? + 1)?;
        // A balance at the API's ceiling takes what fits; the period still turns.
        let level = plan.monthly_credits();
        let amount = level.min(ledger::MAX_BALANCE - balance).max(0);
        ws.period_granted = level;
        renewed += 1;
        if amount == 0 {
            continue;
        }
        let grant = NewEntry::new(
            EntryKind::MonthlyGrant,
            amount,
            format!("{} monthly credits", plan.name()),
        )
        .for_period(period_key(start, level));
        balance = ledger::append(txn, workspace_id, grant, now)
            .await?
            .balance_after;
        let entry = NewActivity {
            actor_id: None,
            api_key: None,
            action: ActivityAction::BillingPeriodRenewed,
            target_type: "Workspace",
            target_id: Some(ids::encode(Kind::Workspace, workspace_id)),
            summary: format!(
                "A new billing period began with {amount} {} credits",
                plan.name()
            ),
            metadata: json!({
                "plan": plan,
                "periodStart": start,
                "periodEnd": ws.period_end,
                "creditsGranted": amount,
            }),
        };
        activity::record(txn, workspace_id, entry, now).await?;
    }
    if renewed > 0 {
        store(txn, &ws).await?;
    }
    Ok(renewed)
}

/// Renews the periods that have ended, a batch at a time, one transaction per workspace.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn renew_due(state: &SharedState) -> AppResult<u32> {
    let now = state.clock.now();
    let due: Vec<Uuid> = workspace::Entity::find()
        .select_only()
        .column(workspace::Column::Id)
        .filter(workspace::Column::PeriodEnd.lte(now))
        .order_by_asc(workspace::Column::PeriodEnd)
        .limit(RENEWAL_BATCH)
        .into_tuple()
        .all(state.db.conn())
        .await?;
    let mut renewed = 0;
    for id in due {
        let txn = state.db.begin().await?;
        renewed += renew(&txn, id, now).await?;
        txn.commit().await?;
    }
    Ok(renewed)
}

/// Runs [`renew_due`] every second until the process stops.
pub fn spawn_renewals(state: SharedState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RENEWAL_TICK);
        loop {
            tick.tick().await;
            if let Err(err) = renew_due(&state).await {
                tracing::warn!(error = %err, "billing renewal failed; will retry");
            }
            crate::state::Rounds::completed(&state.rounds.renewals);
        }
    })
}

async fn store(txn: &WriteTxn, ws: &workspace::Model) -> AppResult<()> {
    workspace::Entity::update_many()
        .col_expr(
            workspace::Column::BillingAnchor,
            Expr::value(ws.billing_anchor),
        )
        .col_expr(
            workspace::Column::BillingPeriod,
            Expr::value(ws.billing_period),
        )
        .col_expr(workspace::Column::PeriodEnd, Expr::value(ws.period_end))
        .col_expr(
            workspace::Column::PeriodGranted,
            Expr::value(ws.period_granted),
        )
        .filter(workspace::Column::Id.eq(ws.id))
        .exec(&**txn)
        .await?;
    Ok(())
}

/// The ledger key of a grant that brings the period starting at `start` to `level`.
fn period_key(start: DateTime<Utc>, level: i64) -> String {
    format!(
        "{}/{level}",
        start.to_rfc3339_opts(SecondsFormat::Micros, true)
    )
}

fn period_number(ws: &workspace::Model) -> AppResult<u32> {
    u32::try_from(ws.billing_period).map_err(|_| {
        AppError::Internal(format!("billing period {} is negative", ws.billing_period))
    })
}

fn month_after(anchor: DateTime<Utc>, months: u32) -> AppResult<DateTime<Utc>> {
    anchor
        .checked_add_months(Months::new(months))
        .ok_or_else(|| AppError::Internal(format!("{anchor} + {months} months is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn periods_from_a_month_end_anchor_clamp_without_drifting() {
        let anchor = Utc.with_ymd_and_hms(2026, 1, 31, 12, 0, 0).unwrap();
        let ends: Vec<_> = (1..=3)
            .map(|n| month_after(anchor, n).unwrap().date_naive().to_string())
            .collect();
        assert_eq!(ends, ["2026-02-28", "2026-03-31", "2026-04-30"]);
    }

    #[test]
    fn period_keys_differ_by_period_and_level() {
        let start = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        let later = month_after(start, 1).unwrap();
        let keys = [
            period_key(start, 5_000),
            period_key(start, 15_000),
            period_key(later, 5_000),
        ];
        assert_eq!(keys[0], "2026-11-30T00:00:00.000000Z/5000");
        assert!(keys[0] != keys[1] && keys[0] != keys[2] && keys[1] != keys[2]);
    }
}
