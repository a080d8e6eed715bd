//! `ActivityEvent`, its filter, and `verifyActivityLog`.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::activity_event;

use super::service::{self, ActivityQuery as Filter};
use crate::graphql::int;
use crate::{
    auth::{policy, Action, Allowed},
    error::{AppError, AppResult},
    graphql::context::ContextExt,
    identity::graphql::{load_user, User},
    ids::{self, Kind},
};

pub struct ActivityEvent(pub activity_event::Model);

#[Object]
impl ActivityEvent {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::ActivityEvent, self.0.id))
    }
    /// Dotted verb, e.g. workroom.created, member.invited, billing.plan_changed.
    async fn action(&self) -> String {
        self.0.action.to_string()
    }
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        load_user(ctx, self.0.actor_id).await
    }
    async fn target_type(&self) -> &str {
        &self.0.target_type
    }
    async fn target_id(&self) -> Option<ID> {
        self.0.target_id.clone().map(ID)
    }
    async fn summary(&self) -> String {
        super::shown::summary(&self.0).into_owned()
    }
    async fn metadata(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(super::shown::metadata(&self.0))
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    /// Hash chaining this event to the previous one of its workspace.
    async fn hash(&self) -> &str {
        &self.0.hash
    }
}

#[derive(InputObject, Default)]
pub struct ActivityFilter {
    actor_id: Option<ID>,
    action: Option<String>,
    target_type: Option<String>,
    target_id: Option<ID>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
}

impl ActivityFilter {
    pub fn into_query(self) -> AppResult<Filter> {
        let actor_id = match self.actor_id {
            Some(id) => Some(
                ids::decode(Kind::User, &id, "user")
                    .map_err(|_| AppError::bad_input("filter.actorId is not a user id"))?,
            ),
            None => None,
        };
        Ok(Filter {
            actor_id,
            action: self.action,
            target_type: self.target_type,
            target_id: self.target_id.map(|id| id.0),
            since: self.since,
            until: self.until,
            workroom_id: None,
        })
    }
}

#[derive(SimpleObject)]
pub struct ActivityVerification {
    valid: bool,
    checked: i32,
    first_broken_id: Option<ID>,
}

#[derive(Default)]
pub struct ActivityQuery;

#[Object]
impl ActivityQuery {
    /// Owner and admin only.
    #[graphql(guard = "Allowed(Action::Administer)")]
    async fn verify_activity_log(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<ActivityVerification> {
        let session = ctx.session()?;
        policy::require(session, Action::Administer)?;
        let result = service::verify(ctx.app().db.conn(), session.workspace_id).await?;
        Ok(ActivityVerification {
            valid: result.valid,
            checked: int(result.checked)?,
            first_broken_id: result
                .first_broken
                .map(|id| ID(ids::encode(Kind::ActivityEvent, id))),
        })
    }
}
