//! "Who is spending and why": charges and refunds grouped by member, agent,
//! workroom or UTC day.

use std::collections::BTreeMap;

use async_graphql::{Enum, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{agent, credit_entry, member, user, workroom};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::EntryKind;
use crate::error::int;
use crate::{
    error::AppResult,
    ids::{self, Kind},
};

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageGroupBy {
    Member,
    Agent,
    Workroom,
    Day,
}

#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct UsageBucket {
    pub key: String,
    pub label: String,
    /// Net spend: charges less refunds.
    pub credits: i32,
    /// Charged attempts.
    pub tasks: i32,
}

/// Buckets of a workspace's spend between `from` (inclusive) and `to` (exclusive), largest first.
#[tracing::instrument(level = "debug", skip_all, fields(workspace = %workspace_id, group_by = ?group_by))]
pub async fn usage(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    group_by: UsageGroupBy,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> AppResult<Vec<UsageBucket>> {
    let mut query = credit_entry::Entity::find()
        .filter(credit_entry::Column::WorkspaceId.eq(workspace_id))
        .filter(credit_entry::Column::Kind.is_in([EntryKind::Charge, EntryKind::Refund]));
    if let Some(from) = from {
        query = query.filter(credit_entry::Column::CreatedAt.gte(from));
    }
    if let Some(to) = to {
        query = query.filter(credit_entry::Column::CreatedAt.lt(to));
    }
    let entries = query.all(db).await?;
    let mut sums: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for entry in &entries {
        let Some(key) = raw_key(entry, group_by) else {
            continue;
        };
        let sum = sums.entry(key).or_default();
        sum.0 -= entry.amount;
        sum.1 += i64::from(entry.kind == EntryKind::Charge);
    }
    let labels = labels(db, workspace_id, group_by, sums.keys()).await?;
    let mut buckets: Vec<UsageBucket> = sums
        .into_iter()
        .filter(|(_, (credits, _))| *credits > 0)
        .map(|(raw, (credits, tasks))| {
            let (key, label) = labels
                .get(&raw)
                .cloned()
                .unwrap_or_else(|| (raw.clone(), raw.clone()));
            Ok(UsageBucket {
                key,
                label,
                credits: int(credits)?,
                tasks: int(tasks)?,
            })
        })
        .collect::<AppResult<_>>()?;
    buckets.sort_by(|a, b| b.credits.cmp(&a.credits).then_with(|| a.key.cmp(&b.key)));
    Ok(buckets)
}

/// The raw id (or date) an entry is grouped under.
fn raw_key(entry: &credit_entry::Model, group_by: UsageGroupBy) -> Option<String> {
    match group_by {
        UsageGroupBy::Member => entry.actor_id.map(|id| id.to_string()),
        UsageGroupBy::Agent => entry.agent_id.map(|id| id.to_string()),
        UsageGroupBy::Workroom => entry.workroom_id.map(|id| id.to_string()),
        UsageGroupBy::Day => Some(entry.created_at.format("%Y-%m-%d").to_string()),
    }
}

/// Global id and readable name of each raw key.
async fn labels<'a>(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    group_by: UsageGroupBy,
    keys: impl Iterator<Item = &'a String>,
) -> AppResult<BTreeMap<String, (String, String)>> {
    let ids: Vec<Uuid> = keys.filter_map(|k| k.parse().ok()).collect();
    let mut out = BTreeMap::new();
    match group_by {
        UsageGroupBy::Day => {}
        UsageGroupBy::Member => {
            let users = user::Entity::find()
                .filter(user::Column::Id.is_in(ids.clone()))
                .all(db)
                .await?;
            let members = member::Entity::find()
                .filter(member::Column::WorkspaceId.eq(workspace_id))
                .filter(member::Column::UserId.is_in(ids))
                .all(db)
                .await?;
            for u in users {
                // A member who left is still named, under their user id.
                let key = match members.iter().find(|m| m.user_id == u.id) {
                    Some(m) => ids::encode(Kind::Member, m.id),
                    None => ids::encode(Kind::User, u.id),
                };
                out.insert(u.id.to_string(), (key, u.name));
            }
        }
        UsageGroupBy::Agent => {
            for a in agent::Entity::find()
                .filter(agent::Column::Id.is_in(ids))
                .all(db)
                .await?
            {
                out.insert(a.id.to_string(), (ids::encode(Kind::Agent, a.id), a.name));
            }
        }
        UsageGroupBy::Workroom => {
            for w in workroom::Entity::find()
                .filter(workroom::Column::Id.is_in(ids))
                .all(db)
                .await?
            {
                out.insert(
                    w.id.to_string(),
                    (ids::encode(Kind::Workroom, w.id), w.title),
                );
            }
        }
    }
    Ok(out)
}
