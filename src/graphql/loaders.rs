//! Batch loaders, so list fields cost a constant number of queries.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::user;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
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
