//! Changing roles, removing and leaving, transferring ownership, listing.

use chrono::{DateTime, Utc};
use entity::member;
use sea_orm::{
    sea_query::Expr, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use super::Role;
use crate::{
    activity::{self, ActivityAction, NewActivity},
    auth::{policy, Action, Session},
    db::WriteTxn,
    error::{AppError, AppResult},
    identity::tokens,
    ids::{self, Kind},
    page::PageArgs,
    realtime::{Message, Topic},
    state::AppState,
};

pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    id: Uuid,
) -> AppResult<member::Model> {
    crate::db::found::<member::Entity>(db, workspace_id, id, "member").await
}

/// A page of members in the order they joined; the cursor is the member id (time-ordered).
pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    page: &PageArgs<Uuid>,
) -> AppResult<Vec<member::Model>> {
    let mut query = member::Entity::find().filter(member::Column::WorkspaceId.eq(workspace_id));
    if let Some(after) = page.after {
        query = query.filter(member::Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(member::Column::Id)
        .limit(page.fetch_limit())
        .all(db)
        .await?)
}

async fn set_role(txn: &WriteTxn, target: &member::Model, role: Role) -> AppResult<()> {
    member::Entity::update_many()
        .col_expr(member::Column::Role, Expr::value(role))
        .filter(member::Column::Id.eq(target.id))
        .exec(&**txn)
        .await?;
    access_changed(txn, target);
    Ok(())
}

/// Tells every instance that `member`'s access changed, so their open sockets
/// check it again (and close when it no longer allows what they do).
fn access_changed(txn: &WriteTxn, member: &member::Model) {
    txn.publish(
        Topic::Control,
        Message::AccessChanged {
            workspace_id: member.workspace_id,
            user_id: member.user_id,
        },
    );
}

fn target_of(member: &member::Model) -> Option<String> {
    Some(ids::encode(Kind::Member, member.id))
}

async fn change_role_in(
    txn: &WriteTxn,
    session: &Session,
    member_id: Uuid,
    role: Role,
    now: DateTime<Utc>,
) -> AppResult<member::Model> {
    policy::require(session, Action::ManageMembers)?;
    let role = super::assignable(role)?;
    policy::require_locked(txn, session, Action::ManageMembers).await?;
    let target = find(&**txn, session.workspace_id, member_id).await?;
    if target.id == session.member.id {
        return Err(AppError::forbidden("you cannot change your own role"));
    }
    let from = target.role;
    if from == Role::Owner {
        return Err(AppError::forbidden(
            "the owner's role changes only through transferOwnership",
        ));
    }
    set_role(txn, &target, role).await?;
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::MemberRoleChanged,
        target_type: "Member",
        target_id: target_of(&target),
        summary: format!(
            "{} changed a member's role from {} to {}",
            session.user.name, from, role
        ),
        metadata: json!({ "userId": ids::encode(Kind::User, target.user_id), "from": from, "to": role }),
    };
    activity::record(txn, session.workspace_id, entry, now).await?;
    Ok(member::Model { role, ..target })
}

async fn remove_in(
    txn: &WriteTxn,
    session: &Session,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    policy::require(session, Action::ManageMembers)?;
    policy::require_locked(txn, session, Action::ManageMembers).await?;
    let target = find(&**txn, session.workspace_id, member_id).await?;
    if target.id == session.member.id {
        return Err(AppError::forbidden(
            "you cannot remove yourself; use leaveWorkspace",
        ));
    }
    if target.role == Role::Owner {
        return Err(AppError::forbidden("the owner cannot be removed"));
    }
    delete_member(txn, &target, now).await?;
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::MemberRemoved,
        target_type: "Member",
        target_id: target_of(&target),
        summary: format!("{} removed a member", session.user.name),
        metadata: json!({ "userId": ids::encode(Kind::User, target.user_id), "role": target.role }),
    };
    activity::record(txn, session.workspace_id, entry, now).await?;
    Ok(())
}

/// Deletes a membership and revokes the user's refresh tokens for the
/// workspace and the API keys made under it; their access tokens stop
/// working at once because sessions are read fresh.
async fn delete_member(
    txn: &WriteTxn,
    target: &member::Model,
    now: DateTime<Utc>,
) -> AppResult<()> {
    member::Entity::delete_by_id(target.id).exec(&**txn).await?;
    access_changed(txn, target);
    crate::api_key::authn::revoke_for_member(&**txn, target.id, now).await?;
    tokens::revoke_for_member(&**txn, target.user_id, target.workspace_id, now).await
}

async fn leave_in(txn: &WriteTxn, session: &Session, now: DateTime<Utc>) -> AppResult<()> {
    policy::require(session, Action::OwnAccount)?;
    let me = policy::require_locked(txn, session, Action::OwnAccount).await?;
    if me.role == Role::Owner {
        return Err(AppError::forbidden(
            "the owner cannot leave; transfer ownership first",
        ));
    }
    delete_member(txn, &me.member, now).await?;
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::MemberLeft,
        target_type: "Member",
        target_id: target_of(&me.member),
        summary: format!("{} left the workspace", session.user.name),
        metadata: json!({ "role": me.role }),
    };
    activity::record(txn, session.workspace_id, entry, now).await?;
    Ok(())
}

async fn transfer_ownership_in(
    txn: &WriteTxn,
    session: &Session,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    policy::require(session, Action::TransferOwnership)?;
    policy::require_locked(txn, session, Action::TransferOwnership).await?;
    let target = find(&**txn, session.workspace_id, member_id).await?;
    if target.id == session.member.id {
        return Err(AppError::conflict("you already own this workspace"));
    }
    set_role(txn, &session.member, Role::Admin).await?;
    set_role(txn, &target, Role::Owner).await?;
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::OwnershipTransferred,
        target_type: "Member",
        target_id: target_of(&target),
        summary: format!(
            "{} transferred ownership of the workspace",
            session.user.name
        ),
        metadata: json!({
            "fromUserId": ids::encode(Kind::User, session.user.id),
            "toUserId": ids::encode(Kind::User, target.user_id),
            "previousRole": target.role,
        }),
    };
    activity::record(txn, session.workspace_id, entry, now).await?;
    Ok(())
}

// Each change is one transaction, with its activity entry and its events.

#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, member = %member_id, role = %role))]
pub async fn change_role(
    state: &AppState,
    session: &Session,
    member_id: Uuid,
    role: Role,
) -> AppResult<member::Model> {
    let txn = state.db.begin().await?;
    let member = change_role_in(&txn, session, member_id, role, state.clock.now()).await?;
    txn.commit().await?;
    Ok(member)
}

#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, member = %member_id))]
pub async fn remove(state: &AppState, session: &Session, member_id: Uuid) -> AppResult<()> {
    let txn = state.db.begin().await?;
    remove_in(&txn, session, member_id, state.clock.now()).await?;
    txn.commit().await
}

#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, user = %session.user.id))]
pub async fn leave(state: &AppState, session: &Session) -> AppResult<()> {
    let txn = state.db.begin().await?;
    leave_in(&txn, session, state.clock.now()).await?;
    txn.commit().await
}

#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, member = %member_id))]
pub async fn transfer_ownership(
    state: &AppState,
    session: &Session,
    member_id: Uuid,
) -> AppResult<()> {
    let txn = state.db.begin().await?;
    transfer_ownership_in(&txn, session, member_id, state.clock.now()).await?;
    txn.commit().await
}
