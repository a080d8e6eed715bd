//! Writing, listing and verifying activity entries.

use chrono::{DateTime, Utc};
use entity::{activity_event, workspace};
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use super::{chain, ActivityAction};
use crate::{
    db::WriteTxn,
    error::AppResult,
    ids::{self, Kind},
    page::PageArgs,
    realtime::{Message, Topic},
};

/// One entry to append.
pub struct NewActivity {
    pub actor_id: Option<Uuid>,
    /// The API key the actor acted through, if any: named in the metadata as `apiKey`.
    pub api_key: Option<Uuid>,
    pub action: ActivityAction,
    pub target_type: &'static str,
    pub target_id: Option<String>,
    pub summary: String,
    pub metadata: Value,
}

/// Appends an entry to the workspace's chain inside the caller's transaction.
#[tracing::instrument(skip_all, fields(action = %entry.action))]
pub async fn record(
    txn: &WriteTxn,
    workspace_id: Uuid,
    entry: NewActivity,
    now: DateTime<Utc>,
) -> AppResult<activity_event::Model> {
    let ws = txn.lock_workspace(workspace_id).await?;
    let seq = ws.activity_seq + 1;
    let id = Uuid::now_v7();
    let mut metadata = entry.metadata;
    if let (Some(key), Value::Object(fields)) = (entry.api_key, &mut metadata) {
        fields.insert("apiKey".into(), ids::encode(Kind::ApiKey, key).into());
    }
    let metadata = metadata.to_string();
    let hash = chain::hash(
        &ws.activity_head,
        &chain::Content {
            id,
            workspace_id,
            seq,
            actor_id: entry.actor_id,
            action: entry.action,
            target_type: entry.target_type,
            target_id: entry.target_id.as_deref(),
            summary: &entry.summary,
            metadata: &metadata,
            occurred_at: now,
        },
    );
    let row = activity_event::Model {
        id,
        workspace_id,
        seq,
        actor_id: entry.actor_id,
        action: entry.action,
        target_type: entry.target_type.to_owned(),
        target_id: entry.target_id,
        summary: entry.summary,
        metadata,
        occurred_at: now,
        prev_hash: ws.activity_head.clone(),
        hash: hash.clone(),
    };
    activity_event::Entity::insert(row.clone().into_active_model().reset_all())
        .exec_without_returning(&**txn)
        .await?;
    crate::webhook::outbox::enqueue_activity(txn, &row).await?;
    workspace::Entity::update_many()
        .col_expr(workspace::Column::ActivitySeq, Expr::value(seq))
        .col_expr(workspace::Column::ActivityHead, Expr::value(hash))
        .filter(workspace::Column::Id.eq(workspace_id))
        .exec(&**txn)
        .await?;
    txn.publish(
        Topic::Workspace(workspace_id),
        Message::Activity(row.clone()),
    );
    Ok(row)
}

/// Filters of `Workspace.activity` and `Workroom.activity`.
#[derive(Default)]
pub struct ActivityQuery {
    pub actor_id: Option<Uuid>,
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Entries about a workroom: targeting it, or naming it in their metadata
    /// (an approval targets the task but names its workroom).
    pub workroom_id: Option<String>,
}

/// A page of a workspace's activity, newest first; the cursor is the entry's seq.
pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    filter: &ActivityQuery,
    page: &PageArgs<i64>,
) -> AppResult<Vec<activity_event::Model>> {
    let mut query =
        activity_event::Entity::find().filter(activity_event::Column::WorkspaceId.eq(workspace_id));
    if let Some(actor) = filter.actor_id {
        query = query.filter(activity_event::Column::ActorId.eq(actor));
    }
    if let Some(action) = &filter.action {
        query = query.filter(activity_event::Column::Action.eq(action.as_str()));
    }
    if let Some(target_type) = &filter.target_type {
        query = query.filter(activity_event::Column::TargetType.eq(target_type.as_str()));
    }
    if let Some(target_id) = &filter.target_id {
        query = query.filter(activity_event::Column::TargetId.eq(target_id.as_str()));
    }
    if let Some(since) = filter.since {
        query = query.filter(activity_event::Column::OccurredAt.gte(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(activity_event::Column::OccurredAt.lt(until));
    }
    if let Some(workroom) = &filter.workroom_id {
        let named = crate::db::containing(&format!("\"workroomId\":\"{workroom}\""));
        query = query.filter(
            sea_orm::Condition::any()
                .add(activity_event::Column::TargetId.eq(workroom.as_str()))
                .add(Expr::col(activity_event::Column::Metadata).like(named)),
        );
    }
    if let Some(after) = page.after {
        query = query.filter(activity_event::Column::Seq.lt(after));
    }
    Ok(query
        .order_by_desc(activity_event::Column::Seq)
        .limit(page.fetch_limit())
        .all(db)
        .await?)
}

/// The outcome of checking a workspace's chain.
pub struct Verification {
    pub valid: bool,
    pub checked: i64,
    pub first_broken: Option<Uuid>,
}

/// Recomputes the chain from the first entry up to the head recorded on the
/// workspace when the check began. An edited entry breaks its own hash; a
/// deleted one breaks the link (or the seq) of the entry after it; a deleted
/// last entry no longer matches the head. Entries and head are written in one
/// transaction, so the prefix up to the head read first is complete, and
/// entries appended while the check runs are simply not part of it.
#[tracing::instrument(skip(db))]
pub async fn verify(db: &impl ConnectionTrait, workspace_id: Uuid) -> AppResult<Verification> {
    const BATCH: u64 = 500;
    let ws = workspace::Entity::find_by_id(workspace_id)
        .one(db)
        .await?
        .ok_or(crate::error::AppError::NotFound("workspace"))?;
    let (mut prev_hash, mut expected_seq, mut checked) = (chain::GENESIS.to_owned(), 1i64, 0i64);
    loop {
        let rows = activity_event::Entity::find()
            .filter(activity_event::Column::WorkspaceId.eq(workspace_id))
            .filter(activity_event::Column::Seq.gte(expected_seq))
            .filter(activity_event::Column::Seq.lte(ws.activity_seq))
            .order_by_asc(activity_event::Column::Seq)
            .limit(BATCH)
            .all(db)
            .await?;
        let done = (rows.len() as u64) < BATCH;
        for row in rows {
            checked += 1;
            let intact = row.seq == expected_seq
                && row.prev_hash == prev_hash
                && chain::of_row(&row) == row.hash;
            if !intact {
                return Ok(Verification {
                    valid: false,
                    checked,
                    first_broken: Some(row.id),
                });
            }
            prev_hash = row.hash;
            expected_seq += 1;
        }
        if done {
            break;
        }
    }
    let head_matches = prev_hash == ws.activity_head && expected_seq - 1 == ws.activity_seq;
    Ok(Verification {
        valid: head_matches,
        checked,
        first_broken: None,
    })
}
