//! A workroom's history: every change appends an event with the next
//! gap-free `seq`, in the same transaction as the change.
//!
//! The caller holds the workroom row lock ([`lock`]); [`append`] takes the
//! next seq from the locked row and moves `last_seq` with it, so two writers
//! can never take the same seq and a rolled-back change leaves no hole.

use chrono::{DateTime, Utc};
use entity::{workroom, workroom_event};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use super::model::WorkroomState;
use crate::{
    db::WriteTxn,
    error::{AppError, AppResult},
    realtime::{Message, Topic},
};
pub use entity::enums::WorkroomEventKind;

/// One event to append.
pub struct NewEvent {
    pub kind: WorkroomEventKind,
    pub actor_id: Option<Uuid>,
    pub state: Option<WorkroomState>,
    pub task_id: Option<Uuid>,
    pub deliverable_id: Option<Uuid>,
    pub text: Option<String>,
    pub data: Option<Value>,
}

impl NewEvent {
    pub fn new(kind: WorkroomEventKind) -> NewEvent {
        NewEvent {
            kind,
            actor_id: None,
            state: None,
            task_id: None,
            deliverable_id: None,
            text: None,
            data: None,
        }
    }

    /// A STATE_CHANGED event.
    pub fn state(state: WorkroomState) -> NewEvent {
        NewEvent {
            state: Some(state),
            ..NewEvent::new(WorkroomEventKind::StateChanged)
        }
    }

    pub fn by(mut self, actor: Option<Uuid>) -> NewEvent {
        self.actor_id = actor;
        self
    }

    pub fn task(mut self, task: Uuid) -> NewEvent {
        self.task_id = Some(task);
        self
    }

    pub fn deliverable(mut self, deliverable: Uuid) -> NewEvent {
        self.deliverable_id = Some(deliverable);
        self
    }

    pub fn text(mut self, text: impl Into<String>) -> NewEvent {
        self.text = Some(text.into());
        self
    }

    pub fn data(mut self, data: Value) -> NewEvent {
        self.data = Some(data);
        self
    }
}

/// Reads a workroom of a workspace and locks it until commit.
pub async fn lock(txn: &WriteTxn, workspace_id: Uuid, id: Uuid) -> AppResult<workroom::Model> {
    txn.lock_by_id::<workroom::Entity>(id)
        .await?
        .filter(|w| w.workspace_id == workspace_id)
        .ok_or(AppError::NotFound("workroom"))
}

/// Appends an event to a workroom whose row the caller has locked.
pub async fn append(
    txn: &WriteTxn,
    room: &mut workroom::Model,
    event: NewEvent,
    now: DateTime<Utc>,
) -> AppResult<workroom_event::Model> {
    let seq = room.last_seq + 1;
    let row = workroom_event::Model {
        id: Uuid::now_v7(),
        workspace_id: room.workspace_id,
        workroom_id: room.id,
        seq,
        kind: event.kind,
        actor_id: event.actor_id,
        state: event.state,
        task_id: event.task_id,
        deliverable_id: event.deliverable_id,
        text: event.text,
        data: event.data.map(|d| d.to_string()),
        at: now,
    };
    workroom_event::Entity::insert(row.clone().into_active_model().reset_all())
        .exec_without_returning(&**txn)
        .await?;
    workroom::Entity::update_many()
        .col_expr(workroom::Column::LastSeq, Expr::value(seq))
        .col_expr(workroom::Column::UpdatedAt, Expr::value(now))
        .filter(workroom::Column::Id.eq(room.id))
        .exec(&**txn)
        .await?;
    room.last_seq = seq;
    room.updated_at = now;
    txn.publish(Topic::Workroom(room.id), Message::Event(row.clone()));
    Ok(row)
}

/// Events after `after_seq`, oldest first, at most `limit`.
pub async fn list(
    db: &impl ConnectionTrait,
    workroom_id: Uuid,
    after_seq: i64,
    limit: u64,
) -> AppResult<Vec<workroom_event::Model>> {
    Ok(workroom_event::Entity::find()
        .filter(workroom_event::Column::WorkroomId.eq(workroom_id))
        .filter(workroom_event::Column::Seq.gt(after_seq))
        .order_by_asc(workroom_event::Column::Seq)
        .limit(limit)
        .all(db)
        .await?)
}
