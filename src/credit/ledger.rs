//! Appending to and reading the ledger.

use chrono::{DateTime, Utc};
use entity::{credit_entry, workspace};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::{
    db::WriteTxn,
    error::{AppError, AppResult},
    page::PageArgs,
    realtime::{Message, Topic},
};
pub use entity::enums::EntryKind;

/// The largest balance a workspace may hold: credits are GraphQL `Int`s (32-bit).
pub const MAX_BALANCE: i64 = i32::MAX as i64;

/// One entry to append.
pub struct NewEntry {
    pub kind: EntryKind,
    pub amount: i64,
    pub description: String,
    pub actor_id: Option<Uuid>,
    pub workroom_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    pub idempotency_key: Option<String>,
    pub period_key: Option<String>,
}

impl NewEntry {
    pub fn new(kind: EntryKind, amount: i64, description: impl Into<String>) -> NewEntry {
        NewEntry {
            kind,
            amount,
            description: description.into(),
            actor_id: None,
            workroom_id: None,
            task_id: None,
            agent_id: None,
            idempotency_key: None,
            period_key: None,
        }
    }

    /// The member (user) the entry is attributed to.
    pub fn by(mut self, actor: Option<Uuid>) -> NewEntry {
        self.actor_id = actor;
        self
    }

    /// A repeated key makes the append a no-op (see [`find_by_idempotency_key`]).
    pub fn keyed(mut self, key: String) -> NewEntry {
        self.idempotency_key = Some(key);
        self
    }

    /// A monthly grant's key: unique per workspace, so a grant is never made twice.
    pub fn for_period(mut self, key: String) -> NewEntry {
        self.period_key = Some(key);
        self
    }

    /// The workroom, task and agent whose work the entry pays for.
    pub fn for_work(mut self, workroom: Uuid, task: Option<Uuid>, agent: Option<Uuid>) -> NewEntry {
        (self.workroom_id, self.task_id, self.agent_id) = (Some(workroom), task, agent);
        self
    }
}

/// Appends an entry and moves the balance, refusing to go below zero.
#[tracing::instrument(skip_all, fields(kind = %entry.kind, amount = entry.amount))]
pub async fn append(
    txn: &WriteTxn,
    workspace_id: Uuid,
    entry: NewEntry,
    now: DateTime<Utc>,
) -> AppResult<credit_entry::Model> {
    let ws = txn.lock_workspace(workspace_id).await?;
    let balance_after = ws.credit_balance + entry.amount;
    if balance_after > MAX_BALANCE {
        return Err(AppError::bad_input(format!(
            "the balance cannot exceed {MAX_BALANCE} credits"
        )));
    }
    if balance_after < 0 {
        return Err(AppError::InsufficientCredits(format!(
            "this needs {} credits and {} are left",
            -entry.amount, ws.credit_balance
        )));
    }
    let row = credit_entry::Model {
        id: Uuid::now_v7(),
        workspace_id,
        seq: ws.credit_seq + 1,
        kind: entry.kind,
        amount: entry.amount,
        balance_after,
        description: entry.description,
        actor_id: entry.actor_id,
        workroom_id: entry.workroom_id,
        task_id: entry.task_id,
        agent_id: entry.agent_id,
        idempotency_key: entry.idempotency_key,
        period_key: entry.period_key,
        created_at: now,
    };
    credit_entry::Entity::insert(row.clone().into_active_model().reset_all())
        .exec_without_returning(&**txn)
        .await?;
    workspace::Entity::update_many()
        .col_expr(workspace::Column::CreditBalance, Expr::value(balance_after))
        .col_expr(workspace::Column::CreditSeq, Expr::value(row.seq))
        .filter(workspace::Column::Id.eq(workspace_id))
        .exec(&**txn)
        .await?;
    txn.publish(Topic::Workspace(workspace_id), Message::Credits);
    if row.amount < 0 {
        super::low::check(txn, &ws, balance_after, now).await?;
    }
    Ok(row)
}

/// The entry a purchase with this idempotency key already made, if any.
pub async fn find_by_idempotency_key(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    key: &str,
) -> AppResult<Option<credit_entry::Model>> {
    Ok(credit_entry::Entity::find()
        .filter(credit_entry::Column::WorkspaceId.eq(workspace_id))
        .filter(credit_entry::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

/// A page of the ledger, newest first; the cursor is the entry's seq.
pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    page: &PageArgs<i64>,
) -> AppResult<Vec<credit_entry::Model>> {
    let mut query =
        credit_entry::Entity::find().filter(credit_entry::Column::WorkspaceId.eq(workspace_id));
    if let Some(after) = page.after {
        query = query.filter(credit_entry::Column::Seq.lt(after));
    }
    Ok(query
        .order_by_desc(credit_entry::Column::Seq)
        .limit(page.fetch_limit())
        .all(db)
        .await?)
}
