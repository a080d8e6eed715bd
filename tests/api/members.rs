//! Roles, removing members, leaving, and transferring ownership.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::invitations::{
    invitations, invite_raw, login, members, memberships, refresh, role_of, seats_used,
};

db_test! {
    async fn the_owner_promotes_and_demotes_members(app);
    {
        let (owner, team) = app.team(&["MEMBER"]).await;
        let bob = &team[0];
        let id = app.member_id(bob).await;

        let promoted = change_role(&app, &owner.token, &id, "ADMIN").await;
        assert_eq!(promoted["data"]["changeMemberRole"], json!({ "id": id, "role": "ADMIN" }), "{promoted}");
        assert_eq!(role_of(&app, bob).await, "ADMIN");

        let demoted = change_role(&app, &owner.token, &id, "VIEWER").await;
        assert_eq!(demoted["data"]["changeMemberRole"]["role"], "VIEWER", "{demoted}");
        assert_eq!(members(&app, &owner.token).await, vec![(bob.email.clone(), "VIEWER".into()), ("owner@example.com".into(), "OWNER".into())]);
    }
}

db_test! {
    async fn admins_may_make_other_admins(app);
    {
        let (owner, team) = app.team(&["ADMIN", "MEMBER"]).await;
        let (admin, member) = (&team[0], &team[1]);
        let id = app.member_id(member).await;

        let body = change_role(&app, &admin.token, &id, "ADMIN").await;
        assert_eq!(body["data"]["changeMemberRole"]["role"], "ADMIN", "{body}");

        let invited = invite_raw(&app, &member.token, "new@example.com", None).await;
        assert!(invited.get("errors").is_none(), "the promotion takes effect with the same token: {invited}");
        assert_eq!(role_of(&app, &owner).await, "OWNER");
    }
}

db_test! {
    async fn a_role_change_never_assigns_owner(app);
    {
        let (owner, team) = app.team(&["ADMIN", "MEMBER"]).await;
        let before = members(&app, &owner.token).await;

        for (by, target) in [(&owner, &team[1]), (&team[0], &team[1]), (&owner, &team[0])] {
            let id = app.member_id(target).await;
            assert_eq!(code(&change_role(&app, &by.token, &id, "OWNER").await), "BAD_USER_INPUT");
        }

        assert_eq!(members(&app, &owner.token).await, before);
    }
}

db_test! {
    async fn nobody_changes_their_own_role(app);
    {
        let (owner, team) = app.team(&["ADMIN"]).await;
        let before = members(&app, &owner.token).await;

        for (me, role) in [(&owner, "ADMIN"), (&owner, "VIEWER"), (&team[0], "MEMBER"), (&team[0], "ADMIN")] {
            let id = app.member_id(me).await;
            assert_eq!(code(&change_role(&app, &me.token, &id, role).await), "FORBIDDEN", "{} to {role}", me.email);
        }

        assert_eq!(members(&app, &owner.token).await, before);
    }
}

db_test! {
    async fn the_owners_role_cannot_be_changed_or_removed(app);
    {
        let (owner, team) = app.team(&["ADMIN"]).await;
        let admin = &team[0];
        let owner_id = app.member_id(&owner).await;
        let before = members(&app, &owner.token).await;

        for role in ["ADMIN", "MEMBER", "VIEWER"] {
            assert_eq!(code(&change_role(&app, &admin.token, &owner_id, role).await), "FORBIDDEN", "{role}");
        }
        assert_eq!(code(&remove(&app, &admin.token, &owner_id).await), "FORBIDDEN");

        assert_eq!(members(&app, &owner.token).await, before);
        assert_eq!(role_of(&app, &owner).await, "OWNER");
    }
}

db_test! {
    async fn members_and_viewers_cannot_change_roles_remove_or_transfer(app);
    {
        let (owner, team) = app.team(&["MEMBER", "VIEWER", "MEMBER"]).await;
        let target = app.member_id(&team[2]).await;
        let before = members(&app, &owner.token).await;

        for caller in [&team[0], &team[1]] {
            assert_eq!(code(&change_role(&app, &caller.token, &target, "ADMIN").await), "FORBIDDEN");
            assert_eq!(code(&remove(&app, &caller.token, &target).await), "FORBIDDEN");
            assert_eq!(code(&transfer(&app, &caller.token, &target).await), "FORBIDDEN");
        }

        assert_eq!(members(&app, &owner.token).await, before);
    }
}

