//! Batch loaders, so list fields cost a constant number of queries.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::user;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::{db::Db, error::AppError};

/// Users by id. Users are not workspace-scoped rows themselves; callers reach
/// them only through rows of the caller's workspace.
pub struct UserLoader(pub Db);

impl Loader<Uuid> for UserLoader {
    type Value = user::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, user::Model>, Self::Error> {
        let rows = user::Entity::find()
            .filter(user::Column::Id.is_in(keys.iter().copied()))
            .all(self.0.conn())
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(|u| (u.id, u)).collect())
    }
}

/// Agents by id (a task's agent).
pub struct AgentLoader(pub Db);

impl Loader<Uuid> for AgentLoader {
    type Value = entity::agent::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        use entity::agent;
        let rows = agent::Entity::find()
            .filter(agent::Column::Id.is_in(keys.iter().copied()))
            .all(self.0.conn())
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(|a| (a.id, a)).collect())
    }
}

/// A workroom's deliverables, in order, by workroom id.
pub struct DeliverablesLoader(pub Db);

impl Loader<Uuid> for DeliverablesLoader {
    type Value = Vec<entity::deliverable::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        use entity::deliverable;
        use sea_orm::QueryOrder;
        let rows = deliverable::Entity::find()
            .filter(deliverable::Column::WorkroomId.is_in(keys.iter().copied()))
            .order_by_asc(deliverable::Column::Position)
            .all(self.0.conn())
            .await
            .map_err(AppError::from)?;
        Ok(group(rows, |d| d.workroom_id))
    }
}

/// A workroom's current plan (tasks not discarded, in order), by workroom id.
pub struct PlanLoader(pub Db);

impl Loader<Uuid> for PlanLoader {
    type Value = Vec<entity::task::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        use entity::task;
        use sea_orm::QueryOrder;
        let rows = task::Entity::find()
            .filter(task::Column::WorkroomId.is_in(keys.iter().copied()))
            .filter(task::Column::State.ne(crate::task::TaskState::Discarded))
            .order_by_asc(task::Column::PlanRound)
            .order_by_asc(task::Column::Position)
            .all(self.0.conn())
            .await
            .map_err(AppError::from)?;
        Ok(group(rows, |t| t.workroom_id))
    }
}

/// Rows of `E` whose `column` holds one of the keys, grouped by that key
/// (each group in `order`): children by their parent's id, or a row by its own.
/// Rows are not scoped to a workspace here: the resolvers check the rows
/// they reach belong to the caller's.
pub struct RowsBy<E: EntityTrait> {
    db: Db,
    column: E::Column,
    key_of: fn(&E::Model) -> Uuid,
    order: E::Column,
}

impl<E: EntityTrait> RowsBy<E> {
    pub fn new(db: Db, column: E::Column, key_of: fn(&E::Model) -> Uuid, order: E::Column) -> Self {
        RowsBy {
            db,
            column,
            key_of,
            order,
        }
    }
}

impl<E> Loader<Uuid> for RowsBy<E>
where
    E: EntityTrait + Send + Sync,
    E::Model: Send + Sync + Clone,
    E::Column: Send + Sync,
{
    type Value = Vec<E::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = E::find()
            .filter(self.column.is_in(keys.iter().copied()))
            .order_by_asc(self.order)
            .all(self.db.conn())
            .await
            .map_err(AppError::from)?;
        Ok(group(rows, self.key_of))
    }
}

fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> Uuid) -> HashMap<Uuid, Vec<T>> {
    let mut out: HashMap<Uuid, Vec<T>> = HashMap::new();
    for row in rows {
        out.entry(key(&row)).or_default().push(row);
    }
    out
}
