//! A key administers no people and touches no membership of its creator:
//! whatever its role, it cannot invite, change roles, remove, transfer the
//! workspace, leave it or make keys, and refused calls change nothing. It
//! may still configure the workspace (webhooks, integrations). It stops for
//! good when its creator leaves or is removed, even if they join again.

use serde_json::{json, Value};

use crate::{api_keys::*, helpers::*};

const PEOPLE: &str = "{ workspace { members(first: 50) { nodes { id role } } } }";

async fn people(app: &TestApp, token: &str) -> Value {
    app.ok(Some(token), PEOPLE, json!({})).await["workspace"]["members"]["nodes"].clone()
}

db_test! {
    async fn a_key_cannot_leave_transfer_or_change_its_creators_membership(app);
    {
        let (owner, others) = app.team(&["ADMIN", "MEMBER"]).await;
        let (admin, member) = (&others[0], &others[1]);
        let admin_id = app.member_id(admin).await;
        let owner_id = app.member_id(&owner).await;
        let member_id = app.member_id(member).await;
        let (viewer_key, _) = app.create_key(&admin.token, json!({ "name": "feed", "role": "VIEWER" })).await;
        let (admin_key, _) = app.create_key(&admin.token, json!({ "name": "ops", "role": "ADMIN" })).await;
        let (owner_key, _) = app.create_key(&owner.token, json!({ "name": "root", "role": "ADMIN" })).await;
        let before = people(&app, &owner.token).await;

        let attempts = [
            (&viewer_key, "mutation { leaveWorkspace }", json!({})),
            (&admin_key, "mutation { leaveWorkspace }", json!({})),
            (&owner_key, "mutation($id: ID!) { transferOwnership(memberId: $id) { id } }", json!({ "id": member_id })),
            (&admin_key, "mutation($id: ID!) { changeMemberRole(memberId: $id, role: VIEWER) { id } }", json!({ "id": admin_id })),
            (&owner_key, "mutation($id: ID!) { changeMemberRole(memberId: $id, role: ADMIN) { id } }", json!({ "id": owner_id })),
            (&admin_key, "mutation($id: ID!) { removeMember(memberId: $id) }", json!({ "id": admin_id })),
            (&owner_key, "mutation($id: ID!) { removeMember(memberId: $id) }", json!({ "id": admin_id })),
        ];
        for (key, document, variables) in attempts {
            let body = app.gql(Some(key), document, variables).await;
            assert_eq!(code(&body), "FORBIDDEN", "{document}: {body}");
        }
        assert_eq!(people(&app, &owner.token).await, before, "refused calls change nothing");
        // The key still works: nothing it tried ended its creator's membership.
        app.ok(Some(&viewer_key), WHO, json!({})).await;
    }
}

db_test! {
    async fn an_admin_key_administers_no_people_and_makes_no_keys_but_configures_the_workspace(app);
    {
        let (owner, others) = app.team(&["MEMBER"]).await;
        let member_id = app.member_id(&others[0]).await;
        let (key, row) = app.create_key(&owner.token, json!({ "name": "ops", "role": "ADMIN" })).await;
        let invitation = app.invite(&owner.token, "carol@example.com", "MEMBER").await;
        let pending = app.ok(Some(&owner.token), "{ workspace { invitations { nodes { id } } } }", json!({})).await;
        let invitation_id = pending["workspace"]["invitations"]["nodes"][0]["id"].clone();
        assert!(!invitation.is_empty());

        let refused = [
            ("mutation { inviteMember(email: \"mallory@example.com\", role: ADMIN) { acceptToken } }", json!({})),
            ("mutation { inviteMember(email: \"mallory@example.com\") { acceptToken } }", json!({})),
            ("mutation($id: ID!) { revokeInvitation(id: $id) { id } }", json!({ "id": invitation_id })),
            ("mutation($id: ID!) { changeMemberRole(memberId: $id, role: ADMIN) { id } }", json!({ "id": member_id })),
            ("mutation($id: ID!) { removeMember(memberId: $id) }", json!({ "id": member_id })),
            ("mutation { createApiKey(input: { name: \"successor\", role: ADMIN }) { secret } }", json!({})),
            ("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", json!({ "id": row["id"] })),
            ("{ workspace { invitations { nodes { email } } } }", json!({})),
        ];
        for (document, variables) in refused {
            let body = app.gql(Some(&key), document, variables).await;
            assert_eq!(code(&body), "FORBIDDEN", "{document}: {body}");
        }
        let listed = app.ok(Some(&owner.token), KEYS, json!({})).await;
        assert_eq!(listed["workspace"]["apiKeys"].as_array().unwrap().len(), 1, "no successor key: {listed}");

        // Configuration is not a credential of a person: an ADMIN key may do it.
        app.ok(Some(&key), "mutation { createWebhookEndpoint(input: { url: \"https://93.184.216.34/hook\", events: [\"workroom.completed\"] }) { secret } }", json!({})).await;
        app.ok(Some(&key), "mutation { connectIntegration(input: { provider: \"hubspot\", accessToken: \"pat-1\" }) { id } }", json!({})).await;
    }
}

db_test! {
    async fn a_key_stops_for_good_when_its_creator_leaves_or_is_removed_even_after_rejoining(app);
    {
        let (owner, others) = app.team(&["ADMIN", "ADMIN"]).await;
        let (leaver, removed) = (&others[0], &others[1]);
        let (leavers_key, _) = app.create_key(&leaver.token, json!({ "name": "a", "role": "MEMBER" })).await;
        let (removeds_key, _) = app.create_key(&removed.token, json!({ "name": "b", "role": "VIEWER" })).await;
        app.ok(Some(&leavers_key), WHO, json!({})).await;

        app.ok(Some(&leaver.token), "mutation { leaveWorkspace }", json!({})).await;
        let removed_id = app.member_id(removed).await;
        app.ok(Some(&owner.token), "mutation($id: ID!) { removeMember(memberId: $id) }", json!({ "id": removed_id })).await;
        for key in [&leavers_key, &removeds_key] {
            assert_eq!(code(&app.gql(Some(key), WHO, json!({})).await), "UNAUTHENTICATED");
        }
        let listed = app.ok(Some(&owner.token), KEYS, json!({})).await;
        for key in listed["workspace"]["apiKeys"].as_array().unwrap() {
            assert!(key["revokedAt"].is_string(), "the list says the key is dead: {listed}");
        }

        // Both join again, with the same role: their old keys stay dead.
        let accept = "mutation($t: String!, $p: String) { acceptInvitation(token: $t, password: $p) { accessToken } }";
        for person in [leaver, removed] {
            let token = app.invite(&owner.token, &person.email, "ADMIN").await;
            app.ok(None, accept, json!({ "t": token, "p": PASSWORD })).await;
        }
        for key in [&leavers_key, &removeds_key] {
            let body = app.gql(Some(key), WHO, json!({})).await;
            assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
        }
    }
}
