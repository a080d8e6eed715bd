//! The one place that says who may do what (the role matrix of DESIGN.md).
//!
//! Guards on the GraphQL fields ask [`allows`] up front; services call
//! [`require`] again, because guards do not run on every path to a field.

use crate::{
    error::{AppError, AppResult},
    member::Role,
};

use super::Session;

/// Everything the matrix distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read the workspace, workrooms, deliverables, agents, credits and activity.
    Read,
    /// Create and drive workrooms, post messages, export.
    Work,
    /// Create, edit and delete custom agents; add style samples.
    EditAgents,
    /// Invite, revoke invitations, change roles, remove members, list invitations.
    ManageMembers,
    /// Change plan, buy top-ups, edit the export profile, rename the workspace.
    ManageWorkspace,
    /// Connect, disconnect and list integrations; verify the activity log.
    Administer,
    /// Hand the workspace to another member.
    TransferOwnership,
}

/// Whether `role` may perform `action`.
pub fn allows(role: Role, action: Action) -> bool {
    use Action::*;
    match action {
        Read => true,
        Work | EditAgents => role >= Role::Member,
        ManageMembers | ManageWorkspace | Administer => role >= Role::Admin,
        TransferOwnership => role == Role::Owner,
    }
}

/// FORBIDDEN unless the session's role allows `action`.
pub fn require(session: &Session, action: Action) -> AppResult<()> {
    if allows(session.role, action) {
        Ok(())
    } else {
        Err(AppError::forbidden(format!(
            "your role ({}) does not allow this",
            session.role.as_str()
        )))
    }
}

/// Whether `role` may grant an approval that requires `required`: viewers never.
pub fn may_approve(role: Role, required: Role) -> bool {
    role != Role::Viewer && role >= required
}

/// The caller as they are now, read under the workspace lock.
pub struct Locked {
    pub workspace: entity::workspace::Model,
    pub member: entity::member::Model,
    pub role: Role,
}

/// Locks the caller's workspace and checks `action` against their role as it
/// is now. A change must not trust the role read when the request began: a
/// concurrent request (a transfer, a demotion, a removal) may have changed it
/// before this one got the lock.
pub async fn require_locked(
    txn: &crate::db::WriteTxn,
    session: &Session,
    action: Action,
) -> AppResult<Locked> {
    use sea_orm::EntityTrait;
    let workspace = txn.lock_workspace(session.workspace_id).await?;
    let member = entity::member::Entity::find_by_id(session.member.id)
        .one(&**txn)
        .await?
        .ok_or_else(|| {
            AppError::Unauthenticated("you are no longer a member of this workspace".into())
        })?;
    let mut role = Role::parse(&member.role)?;
    if let Some(key) = &session.api_key {
        // A key acts with the lower of its role and its creator's, while it is live.
        crate::api_key::service::require_unrevoked(&**txn, key.id).await?;
        role = role.min(key.role);
    }
    if !allows(role, action) {
        return Err(AppError::forbidden(format!(
            "your role ({}) does not allow this",
            role.as_str()
        )));
    }
    Ok(Locked {
        workspace,
        member,
        role,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    #[test]
    fn the_matrix_of_design_md() {
        let rows: [(Action, [bool; 4]); 7] = [
            (Read, [true, true, true, true]),
            (Work, [true, true, true, false]),
            (EditAgents, [true, true, true, false]),
            (ManageMembers, [true, true, false, false]),
            (ManageWorkspace, [true, true, false, false]),
            (Administer, [true, true, false, false]),
            (TransferOwnership, [true, false, false, false]),
        ];
        let roles = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];
        for (action, expected) in rows {
            for (role, want) in roles.iter().zip(expected) {
                assert_eq!(allows(*role, action), want, "{role:?} {action:?}");
            }
        }
    }

    #[test]
    fn viewers_never_approve() {
        assert!(!may_approve(Role::Viewer, Role::Viewer));
        assert!(may_approve(Role::Member, Role::Member));
        assert!(!may_approve(Role::Member, Role::Admin));
    }
}