db_test! {
    async fn a_demoted_admin_loses_rights_at_once(app);
    {
        let (owner, team) = app.team(&["ADMIN", "MEMBER"]).await;
        let admin = &team[0];
        let invited = invite_raw(&app, &admin.token, "first@example.com", None).await;
        assert!(invited.get("errors").is_none(), "{invited}");
        let admin_id = app.member_id(admin).await;

        let body = change_role(&app, &owner.token, &admin_id, "MEMBER").await;
        assert_eq!(body["data"]["changeMemberRole"]["role"], "MEMBER", "{body}");

        assert_eq!(code(&invite_raw(&app, &admin.token, "second@example.com", None).await), "FORBIDDEN");
        let member_id = app.member_id(&team[1]).await;
        assert_eq!(code(&change_role(&app, &admin.token, &member_id, "VIEWER").await), "FORBIDDEN");
        assert_eq!(code(&app.gql(Some(&admin.token), crate::invitations::INVITATIONS, json!({})).await), "FORBIDDEN");
        assert_eq!(invitations(&app, &owner.token, Some("PENDING")).await, vec![("first@example.com".into(), "PENDING".into())]);
        assert_eq!(role_of(&app, &team[1]).await, "MEMBER");
    }
}

db_test! {
    async fn removing_a_member_ends_their_access_at_once_and_frees_the_seat(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "STARTER").await;
        let token = app.invite(&owner.token, "bob@example.com", "ADMIN").await;
        let bob = app.accept_new(&token, "bob@example.com").await;
        let bob_id = app.member_id(&bob).await;
        assert_eq!(code(&invite_raw(&app, &owner.token, "carol@example.com", None).await), "SEAT_LIMIT_REACHED");

        let body = remove(&app, &owner.token, &bob_id).await;
        assert_eq!(body["data"]["removeMember"], true, "{body}");

        assert_eq!(members(&app, &owner.token).await, vec![("owner@example.com".into(), "OWNER".into())]);
        assert_eq!(seats_used(&app, &owner.token).await, 1);
        assert_eq!(code(&app.gql(Some(&bob.token), "{ viewer { user { id } } }", json!({})).await), "UNAUTHENTICATED");
        assert_eq!(code(&invite_raw(&app, &bob.token, "dan@example.com", None).await), "UNAUTHENTICATED");
        assert_eq!(code(&refresh(&app, &bob.refresh).await), "UNAUTHENTICATED");
        let again = invite_raw(&app, &owner.token, "carol@example.com", None).await;
        assert!(again.get("errors").is_none(), "the seat is free again: {again}");
    }
}

db_test! {
    async fn a_removed_member_keeps_their_other_workspaces(app);
    {
        let (owner, _) = app.team(&[]).await;
        let carol = app.signup("carol@example.com", "Carol's studio").await;
        let token = app.invite(&owner.token, "carol@example.com", "MEMBER").await;
        let joined = crate::invitations::accept(&app, Some(&carol.token), &token, None, None).await;
        let in_team = joined["data"]["acceptInvitation"]["accessToken"].as_str().unwrap_or_else(|| panic!("{joined}")).to_owned();
        let carol_id = app.ok(Some(&in_team), "{ viewer { member { id } } }", json!({})).await["viewer"]["member"]["id"].as_str().unwrap().to_owned();

        remove(&app, &owner.token, &carol_id).await;

        assert_eq!(code(&app.gql(Some(&in_team), "{ viewer { user { id } } }", json!({})).await), "UNAUTHENTICATED");
        assert_eq!(memberships(&app, &carol.token).await, vec![(carol.workspace_id.clone(), "OWNER".into(), true)]);
        let refreshed = refresh(&app, &carol.refresh).await;
        assert_eq!(refreshed["data"]["refreshToken"]["workspaceId"], carol.workspace_id.as_str(), "{refreshed}");
        assert_eq!(login(&app, "carol@example.com").await["data"]["login"]["workspaceId"], carol.workspace_id.as_str());
    }
}

db_test! {
    async fn removing_yourself_is_refused(app);
    {
        let (owner, team) = app.team(&["ADMIN"]).await;
        let before = members(&app, &owner.token).await;

        for me in [&owner, &team[0]] {
            let id = app.member_id(me).await;
            assert_eq!(code(&remove(&app, &me.token, &id).await), "FORBIDDEN", "{}", me.email);
        }

        assert_eq!(members(&app, &owner.token).await, before);
        assert_eq!(role_of(&app, &team[0]).await, "ADMIN");
    }
}

db_test! {
    async fn a_member_of_another_workspace_is_not_found(app);
    {
        let (owner, _) = app.team(&[]).await;
        let other = app.signup("other@example.com", "Other").await;
        app.change_plan(&other.token, "PRO").await;
        let token = app.invite(&other.token, "bob@example.com", "MEMBER").await;
        let bob = app.accept_new(&token, "bob@example.com").await;
        let bob_id = app.member_id(&bob).await;
        let before = members(&app, &other.token).await;

        for id in [bob_id.as_str(), "mem_00000000000000000000000000000000", "nonsense", &bob.user_id] {
            assert_eq!(code(&change_role(&app, &owner.token, id, "ADMIN").await), "NOT_FOUND", "{id}");
            assert_eq!(code(&remove(&app, &owner.token, id).await), "NOT_FOUND", "{id}");
            assert_eq!(code(&transfer(&app, &owner.token, id).await), "NOT_FOUND", "{id}");
        }

        assert_eq!(members(&app, &other.token).await, before);
        assert_eq!(role_of(&app, &bob).await, "MEMBER");
    }
}

