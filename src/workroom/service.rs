//! Changing a workroom: sources, constraints and messages, and what every
//! change shares (`begin`, `transition`, `save`). Each change locks the
//! workroom row, moves it only through the transition table, appends its event
//! and its activity entry, and commits them together. Pause, resume, cancel,
//! replan and revision requests are in [`super::lifecycle`].

use chrono::{DateTime, Utc};
use entity::{source, workroom, workroom_event};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
};
use serde_json::{json, Value};
use uuid::Uuid;

pub use super::lifecycle::{cancel, pause, replan, request_revision, resume};
use super::{
    create::{self, ConstraintsPatch, NewSource},
    events::{self, NewEvent, WorkroomEventKind},
    model::{accepts_input, limits, next_state, Trigger, WorkroomState},
};
use crate::{
    activity::{self, ActivityAction, NewActivity},
    auth::{policy, Action, Session},
    db::WriteTxn,
    error::{AppError, AppResult},
    ids::{self, Kind},
    input,
    state::AppState,
};

/// Finds a workroom of the caller's workspace; another workspace's is NOT_FOUND.
pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    id: Uuid,
) -> AppResult<workroom::Model> {
    crate::db::found::<workroom::Entity>(db, workspace_id, id, "workroom").await
}

/// An open change: the transaction and the locked workroom.
pub struct Change {
    pub txn: WriteTxn,
    pub room: workroom::Model,
    pub now: DateTime<Utc>,
}

/// Locks the workroom (then the workspace) and checks the caller may work on it.
pub async fn begin(state: &AppState, session: &Session, id: Uuid) -> AppResult<Change> {
    policy::require(session, Action::Work)?;
    let txn = state.db.begin().await?;
    let room = events::lock(&txn, session.workspace_id, id).await?;
    policy::require_locked(&txn, session, Action::Work).await?;
    Ok(Change {
        txn,
        room,
        now: state.clock.now(),
    })
}

/// Moves a locked workroom by `trigger`, appending STATE_CHANGED; CONFLICT when
/// the table has no such row. `reason` becomes the stateReason.
pub async fn transition(
    txn: &WriteTxn,
    room: &mut workroom::Model,
    trigger: Trigger,
    actor: Option<Uuid>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<WorkroomState> {
    let from = room.state;
    let to = next_state(from, trigger, room.paused_from)?;
    if to == WorkroomState::Planning && from != WorkroomState::Paused {
        // Planning begins anew (a resumed one goes on counting).
        room.plan_failures = 0;
    }
    if to.is_terminal() && !from.is_terminal() {
        txn.count_on_commit(move || {
            metrics::counter!(crate::telemetry::ENGINE_RUNS, "outcome" => to.to_string())
                .increment(1)
        });
    }
    room.state = to;
    room.paused_from = (to == WorkroomState::Paused).then_some(from);
    room.state_reason = reason.map(str::to_owned);
    room.needs_run = to.is_running();
    save(txn, room).await?;
    events::append(
        txn,
        room,
        NewEvent::state(to).by(actor).data(json!({ "from": from })),
        now,
    )
    .await?;
    Ok(to)
}

/// Writes every column of a locked workroom row.
pub async fn save(txn: &WriteTxn, room: &workroom::Model) -> AppResult<()> {
    room.clone()
        .into_active_model()
        .reset_all()
        .update(&**txn)
        .await?;
    Ok(())
}

impl Change {
    /// Records the activity entry of this change and commits.
    pub(super) async fn finish(
        self,
        session: &Session,
        action: crate::activity::ActivityAction,
        summary: String,
        metadata: Value,
    ) -> AppResult<workroom::Model> {
        let entry = NewActivity {
            actor_id: Some(session.user.id),
            api_key: session.api_key_id(),
            action,
            target_type: "Workroom",
            target_id: Some(ids::encode(Kind::Workroom, self.room.id)),
            summary,
            metadata,
        };
        activity::record(&self.txn, self.room.workspace_id, entry, self.now).await?;
        self.txn.commit().await?;
        Ok(self.room)
    }

    pub(super) fn named(&self) -> String {
        self.room.title.clone()
    }
}

#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, workroom = %id))]
pub async fn add_source(
    state: &AppState,
    session: &Session,
    id: Uuid,
    new: NewSource,
) -> AppResult<source::Model> {
    create::validate_source(&new)?;
    let change = begin(state, session, id).await?;
    ensure_accepts_input(&change.room)?;
    let held = super::sources::held(&change.txn, id).await?;
    let max = state.config.limits.sources_max_bytes;
    super::sources::ensure_room(held, new.content.len() as u64, max)?;
    let source = create::insert_source(&change.txn, &change.room, new, change.now).await?;
    let summary = format!("{} added a source to {}", session.user.name, change.named());
    let metadata = json!({ "sourceId": ids::encode(Kind::Source, source.id), "kind": source.kind });
    change
        .finish(
            session,
            ActivityAction::WorkroomSourceAdded,
            summary,
            metadata,
        )
        .await?;
    Ok(source)
}

fn ensure_accepts_input(room: &workroom::Model) -> AppResult<()> {
    if accepts_input(room.state) {
        Ok(())
    } else {
        Err(AppError::conflict(
            "a cancelled workroom takes no more input",
        ))
    }
}

#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, workroom = %id))]
pub async fn update_constraints(
    state: &AppState,
    session: &Session,
    id: Uuid,
    patch: ConstraintsPatch,
) -> AppResult<workroom::Model> {
    patch.validate()?;
    let mut change = begin(state, session, id).await?;
    if change.room.state.is_terminal() {
        return Err(AppError::conflict(
            "constraints of a finished workroom cannot change",
        ));
    }
    patch.apply(&mut change.room);
    save(&change.txn, &change.room).await?;
    let summary = format!(
        "{} updated the constraints of {}",
        session.user.name,
        change.named()
    );
    let metadata =
        json!({ "maxCredits": change.room.max_credits, "deadline": change.room.deadline });
    change
        .finish(
            session,
            ActivityAction::WorkroomConstraintsUpdated,
            summary,
            metadata,
        )
        .await
}

#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, workroom = %id))]
pub async fn post_message(
    state: &AppState,
    session: &Session,
    id: Uuid,
    body: &str,
) -> AppResult<workroom_event::Model> {
    let body = input::text(body, "body", limits::MESSAGE)?;
    let mut change = begin(state, session, id).await?;
    ensure_accepts_input(&change.room)?;
    let event = NewEvent::new(WorkroomEventKind::Message)
        .by(Some(session.user.id))
        .text(body.clone());
    let event = events::append(&change.txn, &mut change.room, event, change.now).await?;
    let summary = format!(
        "{} posted a message in {}",
        session.user.name,
        change.named()
    );
    change
        .finish(
            session,
            ActivityAction::WorkroomMessagePosted,
            summary,
            json!({ "seq": event.seq }),
        )
        .await?;
    Ok(event)
}

/// A workroom's deliverables, in order.
pub async fn deliverables_of(
    db: &impl sea_orm::ConnectionTrait,
    workroom_id: Uuid,
) -> AppResult<Vec<entity::deliverable::Model>> {
    use sea_orm::QueryOrder;
    Ok(entity::deliverable::Entity::find()
        .filter(entity::deliverable::Column::WorkroomId.eq(workroom_id))
        .order_by_asc(entity::deliverable::Column::Position)
        .all(db)
        .await?)
}
