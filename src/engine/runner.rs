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

use entity::{task, workroom};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{
    compose, lease, plan,
    steps::{begin, Next},
    work, Engine,
};
use crate::{credit::holds, error::AppResult, task::TaskState, workroom::model::WorkroomState};

#[tracing::instrument(level = "debug", skip_all, fields(workroom = %id))]
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
    if !engine.holds_lease(&room) || !room.needs_run {
        return Ok(Next::Stop);
    }
    match room.state {
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
#[tracing::instrument(level = "debug", skip_all)]
async fn recover(engine: &Engine, id: Uuid) -> AppResult<()> {
    let Some((txn, mut room)) = begin(engine, id, &[]).await? else {
        return Ok(());
    };
    let now = engine.state.clock.now();
    super::tool::recover_calls(engine, &txn, &mut room, now).await?;
    holds::release_abandoned(&txn, &mut room, now).await?;
    task::Entity::update_many()
        .col_expr(task::Column::State, Expr::value(TaskState::Pending))
        .filter(task::Column::WorkroomId.eq(id))
        .filter(task::Column::State.eq(TaskState::Running))
        .exec(&*txn)
        .await?;
    txn.commit().await
}
