//! The Composer's step: one attempt writes every deliverable. Each begins
//! with COMPOSER_RESET; its text goes out as COMPOSER_DELTA events flushed
//! about every 50 ms (each flush also checks the run may go on); the last
//! delta and the new content and version commit together, so the deltas
//! after the latest reset always add up to the content.

use entity::{deliverable, task, workroom};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use super::{
    attempt::{conclude, finish, start_attempt, Concluded},
    context,
    steps::BATCH,
    steps::{self, begin, Next},
    stream::{self, Ending, Outcome},
    Engine,
};
use crate::{
    activity::ActivityAction,
    agent::{service::system, AgentKind},
    error::{AppError, AppResult},
    llm::Purpose,
    task::TaskKind,
    workroom::{
        events::{self, NewEvent, WorkroomEventKind},
        model::{Trigger, WorkroomState},
        service::{save, transition},
    },
};

#[tracing::instrument(level = "debug", name = "compose", skip_all)]
pub async fn run(engine: &Engine, room: workroom::Model) -> AppResult<Next> {
    let expected = room.state;
    let db = engine.state.db.conn();
    let composer = system(db, room.workspace_id, AgentKind::Composer).await?;
    let deliverables = crate::workroom::service::deliverables_of(db, room.id).await?;
    let mut base = context::base(engine, &room).await?;
    base.dependency_outputs = context::outputs(engine, &room, None).await?;
    base.revision_notes = context::revision_notes(engine, &room).await?;
    base.voice = context::voice(engine, &context::custom_agents(engine, &room).await?).await?;
    let max = engine.settings.compose_max_tokens;
    let requests: Vec<_> = deliverables
        .iter()
        .map(|d| {
            let ctx = crate::llm::ModelContext {
                deliverable: Some(d.label.clone()),
                ..base.clone()
            };
            context::request(Purpose::Compose, composer.instructions.clone(), ctx, max)
        })
        .collect();
    let prompt: u32 = requests.iter().map(|r| engine.prompt_tokens(r)).sum();
    let estimate = engine.credits_for(prompt + max * requests.len() as u32);

    let Some((txn, mut room)) = begin(engine, room.id, &[expected]).await? else {
        return Ok(Next::Again);
    };
    let mut task = compose_task(&txn, &room).await?;
    let Some(hold) = start_attempt(engine, &txn, &mut room, &mut task, estimate).await? else {
        txn.commit().await?;
        return Ok(Next::Stop);
    };
    txn.commit().await?;

    let mut total = Outcome::empty(Ending::Finished);
    for (deliverable, request) in deliverables.iter().zip(requests) {
        let outcome = compose_one(engine, &room, deliverable, expected, request).await?;
        total.usage.prompt_tokens += outcome.usage.prompt_tokens;
        total.usage.output_tokens += outcome.usage.output_tokens;
        if outcome.ending != Ending::Finished {
            restore(engine, room.id, deliverable.id).await?;
            total.ending = outcome.ending;
            break;
        }
    }
    if total.ending != Ending::Finished {
        return finish(engine, room, task, hold, total, composer.id, expected).await;
    }
    complete(engine, room, task, hold, total, composer.id, expected).await
}

/// The COMPOSE task of the current plan.
async fn compose_task(txn: &crate::db::WriteTxn, room: &workroom::Model) -> AppResult<task::Model> {
    crate::task::plan_of(&**txn, room)
        .await?
        .into_iter()
        .find(|t| t.kind == TaskKind::Compose)
        .ok_or_else(|| AppError::Internal("the plan has no COMPOSE task".into()))
}

/// Writes one deliverable: reset, deltas, then its content.
async fn compose_one(
    engine: &Engine,
    room: &workroom::Model,
    deliverable: &deliverable::Model,
    expected: WorkroomState,
    request: crate::llm::ModelRequest,
) -> AppResult<Outcome> {
    let prompt_tokens = engine.prompt_tokens(&request);
    let cap = request.max_output_tokens;
    if !write(engine, room.id, expected, |e| {
        e.push(NewEvent::new(WorkroomEventKind::ComposerReset).deliverable(deliverable.id))
    })
    .await?
    {
        return Ok(Outcome::empty(Ending::Interrupted));
    }
    let (id, target) = (room.id, deliverable.id);
    let flush = move |text: String| async move {
        if text.is_empty() {
            return steps::still(engine, id, expected).await;
        }
        write(engine, id, expected, |e| e.push(delta(target, text))).await
    };
    let mut outcome = stream::consume(
        engine.model.stream(request),
        prompt_tokens,
        cap,
        BATCH,
        &engine.state.interrupted,
        flush,
    )
    .await?;
    if outcome.ending != Ending::Finished {
        return Ok(outcome);
    }
    let txn_ok = store_content(engine, room, deliverable, expected, &outcome).await?;
    if !txn_ok {
        outcome.ending = Ending::Interrupted;
    }
    Ok(outcome)
}