db_test! {
    async fn transferring_ownership_makes_the_old_owner_an_admin(app);
    {
        let (owner, team) = app.team(&["VIEWER", "ADMIN"]).await;
        let (heir, admin) = (&team[0], &team[1]);
        let heir_id = app.member_id(heir).await;

        let body = transfer(&app, &owner.token, &heir_id).await;
        assert!(body.get("errors").is_none(), "{body}");

        assert_eq!(role_of(&app, heir).await, "OWNER");
        assert_eq!(role_of(&app, &owner).await, "ADMIN");
        assert_eq!(role_of(&app, admin).await, "ADMIN");
        let owners = members(&app, &owner.token).await.into_iter().filter(|(_, r)| r == "OWNER").count();
        assert_eq!(owners, 1);

        let owner_id = app.member_id(&owner).await;
        assert_eq!(code(&transfer(&app, &owner.token, &heir_id).await), "FORBIDDEN", "the old owner's token lost the right at once");
        let back = transfer(&app, &heir.token, &owner_id).await;
        assert!(back.get("errors").is_none(), "the new owner may transfer: {back}");
        assert_eq!(role_of(&app, &owner).await, "OWNER");
        assert_eq!(role_of(&app, heir).await, "ADMIN");
    }
}

db_test! {
    async fn only_the_owner_transfers_ownership_and_never_to_themselves(app);
    {
        let (owner, team) = app.team(&["ADMIN", "MEMBER"]).await;
        let (admin, member) = (&team[0], &team[1]);
        let member_id = app.member_id(member).await;
        let owner_id = app.member_id(&owner).await;
        let before = members(&app, &owner.token).await;

        assert_eq!(code(&transfer(&app, &admin.token, &member_id).await), "FORBIDDEN");
        let admin_id = app.member_id(admin).await;
        assert_eq!(code(&transfer(&app, &admin.token, &admin_id).await), "FORBIDDEN");
        assert_eq!(code(&transfer(&app, &owner.token, &owner_id).await), "CONFLICT");

        assert_eq!(members(&app, &owner.token).await, before);
    }
}

db_test! {
    async fn the_owner_cannot_leave_before_transferring(app);
    {
        let (owner, team) = app.team(&["ADMIN"]).await;
        let before = members(&app, &owner.token).await;

        assert_eq!(code(&leave(&app, &owner.token).await), "FORBIDDEN");
        assert_eq!(members(&app, &owner.token).await, before);
        assert_eq!(role_of(&app, &owner).await, "OWNER");

        let heir = app.member_id(&team[0]).await;
        transfer(&app, &owner.token, &heir).await;
        assert_eq!(leave(&app, &owner.token).await["data"]["leaveWorkspace"], true);
        assert_eq!(members(&app, &team[0].token).await, vec![(team[0].email.clone(), "OWNER".into())]);
    }
}

db_test! {
    async fn a_member_who_leaves_loses_access_at_once(app);
    {
        let (owner, team) = app.team(&["MEMBER", "VIEWER"]).await;
        let bob = &team[0];

        let body = leave(&app, &bob.token).await;
        assert_eq!(body["data"]["leaveWorkspace"], true, "{body}");

        assert_eq!(members(&app, &owner.token).await, vec![("owner@example.com".into(), "OWNER".into()), (team[1].email.clone(), "VIEWER".into())]);
        assert_eq!(seats_used(&app, &owner.token).await, 2);
        assert_eq!(code(&app.gql(Some(&bob.token), "{ viewer { user { id } } }", json!({})).await), "UNAUTHENTICATED");
        assert_eq!(code(&leave(&app, &bob.token).await), "UNAUTHENTICATED");
        assert_eq!(code(&refresh(&app, &bob.refresh).await), "UNAUTHENTICATED");
    }
}

db_test! {
    async fn a_member_who_left_can_be_invited_back_with_their_account(app);
    {
        let (owner, team) = app.team(&["ADMIN"]).await;
        let bob = &team[0];
        leave(&app, &bob.token).await;

        let token = app.invite(&owner.token, &bob.email, "VIEWER").await;
        let body = crate::invitations::accept(&app, None, &token, None, Some(PASSWORD)).await;
        let a = &body["data"]["acceptInvitation"];
        assert_eq!(a["user"]["id"], bob.user_id.as_str(), "{body}");
        assert_eq!(a["role"], "VIEWER");

        assert_eq!(members(&app, &owner.token).await, vec![(bob.email.clone(), "VIEWER".into()), ("owner@example.com".into(), "OWNER".into())]);
    }
}

