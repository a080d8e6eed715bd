//! The `Node` interface and `Query.node(id)`.
//!
//! Guards do not run on fields reached through an interface, so every branch
//! here scopes its lookup to the caller's workspace and asks the policy itself.
//! An id of another workspace, or one that names nothing, is null.

use async_graphql::{Context, Interface, Object, ID};
use entity::{activity_event, credit_entry, member, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::context::ContextExt;
use crate::db::scoped;
use crate::{
    activity::graphql::ActivityEvent,
    agent::graphql::Agent,
    api_key::graphql::ApiKey,
    auth::{policy, Action},
    credit::graphql::CreditEntry,
    error::{AppError, AppResult},
    export::graphql::Export,
    identity::graphql::User,
    ids::{self, Kind},
    integration::graphql::Integration,
    invitation::graphql::Invitation,
    member::graphql::Member,
    task::graphql::Task,
    webhook::graphql::{WebhookDelivery, WebhookEndpoint},
    workroom::graphql::{Deliverable, Source, Workroom},
    workspace::graphql::Workspace,
};

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    User(User),
    Workspace(Workspace),
    Member(Member),
    Invitation(Invitation),
    CreditEntry(CreditEntry),
    ActivityEvent(ActivityEvent),
    Agent(Agent),
    Workroom(Workroom),
    Task(Task),
    Deliverable(Deliverable),
    Source(Source),
    Integration(Integration),
    Export(Export),
    ApiKey(ApiKey),
    WebhookEndpoint(WebhookEndpoint),
    WebhookDelivery(WebhookDelivery),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        Ok(resolve(ctx, &id).await?)
    }
}

async fn resolve(ctx: &Context<'_>, id: &str) -> AppResult<Option<Node>> {
    let session = ctx.session()?;
    let Some((kind, uuid)) = ids::decode_any(id) else {
        return Ok(None);
    };
    let db = ctx.app().db.conn();
    let ws = session.workspace_id;
    Ok(match kind {
        Kind::Workspace if uuid == ws => Some(Node::Workspace(
            crate::workspace::graphql::Workspace(crate::workspace::service::get(db, ws).await?),
        )),
        Kind::Workspace => None,
        Kind::User => {
            // A user is visible to the members of a workspace they belong to.
            let shares = member::Entity::find()
                .filter(member::Column::WorkspaceId.eq(ws))
                .filter(member::Column::UserId.eq(uuid))
                .one(db)
                .await?;
            match shares {
                Some(_) => user::Entity::find_by_id(uuid)
                    .one(db)
                    .await?
                    .map(|u| Node::User(User(u))),
                None => None,
            }
        }
        Kind::Member => not_found_is_none(crate::member::service::find(db, ws, uuid).await)?
            .map(|m| Node::Member(Member(m))),
        Kind::Invitation => {
            let found = not_found_is_none(crate::invitation::service::find(db, ws, uuid).await)?;
            if found.is_some() {
                policy::require(session, Action::ManageMembers)?;
            }
            found.map(|i| Node::Invitation(Invitation(i)))
        }
        Kind::CreditEntry => credit_entry::Entity::find_by_id(uuid)
            .filter(credit_entry::Column::WorkspaceId.eq(ws))
            .one(db)
            .await?
            .map(|e| Node::CreditEntry(CreditEntry(e))),
        Kind::ActivityEvent => activity_event::Entity::find_by_id(uuid)
            .filter(activity_event::Column::WorkspaceId.eq(ws))
            .one(db)
            .await?
            .map(|e| Node::ActivityEvent(ActivityEvent(e))),
        Kind::Agent => scoped::<entity::agent::Entity>(db, uuid, ws)
            .await?
            .map(|a| Node::Agent(Agent(a))),
        Kind::Workroom => scoped::<entity::workroom::Entity>(db, uuid, ws)
            .await?
            .map(|w| Node::Workroom(Workroom(w))),
        Kind::Task => scoped::<entity::task::Entity>(db, uuid, ws)
            .await?
            .map(|t| Node::Task(Task(t))),
        Kind::Deliverable => scoped::<entity::deliverable::Entity>(db, uuid, ws)
            .await?
            .map(|d| Node::Deliverable(Deliverable(d))),
        Kind::Source => scoped::<entity::source::Entity>(db, uuid, ws)
            .await?
            .map(|s| Node::Source(Source(s))),
        Kind::Integration => administered(
            session,
            scoped::<entity::integration::Entity>(db, uuid, ws).await?,
        )?
        .map(|i| Node::Integration(Integration(i))),
        Kind::Export => scoped::<entity::export::Entity>(db, uuid, ws)
            .await?
            .map(|e| Node::Export(Export(e))),
        Kind::ApiKey => administered(
            session,
            scoped::<entity::api_key::Entity>(db, uuid, ws).await?,
        )?
        .map(|k| Node::ApiKey(ApiKey(k))),
        Kind::WebhookEndpoint => administered(
            session,
            scoped::<entity::webhook_endpoint::Entity>(db, uuid, ws).await?,
        )?
        .map(|e| Node::WebhookEndpoint(WebhookEndpoint(e))),
        Kind::WebhookDelivery => administered(
            session,
            scoped::<entity::webhook_delivery::Entity>(db, uuid, ws).await?,
        )?
        .map(|d| Node::WebhookDelivery(WebhookDelivery(d))),
        // A tool call is not a Node: it is reached through its task.
        Kind::ToolCall => None,
    })
}

/// A row only owners and admins may see: FORBIDDEN for others, once it exists.
fn administered<T>(session: &crate::auth::Session, found: Option<T>) -> AppResult<Option<T>> {
    if found.is_some() {
        policy::require(session, Action::Administer)?;
    }
    Ok(found)
}

/// NOT_FOUND becomes "no node"; other errors stay errors.
fn not_found_is_none<T>(result: AppResult<T>) -> AppResult<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
