//! The one place that says who may do what: the role matrix of DESIGN.md,
//! and what a credential of each kind may ever do.
//!
//! Guards on the GraphQL fields ask [`require`] (or [`require_caller`])
//! up front; services call [`require`] again, and every change
//! [`require_locked`] under its row lock, because guards do not run on every
//! path to a field and a request's session may be stale by the time it writes.

use crate::{
    error::{AppError, AppResult},
    member::Role,
};

use super::{Authn, Session};

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
    /// Connect, disconnect and list integrations and webhook endpoints; list
    /// API keys; verify the activity log.
    Administer,
    /// Hand the workspace to another member.
    TransferOwnership,
    /// Create and revoke API keys.
    ManageKeys,
    /// The caller's own account: anything that returns an access or refresh
    /// token (signing up, logging in, refreshing, accepting an invitation,
    /// creating or switching workspaces), signing out, leaving the
    /// workspace, and seeing the account's other workspaces.
    OwnAccount,
}

/// The kind of credential a request came with: the policy's second axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A person, with an access token they got by signing in.
    Person,
    /// An API key: a machine acting in one workspace for its creator.
    Key,
}

/// Whether `role` may perform `action` (DESIGN.md's matrix; what the
/// credential may do is [`credential_allows`]).
pub fn allows(role: Role, action: Action) -> bool {
    use Action::*;
    match action {
        Read | OwnAccount => true,
        Work | EditAgents => role >= Role::Member,
        ManageMembers | ManageWorkspace | Administer | ManageKeys => role >= Role::Admin,
        TransferOwnership => role == Role::Owner,
    }
}

/// A key never creates a credential or a person, and administers no people:
/// no tokens, no invitations, no role changes, no removals, no ownership
/// transfer, no API keys, nothing about its creator's own account. So a
/// leaked key cannot mint itself a successor, nor outlive its revocation.
/// What it may do is its role's work and configuration (the workspace's
/// settings, integrations, webhook endpoints). Every action is named here,
/// so a new one cannot reach keys without a decision.
pub fn credential_allows(credential: Credential, action: Action) -> bool {
    use Action::*;
    match credential {
        Credential::Person => true,
        Credential::Key => match action {
            Read | Work | EditAgents | ManageWorkspace | Administer => true,
            ManageMembers | TransferOwnership | ManageKeys | OwnAccount => false,
        },
    }
}

/// Whether the session's role and credential allow `action`.
pub fn permits(session: &Session, action: Action) -> bool {
    credential_allows(session.credential(), action) && allows(session.role, action)
}

/// FORBIDDEN unless the session's role and credential allow `action`.
pub fn require(session: &Session, action: Action) -> AppResult<()> {
    check(session.role, session.credential(), action)
}

fn check(role: Role, credential: Credential, action: Action) -> AppResult<()> {
    if !credential_allows(credential, action) {
        return Err(AppError::forbidden(
            "an API key cannot do this: it never obtains tokens, manages keys or administers people",
        ));
    }
    if !allows(role, action) {
        return Err(AppError::forbidden(format!(
            "your role ({}) does not allow this",
            role
        )));
    }
    Ok(())
}

/// For operations open to callers without a session (signing up, logging
/// in, refreshing, accepting an invitation): a caller with no valid token
/// passes, a session must be allowed `action`, and a session that could not
/// be read at all is the server's fault (INTERNAL), never a pass.
pub fn require_caller(authn: &Authn, action: Action) -> AppResult<()> {
    match authn {
        Authn::Signed(session) => require(session, action),
        Authn::Failed(_) => authn.session().map(|_| ()),
        Authn::Anonymous | Authn::Rejected(_) => Ok(()),
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
/// is now. A change must not trust what was read when the request began: a
/// concurrent request (a transfer, a demotion, a removal, a key's
/// revocation) may have changed it, or the key expired, before this one got
/// the lock.
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
    let mut role = member.role;
    if let Some(key) = &session.api_key {
        // A key acts with the lower of its role and its creator's, while it is live.
        crate::api_key::authn::require_live(&**txn, key).await?;
        role = role.min(key.role);
    }
    check(role, session.credential(), action)?;
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

    const ROLES: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    #[test]
    fn the_matrix_of_design_md_for_people() {
        let rows: [(Action, [bool; 4]); 9] = [
            (Read, [true, true, true, true]),
            (Work, [true, true, true, false]),
            (EditAgents, [true, true, true, false]),
            (ManageMembers, [true, true, false, false]),
            (ManageWorkspace, [true, true, false, false]),
            (Administer, [true, true, false, false]),
            (TransferOwnership, [true, false, false, false]),
            (ManageKeys, [true, true, false, false]),
            (OwnAccount, [true, true, true, true]),
        ];
        for (action, expected) in rows {
            for (role, want) in ROLES.iter().zip(expected) {
                assert_eq!(allows(*role, action), want, "{role:?} {action:?}");
            }
        }
    }

    #[test]
    fn a_key_never_touches_credentials_people_or_its_creators_account() {
        for action in [ManageMembers, TransferOwnership, ManageKeys, OwnAccount] {
            assert!(!credential_allows(Credential::Key, action), "{action:?}");
        }
    }

    #[test]
    fn a_key_does_its_roles_work_and_configuration() {
        for action in [Read, Work, EditAgents, ManageWorkspace, Administer] {
            assert!(credential_allows(Credential::Key, action), "{action:?}");
        }
        for action in [Read, ManageMembers, OwnAccount, ManageKeys] {
            assert!(credential_allows(Credential::Person, action), "{action:?}");
        }
    }

    #[test]
    fn viewers_never_approve() {
        assert!(!may_approve(Role::Viewer, Role::Viewer));
        assert!(may_approve(Role::Member, Role::Member));
        assert!(!may_approve(Role::Member, Role::Admin));
    }
}
