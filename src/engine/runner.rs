//! One workroom's run: recover what a dead instance left, then take steps
//! until there is nothing to do (waiting for approval, paused, finished) or
//! the lease is lost. Every step's transaction re-checks, under the workroom
//! row lock, that the workroom is still in the state the step expects and
//! that this instance still holds its lease (fencing).

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use entity::{credit_hold, task, workroom};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::{compose, lease, plan, work, Engine};
use crate::{
    activity::{self, NewActivity},
    credit::holds::{self, Attribution},
    db::WriteTxn,
    error::AppResult,
    ids::{self, Kind},
    task::TaskState,
    workroom::{
        model::{Trigger, WorkroomState},
        service::transition,
    },
};

/// What the run does after a step.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Again,
    Stop,
}

pub async fn run(engine: &Arc<Engine>, id: Uuid) {
    let lost = Arc::new(AtomicBool::new(false));
    let renewer = spawn_renewer(engine.clone(), id, lost.clone());
    if let Err(err) = recover(engine, id).await {
        tracing::warn!(workroom = %id, error = %err, "could not recover the workroom's last run");
    }
    let mut errors = 0;
    while !lost.load(Ordering::Relaxed) {
        match step(engine, id).await {
            Ok(Next::Again) => errors = 0,
            Ok(Next::Stop) => break,
            Err(err) => {
                errors += 1;
                tracing::warn!(workroom = %id, error = %err, "run step failed");
                if errors >= 5 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200 * errors)).await;
                // The failed step may have left its hold held and its task running.
                if let Err(err) = recover(engine, id).await {
                    tracing::warn!(workroom = %id, error = %err, "could not recover after a failed step");
                }
            }
        }
    }
    renewer.abort();
    if let Err(err) = lease::release(engine, id).await {
        tracing::warn!(workroom = %id, error = %err, "could not release the lease; it will expire");
    }
}

fn spawn_renewer(
    engine: Arc<Engine>,
    id: Uuid,
    lost: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let every = engine.lease_ttl / 3;
        loop {
            tokio::time::sleep(every).await;
            match lease::renew(&engine, id).await {
                Ok(true) => {}
                Ok(false) => {
                    lost.store(true, Ordering::Relaxed);
                    return;
                }
                Err(err) => tracing::warn!(workroom = %id, error = %err, "lease renewal failed"),
            }
        }
    })
}

async fn step(engine: &Engine, id: Uuid) -> AppResult<Next> {
    let Some(room) = workroom::Entity::find_by_id(id)
        .one(engine.state.db.conn())
        .await?
    else {
        return Ok(Next::Stop);
    };
    if room.lease_owner.as_deref() != Some(engine.instance.as_str()) || !room.needs_run {
        return Ok(Next::Stop);
    }
    match WorkroomState::parse(&room.state)? {
        WorkroomState::Planning => plan::run(engine, room).await,
        WorkroomState::Executing => work::next(engine, room).await,
        WorkroomState::Composing | WorkroomState::AwaitingRevision => {
            compose::run(engine, room).await
        }
        _ => Ok(Next::Stop),
    }
}

/// After a takeover: release what the dead instance held (its partial usage
/// is unknown, so nothing is charged) and put its interrupted task back.
async fn recover(engine: &Engine, id: Uuid) -> AppResult<()> {
    let Some((txn, mut room)) = begin(engine, id, &[]).await? else {
        return Ok(());
    };
    let now = engine.state.clock.now();
    holds::release_abandoned(&txn, &mut room, now).await?;
    task::Entity::update_many()
        .col_expr(
            task::Column::State,
            Expr::value(TaskState::Pending.as_str()),
        )
        .filter(task::Column::WorkroomId.eq(id))
        .filter(task::Column::State.eq(TaskState::Running.as_str()))
        .exec(&*txn)
        .await?;
    txn.commit().await
}

