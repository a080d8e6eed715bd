//! Changing plan and buying top-ups.

use entity::{credit_entry, workspace};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use super::{period, Plan};
use crate::billing::plans::PlanTable;
use crate::{
    activity::{self, ActivityAction, NewActivity},
    auth::{policy, Action, Session},
    credit::{ledger, EntryKind, NewEntry},
    error::{AppError, AppResult},
    ids::{self, Kind},
    state::AppState,
    workspace::service::member_count,
};

/// Largest single top-up, a guard against typos and overflow.
pub const MAX_TOP_UP: i32 = 1_000_000;

/// Moves the workspace to `plan` and grants what the move earns in the
/// current billing period (see [`period`]).
/// A plan whose seat cap is below the member count is SEAT_LIMIT_REACHED;
/// pending invitations do not block it (they fail at accept instead).
#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, plan = %plan))]
pub async fn change_plan(
    state: &AppState,
    session: &Session,
    plan: Plan,
) -> AppResult<workspace::Model> {
    policy::require(session, Action::ManageWorkspace)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let ws = policy::require_locked(&txn, session, Action::ManageWorkspace)
        .await?
        .workspace;
    let current = ws.plan;
    if plan == current {
        return Err(AppError::conflict(format!(
            "the workspace is already on {}",
            plan.name()
        )));
    }
    if plan == Plan::FreeTrial {
        return Err(AppError::bad_input(
            "a workspace cannot go back to the free trial",
        ));
    }
    plan.ensure_seats(member_count(&*txn, ws.id).await?)?;
    workspace::Entity::update_many()
        .col_expr(workspace::Column::Plan, Expr::value(plan))
        .col_expr(workspace::Column::UpdatedAt, Expr::value(now))
        .filter(workspace::Column::Id.eq(ws.id))
        .exec(&*txn)
        .await?;
    let granted =
        period::grant_for_plan_change(&txn, &ws, current, plan, session.user.id, now).await?;
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::BillingPlanChanged,
        target_type: "Workspace",
        target_id: Some(ids::encode(Kind::Workspace, ws.id)),
        summary: format!(
            "{} changed the plan from {} to {}",
            session.user.name,
            current.name(),
            plan.name()
        ),
        metadata: json!({ "from": current, "to": plan, "creditsGranted": granted }),
    };
    activity::record(&txn, ws.id, entry, now).await?;
    let ws = txn.lock_workspace(ws.id).await?;
    txn.commit().await?;
    Ok(ws)
}

/// Adds `credits` to the pool. A repeated `idempotency_key` returns the first
/// purchase's entry and adds nothing.
#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, credits = credits))]
pub async fn purchase_top_up(
    state: &AppState,
    session: &Session,
    credits: i32,
    key: &str,
) -> AppResult<credit_entry::Model> {
    policy::require(session, Action::ManageWorkspace)?;
    if !(1..=MAX_TOP_UP).contains(&credits) {
        return Err(AppError::bad_input(format!(
            "credits must be between 1 and {MAX_TOP_UP}"
        )));
    }
    let key = crate::input::text(key, "idempotencyKey", 200)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let ws = policy::require_locked(&txn, session, Action::ManageWorkspace)
        .await?
        .workspace;
    if let Some(first) = ledger::find_by_idempotency_key(&*txn, session.workspace_id, &key).await? {
        return Ok(first);
    }
    // The API reports credits as GraphQL Ints (32 bits).
    if ws.credit_balance + i64::from(credits) > i64::from(i32::MAX) {
        return Err(AppError::bad_input(format!(
            "the balance would exceed {} credits",
            i32::MAX
        )));
    }
    let entry = NewEntry::new(
        EntryKind::TopUp,
        credits as i64,
        format!("Top-up of {credits} credits"),
    )
    .by(Some(session.user.id))
    .keyed(key.clone());
    let row = ledger::append(&txn, session.workspace_id, entry, now).await?;
    let activity = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::BillingTopUp,
        target_type: "CreditEntry",
        target_id: Some(ids::encode(Kind::CreditEntry, row.id)),
        summary: format!("{} bought {credits} credits", session.user.name),
        metadata: json!({ "credits": credits, "idempotencyKey": key, "balanceAfter": row.balance_after }),
    };
    activity::record(&txn, session.workspace_id, activity, now).await?;
    txn.commit().await?;
    Ok(row)
}
