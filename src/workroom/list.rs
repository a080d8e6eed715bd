//! `Workspace.workrooms`: a filtered page of workrooms, newest first.

use async_graphql::{InputObject, ID};
use entity::enums::WorkroomState;
use entity::workroom;
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    graphql::enums,
    ids::{self, Kind},
    page::PageArgs,
};

#[derive(InputObject, Default)]
pub struct WorkroomFilter {
    states: Option<Vec<enums::WorkroomState>>,
    title_contains: Option<String>,
    /// A user id.
    created_by: Option<ID>,
}

pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    filter: WorkroomFilter,
    page: &PageArgs<Uuid>,
) -> AppResult<Vec<workroom::Model>> {
    let mut query = workroom::Entity::find().filter(workroom::Column::WorkspaceId.eq(workspace_id));
    if let Some(states) = filter.states {
        query = query
            .filter(workroom::Column::State.is_in(states.into_iter().map(WorkroomState::from)));
    }
    if let Some(text) = filter.title_contains.filter(|t| !t.is_empty()) {
        crate::input::limit(&text, "titleContains", crate::input::NAME_MAX)?;
        // Against the stored lower-cased title: SQLite's lower() folds ASCII only.
        let like = crate::db::containing(&text.to_lowercase());
        query = query.filter(Expr::col(workroom::Column::TitleKey).like(like));
    }
    if let Some(user) = filter.created_by {
        let user = ids::decode(Kind::User, &user, "user")
            .map_err(|_| AppError::bad_input("filter.createdBy is not a user id"))?;
        query = query.filter(workroom::Column::CreatedBy.eq(user));
    }
    if let Some(after) = page.after {
        query = query.filter(workroom::Column::Id.lt(after));
    }
    Ok(query
        .order_by_desc(workroom::Column::Id)
        .limit(page.fetch_limit())
        .all(db)
        .await?)
}