/// Opens a step's transaction with the workroom locked, provided this
/// instance holds its lease and it is in one of `states` (any, when empty).
pub async fn begin(
    engine: &Engine,
    id: Uuid,
    states: &[WorkroomState],
) -> AppResult<Option<(WriteTxn, workroom::Model)>> {
    let txn = engine.state.db.begin().await?;
    let Some(room) = lock_both(&txn, id).await? else {
        return Ok(None);
    };
    let ours = room.lease_owner.as_deref() == Some(engine.instance.as_str());
    let state = WorkroomState::parse(&room.state)?;
    if !ours || !(states.is_empty() || states.contains(&state)) {
        return Ok(None);
    }
    Ok(Some((txn, room)))
}

/// Locks a workroom, then its workspace, before the transaction writes
/// anything. Engine steps may write the workspace (credits, activity) after
/// writing the workroom; asking for the workspace's lock only then would be a
/// lock upgrade, which deadlocks on PostgreSQL against a transaction queued
/// between (a second update of a row re-checks its foreign key).
pub async fn lock_both(txn: &WriteTxn, id: Uuid) -> AppResult<Option<workroom::Model>> {
    let Some(room) = txn.lock_by_id::<workroom::Entity>(id).await? else {
        return Ok(None);
    };
    txn.lock_workspace(room.workspace_id).await?;
    Ok(Some(room))
}

/// Whether the run may go on: still ours and still in `state` (a plain read, between flushes).
pub async fn still(engine: &Engine, id: Uuid, state: WorkroomState) -> AppResult<bool> {
    let room = workroom::Entity::find_by_id(id)
        .one(engine.state.db.conn())
        .await?;
    Ok(room.is_some_and(|r| {
        r.lease_owner.as_deref() == Some(engine.instance.as_str()) && r.state == state.as_str()
    }))
}

/// Reserves a hold for an attempt, or pauses the workroom for credits (the caller commits).
pub async fn reserve_or_pause(
    txn: &WriteTxn,
    room: &mut workroom::Model,
    task_id: Option<Uuid>,
    key: String,
    amount: i64,
    now: DateTime<Utc>,
) -> AppResult<Option<credit_hold::Model>> {
    match holds::reserve(txn, room, task_id, key, amount, now).await? {
        Ok(hold) => Ok(Some(hold)),
        Err(shortfall) => {
            transition(
                txn,
                room,
                Trigger::CreditsRanOut,
                None,
                Some(shortfall.reason()),
                now,
            )
            .await?;
            Ok(None)
        }
    }
}

/// Settles an attempt's hold with its usage.
pub async fn charge(
    engine: &Engine,
    txn: &WriteTxn,
    room: &mut workroom::Model,
    hold: &credit_hold::Model,
    tokens: u32,
    agent: Option<Uuid>,
    what: &str,
) -> AppResult<()> {
    let who = Attribution {
        member_user: room.run_by,
        agent,
        description: format!("{what} in {}", room.title),
    };
    holds::settle(
        txn,
        room,
        hold,
        engine.credits_for(tokens),
        who,
        engine.state.clock.now(),
    )
    .await?;
    Ok(())
}

/// Fails the workroom with `reason` (its stateReason) and records why.
pub async fn fail(
    txn: &WriteTxn,
    room: &mut workroom::Model,
    reason: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    transition(txn, room, Trigger::Fail, None, Some(reason), now).await?;
    let summary = format!("{} failed: {detail}", room.title);
    record(
        txn,
        room,
        "workroom.failed",
        summary,
        json!({ "reason": reason, "detail": detail }),
        now,
    )
    .await
}

/// An activity entry of the engine (no actor).
pub async fn record(
    txn: &WriteTxn,
    room: &workroom::Model,
    action: &'static str,
    summary: String,
    metadata: serde_json::Value,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let entry = NewActivity {
        actor_id: None,
        action,
        target_type: "Workroom",
        target_id: Some(ids::encode(Kind::Workroom, room.id)),
        summary,
        metadata,
    };
    activity::record(txn, room.workspace_id, entry, now).await?;
    Ok(())
}

/// Stops running a workroom that has nothing to do now (it waits for an approval).
pub async fn idle(txn: WriteTxn, mut room: workroom::Model) -> AppResult<Next> {
    room.needs_run = false;
    crate::workroom::service::save(&txn, &room).await?;
    txn.commit().await?;
    Ok(Next::Stop)
}
