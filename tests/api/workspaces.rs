//! Creating, switching and renaming workspaces; the workspace boundary.

use serde_json::json;

use crate::helpers::*;

const CREATE: &str =
    "mutation($n: String!) { createWorkspace(name: $n) { accessToken workspaceId role } }";
const SWITCH: &str =
    "mutation($w: ID!) { switchWorkspace(workspaceId: $w) { accessToken workspaceId role } }";
const CURRENT: &str = "{ workspace { id name plan credits { balance } } viewer { memberships { workspaceId workspaceName role current } } }";

db_test! {
    async fn creating_a_workspace_signs_in_to_it_as_owner_with_trial_credits(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let created = app.ok(Some(&ann.token), CREATE, json!({ "n": "Side project" })).await;
        let c = &created["createWorkspace"];
        assert_eq!(c["role"], "OWNER");
        assert_ne!(c["workspaceId"], ann.workspace_id.as_str());
        let data = app.ok(c["accessToken"].as_str(), CURRENT, json!({})).await;
        assert_eq!(data["workspace"]["name"], "Side project");
        assert_eq!(data["workspace"]["plan"], "FREE_TRIAL");
        assert_eq!(data["workspace"]["credits"]["balance"], 500);
        let memberships = data["viewer"]["memberships"].as_array().unwrap();
        assert_eq!(memberships.len(), 2);
        assert_eq!(memberships.iter().filter(|m| m["current"] == true).count(), 1);
    }
}

db_test! {
    async fn switching_moves_the_token_between_the_users_workspaces_only(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let bob = app.signup("bob@example.com", "Bobs").await;
        let created = app.ok(Some(&ann.token), CREATE, json!({ "n": "Second" })).await;
        let second = created["createWorkspace"]["accessToken"].as_str().unwrap().to_owned();
        let back = app.ok(Some(&second), SWITCH, json!({ "w": ann.workspace_id })).await;
        let token = back["switchWorkspace"]["accessToken"].as_str().unwrap();
        assert_eq!(app.ok(Some(token), CURRENT, json!({})).await["workspace"]["name"], "Acme");
        let foreign = app.gql(Some(&ann.token), SWITCH, json!({ "w": bob.workspace_id })).await;
        assert_eq!(code(&foreign), "NOT_FOUND");
        let garbage = app.gql(Some(&ann.token), SWITCH, json!({ "w": "nonsense" })).await;
        assert_eq!(code(&garbage), "NOT_FOUND");
    }
}

db_test! {
    async fn renaming_changes_the_name_and_bad_names_change_nothing(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let rename = "mutation($n: String!) { renameWorkspace(name: $n) { name } }";
        assert_eq!(app.ok(Some(&ann.token), rename, json!({ "n": "  Acme Studio " })).await["renameWorkspace"]["name"], "Acme Studio");
        for bad in ["", "   ", &"x".repeat(201)] {
            assert_eq!(code(&app.gql(Some(&ann.token), rename, json!({ "n": bad })).await), "BAD_USER_INPUT");
        }
        assert_eq!(app.ok(Some(&ann.token), CURRENT, json!({})).await["workspace"]["name"], "Acme Studio");
    }
}

db_test! {
    async fn another_workspaces_ids_are_not_found_through_node(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let bob = app.signup("bob@example.com", "Bobs").await;
        let node = "query($id: ID!) { node(id: $id) { id __typename } }";
        let bob_member = app.member_id(&bob).await;
        for id in [bob.workspace_id.as_str(), bob.user_id.as_str(), bob_member.as_str(), "usr_zzz", "nonsense"] {
            let data = app.ok(Some(&ann.token), node, json!({ "id": id })).await;
            assert!(data["node"].is_null(), "{id} leaked: {data}");
        }
        let own = app.ok(Some(&ann.token), node, json!({ "id": ann.workspace_id })).await;
        assert_eq!(own["node"]["__typename"], "Workspace");
        let me = app.ok(Some(&ann.token), node, json!({ "id": ann.user_id })).await;
        assert_eq!(me["node"]["__typename"], "User");
    }
}