db_test! {
    async fn two_concurrent_transfers_leave_exactly_one_owner(app);
    {
        let (owner, team) = app.team(&["ADMIN", "ADMIN"]).await;
        let a = app.member_id(&team[0]).await;
        let b = app.member_id(&team[1]).await;

        let (first, second) = tokio::join!(transfer(&app, &owner.token, &a), transfer(&app, &owner.token, &b));

        let owners: Vec<_> = members(&app, &owner.token).await.into_iter().filter(|(_, r)| r == "OWNER").collect();
        assert_eq!(owners.len(), 1, "owners {owners:?} after {first} and {second}");
        let won = [&first, &second].iter().filter(|b| b.get("errors").is_none()).count();
        assert_eq!(won, 1, "{first} {second}");
        assert_eq!(role_of(&app, &owner).await, "ADMIN");
    }
}

db_test! {
    async fn a_member_leaving_while_ownership_moves_to_them_leaves_exactly_one_owner(app);
    {
        let (mut owner, team) = app.team(&["MEMBER"; 10]).await;

        for heir in &team {
            let heir_id = app.member_id(heir).await;
            let (moved, left) = tokio::join!(transfer(&app, &owner.token, &heir_id), leave(&app, &heir.token));

            // The old owner is still a member whichever came first: owner, or admin after the transfer.
            let owners: Vec<_> = members(&app, &owner.token).await.into_iter().filter(|(_, r)| r == "OWNER").collect();
            assert_eq!(owners.len(), 1, "owners {owners:?} after transfer {moved} and leave {left}");
            if moved.get("errors").is_none() {
                owner = heir.clone();
            }
        }
    }
}

db_test! {
    async fn every_membership_change_is_recorded_once_and_refusals_record_nothing(app);
    {
        let (owner, team) = app.team(&["ADMIN", "MEMBER", "MEMBER"]).await;
        let (admin, bob, carl) = (&team[0], &team[1], &team[2]);
        let (admin_id, bob_id) = (app.member_id(admin).await, app.member_id(bob).await);
        let owner_id = app.member_id(&owner).await;
        let start = activity_actions(&app, &owner.token).await.len();

        change_role(&app, &admin.token, &bob_id, "VIEWER").await;
        remove(&app, &admin.token, &bob_id).await;
        leave(&app, &carl.token).await;
        transfer(&app, &owner.token, &admin_id).await;
        let refusals = [
            change_role(&app, &admin.token, &admin_id, "MEMBER").await,
            change_role(&app, &owner.token, &admin_id, "OWNER").await,
            remove(&app, &owner.token, &admin_id).await,
            remove(&app, &admin.token, &bob_id).await,
            transfer(&app, &owner.token, &owner_id).await,
            leave(&app, &admin.token).await,
        ];
        for refused in &refusals {
            assert!(refused.get("errors").is_some(), "{refused}");
        }

        let actions = activity_actions(&app, &owner.token).await;
        assert_eq!(actions[start..], ["member.role_changed", "member.removed", "member.left", "ownership.transferred"]);
    }
}

// ---------------------------------------------------------------- helpers

async fn change_role(app: &TestApp, token: &str, member_id: &str, role: &str) -> Value {
    app.gql(
        Some(token),
        "mutation($m: ID!, $r: Role!) { changeMemberRole(memberId: $m, role: $r) { id role } }",
        json!({ "m": member_id, "r": role }),
    )
    .await
}

async fn remove(app: &TestApp, token: &str, member_id: &str) -> Value {
    app.gql(
        Some(token),
        "mutation($m: ID!) { removeMember(memberId: $m) }",
        json!({ "m": member_id }),
    )
    .await
}

async fn transfer(app: &TestApp, token: &str, member_id: &str) -> Value {
    app.gql(
        Some(token),
        "mutation($m: ID!) { transferOwnership(memberId: $m) { id } }",
        json!({ "m": member_id }),
    )
    .await
}

/// The workspace's activity actions, oldest first.
async fn activity_actions(app: &TestApp, token: &str) -> Vec<String> {
    let data = app
        .ok(
            Some(token),
            "{ workspace { activity(first: 100) { nodes { action } } } }",
            json!({}),
        )
        .await;
    let mut actions: Vec<String> = data["workspace"]["activity"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["action"].as_str().unwrap().to_owned())
        .collect();
    actions.reverse();
    actions
}

async fn leave(app: &TestApp, token: &str) -> Value {
    app.gql(Some(token), "mutation { leaveWorkspace }", json!({}))
        .await
}