/// After an attempt of `deliverable` stopped part-way (paused, cancelled,
/// failed): a reset and the content it still has, so that the deltas after
/// its latest reset add up to its content again.
async fn restore(engine: &Engine, id: uuid::Uuid, deliverable: uuid::Uuid) -> AppResult<()> {
    let txn = engine.state.db.begin().await?;
    let Some(mut room) = steps::lock_both(&txn, id).await? else {
        return Ok(());
    };
    if !engine.holds_lease(&room) {
        // Another instance runs this workroom now and composes it anew.
        return Ok(());
    }
    let current = deliverable::Entity::find_by_id(deliverable)
        .one(&*txn)
        .await?
        .ok_or(AppError::NotFound("deliverable"))?;
    let now = engine.state.clock.now();
    let reset = NewEvent::new(WorkroomEventKind::ComposerReset)
        .deliverable(deliverable)
        .data(json!({ "restored": true }));
    events::append(&txn, &mut room, reset, now).await?;
    if let Some(content) = current.content.filter(|c| !c.is_empty()) {
        events::append(&txn, &mut room, delta(deliverable, content), now).await?;
    }
    txn.commit().await
}

fn delta(deliverable: uuid::Uuid, text: String) -> NewEvent {
    NewEvent::new(WorkroomEventKind::ComposerDelta)
        .deliverable(deliverable)
        .text(text)
}

/// Appends events in one transaction, if the run may go on; false otherwise.
async fn write(
    engine: &Engine,
    id: uuid::Uuid,
    expected: WorkroomState,
    events_of: impl FnOnce(&mut Vec<NewEvent>),
) -> AppResult<bool> {
    let Some((txn, mut room)) = begin(engine, id, &[expected]).await? else {
        return Ok(false);
    };
    let mut batch = Vec::new();
    events_of(&mut batch);
    let now = engine.state.clock.now();
    for event in batch {
        events::append(&txn, &mut room, event, now).await?;
    }
    txn.commit().await?;
    Ok(true)
}

/// The last delta, the content and DELIVERABLE_UPDATED, together.
async fn store_content(
    engine: &Engine,
    room: &workroom::Model,
    deliverable: &deliverable::Model,
    expected: WorkroomState,
    outcome: &Outcome,
) -> AppResult<bool> {
    let Some((txn, mut room)) = begin(engine, room.id, &[expected]).await? else {
        return Ok(false);
    };
    let now = engine.state.clock.now();
    if !outcome.tail.is_empty() {
        events::append(
            &txn,
            &mut room,
            delta(deliverable.id, outcome.tail.clone()),
            now,
        )
        .await?;
    }
    let current = deliverable::Entity::find_by_id(deliverable.id)
        .one(&*txn)
        .await?
        .ok_or(AppError::NotFound("deliverable"))?;
    let version = current.version + 1;
    deliverable::Entity::update_many()
        .col_expr(
            deliverable::Column::Content,
            Expr::value(outcome.text.clone()),
        )
        .col_expr(deliverable::Column::Version, Expr::value(version))
        .col_expr(deliverable::Column::UpdatedAt, Expr::value(now))
        .filter(deliverable::Column::Id.eq(deliverable.id))
        .exec(&*txn)
        .await?;
    let event = NewEvent::new(WorkroomEventKind::DeliverableUpdated)
        .deliverable(deliverable.id)
        .data(json!({ "version": version, "label": deliverable.label }));
    events::append(&txn, &mut room, event, now).await?;
    txn.commit().await?;
    Ok(true)
}

/// Every deliverable is written: charge, complete the task and the workroom.
async fn complete(
    engine: &Engine,
    room: workroom::Model,
    task: task::Model,
    hold: entity::credit_hold::Model,
    outcome: Outcome,
    composer: uuid::Uuid,
    expected: WorkroomState,
) -> AppResult<Next> {
    // One transaction: a retry after a failure here must not compose again.
    let txn = engine.state.db.begin().await?;
    let mut room = steps::lock_both(&txn, room.id)
        .await?
        .ok_or(AppError::NotFound("workroom"))?;
    let concluded = conclude(
        engine, &txn, &mut room, &task, &hold, outcome, composer, expected,
    )
    .await?;
    if concluded != Concluded::Completed {
        txn.commit().await?;
        return Ok(if concluded == Concluded::NotOurs {
            Next::Stop
        } else {
            Next::Again
        });
    }
    let now = engine.state.clock.now();
    if expected == WorkroomState::AwaitingRevision {
        room.revision_round += 1;
        save(&txn, &room).await?;
    }
    transition(&txn, &mut room, Trigger::Composed, None, None, now).await?;
    steps::count_step(&txn, "compose", "completed");
    let summary = format!("{} is complete", room.title);
    let metadata = json!({ "revisionRound": room.revision_round });
    steps::record(
        &txn,
        &room,
        ActivityAction::WorkroomCompleted,
        summary,
        metadata,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(Next::Stop)
}
