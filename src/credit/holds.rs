//! Holds: credits reserved before a task or planning attempt runs, and
//! settled after it (the actual cost charged, the rest released).
//!
//! Reserving and settling happen under the workroom and workspace row locks
//! (always in that order, each taken before its row is written), so `available` is checked and reduced atomically: no two
//! attempts can both take the last credits, and the pool never overdraws.
//! Settling is a conditional update of the hold (HELD → SETTLED), so an
//! attempt is charged at most once even when two instances race to settle it.

use chrono::{DateTime, Utc};
use entity::{credit_hold, task, workroom, workspace};
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

use super::{ledger, EntryKind, NewEntry};
use crate::{
    db::WriteTxn,
    error::AppResult,
    realtime::{Message, Topic},
    workroom::events::{self, NewEvent, WorkroomEventKind},
};
pub use entity::enums::HoldState;

/// Why a hold was not granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortfall {
    /// The workspace's available credits are below the estimate.
    InsufficientCredits,
    /// The workroom's maxCredits would be exceeded.
    MaxCreditsReached,
}

impl Shortfall {
    /// The workroom's stateReason.
    pub fn reason(self) -> &'static str {
        match self {
            Shortfall::InsufficientCredits => "INSUFFICIENT_CREDITS",
            Shortfall::MaxCreditsReached => "MAX_CREDITS_REACHED",
        }
    }
}

/// Reserves `amount` for one attempt of a workroom whose row the caller locked.
#[tracing::instrument(level = "debug", skip_all, fields(workroom = %room.id, amount = amount))]
pub async fn reserve(
    txn: &WriteTxn,
    room: &mut workroom::Model,
    task_id: Option<Uuid>,
    attempt_key: String,
    amount: i64,
    now: DateTime<Utc>,
) -> AppResult<Result<credit_hold::Model, Shortfall>> {
    if let Some(max) = room.max_credits {
        if room.credits_spent + room.credits_reserved + amount > max {
            return Ok(Err(Shortfall::MaxCreditsReached));
        }
    }
    let ws = txn.lock_workspace(room.workspace_id).await?;
    if ws.credit_balance - ws.credit_reserved < amount {
        return Ok(Err(Shortfall::InsufficientCredits));
    }
    let hold = credit_hold::Model {
        id: Uuid::now_v7(),
        workspace_id: room.workspace_id,
        workroom_id: room.id,
        task_id,
        attempt_key,
        amount,
        state: HoldState::Held,
        created_at: now,
        settled_at: None,
    };
    credit_hold::Entity::insert(hold.clone().into_active_model().reset_all())
        .exec_without_returning(&**txn)
        .await?;
    move_reserved(txn, room, amount).await?;
    Ok(Ok(hold))
}

/// Adds `delta` to what the workspace and the workroom hold.
async fn move_reserved(txn: &WriteTxn, room: &mut workroom::Model, delta: i64) -> AppResult<()> {
    workspace::Entity::update_many()
        .col_expr(
            workspace::Column::CreditReserved,
            Expr::col(workspace::Column::CreditReserved).add(delta),
        )
        .filter(workspace::Column::Id.eq(room.workspace_id))
        .exec(&**txn)
        .await?;
    txn.publish(Topic::Workspace(room.workspace_id), Message::Credits);
    room.credits_reserved += delta;
    workroom::Entity::update_many()
        .col_expr(
            workroom::Column::CreditsReserved,
            Expr::value(room.credits_reserved),
        )
        .filter(workroom::Column::Id.eq(room.id))
        .exec(&**txn)
        .await?;
    Ok(())
}

/// Who a charge is attributed to.
pub struct Attribution {
    pub member_user: Option<Uuid>,
    pub agent: Option<Uuid>,
    pub description: String,
}

/// Settles a hold: charges `used` credits (never more than held), releases
/// the rest, and records CREDITS_CHARGED. Returns the credits charged, or
/// `None` when the hold was already settled.
#[tracing::instrument(level = "debug", skip_all, fields(hold = %hold.id, used = used))]
pub async fn settle(
    txn: &WriteTxn,
    room: &mut workroom::Model,
    hold: &credit_hold::Model,
    used: i64,
    who: Attribution,
    now: DateTime<Utc>,
) -> AppResult<Option<i64>> {
    let won = credit_hold::Entity::update_many()
        .col_expr(credit_hold::Column::State, Expr::value(HoldState::Settled))
        .col_expr(credit_hold::Column::SettledAt, Expr::value(now))
        .filter(credit_hold::Column::Id.eq(hold.id))
        .filter(credit_hold::Column::State.eq(HoldState::Held))
        .exec(&**txn)
        .await?;
    if won.rows_affected == 0 {
        return Ok(None);
    }
    // Take the workspace's strongest lock before writing its row: updating it
    // first and asking for FOR UPDATE later (in the ledger) is a lock upgrade,
    // which deadlocks on PostgreSQL against a transaction queued in between.
    txn.hold_workspace(room.workspace_id).await?;
    move_reserved(txn, room, -hold.amount).await?;
    let charge = used.clamp(0, hold.amount);
    if charge == 0 {
        return Ok(Some(0));
    }
    txn.count_on_commit(move || {
        metrics::counter!(crate::telemetry::CREDITS_CHARGED).increment(charge as u64)
    });
    let entry = NewEntry::new(EntryKind::Charge, -charge, who.description)
        .by(who.member_user)
        .keyed(format!("charge:{}", hold.attempt_key))
        .for_work(room.id, hold.task_id, who.agent);
    ledger::append(txn, room.workspace_id, entry, now).await?;
    room.credits_spent += charge;
    workroom::Entity::update_many()
        .col_expr(
            workroom::Column::CreditsSpent,
            Expr::value(room.credits_spent),
        )
        .filter(workroom::Column::Id.eq(room.id))
        .exec(&**txn)
        .await?;
    if let Some(task_id) = hold.task_id {
        task::Entity::update_many()
            .col_expr(
                task::Column::CreditsUsed,
                Expr::col(task::Column::CreditsUsed).add(charge),
            )
            .filter(task::Column::Id.eq(task_id))
            .exec(&**txn)
            .await?;
    }
    let mut event = NewEvent::new(WorkroomEventKind::CreditsCharged)
        .data(json!({ "credits": charge, "held": hold.amount, "attempt": hold.attempt_key }));
    if let Some(task_id) = hold.task_id {
        event = event.task(task_id);
    }
    events::append(txn, room, event, now).await?;
    Ok(Some(charge))
}

/// Releases, charging nothing, every hold of a workroom still HELD: what an
/// instance that died mid-attempt reserved. Its partial usage is unknown.
#[tracing::instrument(level = "debug", skip_all, fields(workroom = %room.id))]
pub async fn release_abandoned(
    txn: &WriteTxn,
    room: &mut workroom::Model,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let held = credit_hold::Entity::find()
        .filter(credit_hold::Column::WorkroomId.eq(room.id))
        .filter(credit_hold::Column::State.eq(HoldState::Held))
        .all(&**txn)
        .await?;
    for hold in held {
        let who = Attribution {
            member_user: None,
            agent: None,
            description: String::new(),
        };
        settle(txn, room, &hold, 0, who, now).await?;
    }
    Ok(())
}
