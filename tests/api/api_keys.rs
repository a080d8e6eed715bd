//! API keys as an integrator meets them: an owner or admin creates one and
//! sees its secret once; it is stored only hashed; it works as a bearer
//! token over HTTP and websockets, with at most its creator's role; what it
//! does is logged under its creator, naming the key; revoking it, its expiry
//! or its creator leaving refuses the next request and closes its sockets;
//! it belongs to one workspace; and it has a cost budget of its own.

use std::time::Duration;

use sea_orm::EntityTrait;
use serde_json::{json, Value};

use crate::{helpers::*, ws_client::*};

pub const CREATE: &str = "mutation($i: ApiKeyInput!) { createApiKey(input: $i) { secret apiKey { id name prefix role createdBy { id } createdAt lastUsedAt expiresAt revokedAt } } }";
pub const REVOKE: &str = "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }";
pub const KEYS: &str =
    "{ workspace { apiKeys { id name prefix role lastUsedAt revokedAt createdBy { id } } } }";
pub const WHO: &str = "{ viewer { user { id } workspace { id } member { role } } }";
const RENAME: &str = "mutation($n: String!) { renameWorkspace(name: $n) { name } }";

impl TestApp {
    /// Creates a key with `token`; returns its secret and its `ApiKey`.
    pub async fn create_key(&self, token: &str, input: Value) -> (String, Value) {
        let data = self.ok(Some(token), CREATE, json!({ "i": input })).await;
        let payload = &data["createApiKey"];
        (
            payload["secret"].as_str().unwrap().to_owned(),
            payload["apiKey"].clone(),
        )
    }
}

db_test! {
    async fn a_key_is_shown_once_stored_hashed_and_works_as_a_bearer_token(app);
    {
        let (owner, others) = app.team(&["MEMBER"]).await;
        let member = &others[0];
        let (secret, key) = app.create_key(&owner.token, json!({ "name": "  CRM sync  ", "role": "ADMIN" })).await;

        assert!(secret.starts_with("atk_"), "{secret}");
        assert!(secret.len() >= 4 + 43, "at least 256 bits: {secret}");
        assert_eq!(key["name"], "CRM sync");
        assert_eq!(key["prefix"], &secret[..12]);
        assert_eq!(key["role"], "ADMIN");
        assert_eq!(key["createdBy"]["id"], owner.user_id.as_str());
        assert_eq!((&key["lastUsedAt"], &key["expiresAt"], &key["revokedAt"]), (&Value::Null, &Value::Null, &Value::Null));

        // At rest: the SHA-256 of the secret, and the secret nowhere.
        let rows = entity::api_key::Entity::find().all(app.state.db.conn()).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].secret_hash, atelya::auth::secret::hash(&secret));
        assert!(!format!("{:?} {} {}", rows[0], rows[0].prefix, rows[0].secret_hash).contains(&secret));

        // The key acts as its creator, in its workspace, with its role.
        let who = app.ok(Some(&secret), WHO, json!({})).await;
        assert_eq!(who["viewer"]["user"]["id"], owner.user_id.as_str());
        assert_eq!(who["viewer"]["workspace"]["id"], owner.workspace_id.as_str());
        let renamed = app.ok(Some(&secret), RENAME, json!({ "n": "Acme Renamed" })).await;
        assert_eq!(renamed["renameWorkspace"]["name"], "Acme Renamed");

        // Listed for owners and admins, never with the secret; its use is recorded.
        let listed = app.ok(Some(&owner.token), KEYS, json!({})).await;
        let keys = listed["workspace"]["apiKeys"].as_array().unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys[0]["lastUsedAt"].is_string(), "{listed}");
        assert!(!listed.to_string().contains(&secret));
        let refused = app.gql(Some(&member.token), KEYS, json!({})).await;
        assert_eq!(code(&refused), "FORBIDDEN");
        let refused = app.gql(Some(&member.token), CREATE, json!({ "i": { "name": "mine", "role": "VIEWER" } })).await;
        assert_eq!(code(&refused), "FORBIDDEN");

        // The activity log: the creation, and the key's own change under its creator, naming the key.
        let activity = app.ok(Some(&owner.token), "{ workspace { activity(first: 20) { nodes { action actor { id } metadata } } } }", json!({})).await;
        let nodes = activity["workspace"]["activity"]["nodes"].as_array().unwrap().clone();
        let created = nodes.iter().find(|n| n["action"] == "api_key.created").expect("api_key.created");
        assert_eq!(created["metadata"]["prefix"], &secret[..12]);
        let renamed = nodes.iter().find(|n| n["action"] == "workspace.renamed").expect("workspace.renamed");
        assert_eq!(renamed["actor"]["id"], owner.user_id.as_str());
        assert_eq!(renamed["metadata"]["apiKey"], key["id"]);
    }
}

db_test! {
    async fn a_keys_role_is_at_most_its_creators_and_never_owner(app);
    {
        let (owner, others) = app.team(&["ADMIN"]).await;
        let admin = &others[0];
        let refused = app.gql(Some(&owner.token), CREATE, json!({ "i": { "name": "root", "role": "OWNER" } })).await;
        assert_eq!(code(&refused), "BAD_USER_INPUT");
        let refused = app.gql(Some(&owner.token), CREATE, json!({ "i": { "name": "   ", "role": "VIEWER" } })).await;
        assert_eq!(code(&refused), "BAD_USER_INPUT");
        let refused = app.gql(Some(&owner.token), CREATE, json!({ "i": { "name": "old", "role": "VIEWER", "expiresAt": "2020-01-01T00:00:00Z" } })).await;
        assert_eq!(code(&refused), "BAD_USER_INPUT");
        let nothing = app.ok(Some(&owner.token), KEYS, json!({})).await;
        assert_eq!(nothing["workspace"]["apiKeys"], json!([]), "refusals create nothing");

        let (admin_key, _) = app.create_key(&admin.token, json!({ "name": "ops", "role": "ADMIN" })).await;
        let (member_key, _) = app.create_key(&admin.token, json!({ "name": "bot", "role": "MEMBER" })).await;
        let refused = app.gql(Some(&member_key), RENAME, json!({ "n": "Nope" })).await;
        assert_eq!(code(&refused), "FORBIDDEN", "a MEMBER key cannot do what needs ADMIN");
        app.ok(Some(&admin_key), RENAME, json!({ "n": "Ops Renamed" })).await;
        // A key never manages keys, whatever its role.
        let refused = app.gql(Some(&admin_key), CREATE, json!({ "i": { "name": "child", "role": "VIEWER" } })).await;
        assert_eq!(code(&refused), "FORBIDDEN");

        // The creator demoted: the key acts with the lower role from the next request.
        let admin_member = app.member_id(admin).await;
        app.ok(Some(&owner.token), "mutation($id: ID!) { changeMemberRole(memberId: $id, role: MEMBER) { id } }", json!({ "id": admin_member })).await;
        let refused = app.gql(Some(&admin_key), RENAME, json!({ "n": "Again" })).await;
        assert_eq!(code(&refused), "FORBIDDEN");
        let who = app.ok(Some(&admin_key), WHO, json!({})).await;
        assert_eq!(who["viewer"]["member"]["role"], "MEMBER");

        // The creator removed: the key stops working.
        app.ok(Some(&owner.token), "mutation($id: ID!) { removeMember(memberId: $id) }", json!({ "id": admin_member })).await;
        let refused = app.gql(Some(&member_key), WHO, json!({})).await;
        assert_eq!(code(&refused), "UNAUTHENTICATED");
    }
}

db_test! {
    async fn revoking_a_key_refuses_its_next_request_and_closes_its_sockets(app);
    {
        let owner = app.signup("ann@example.com", "Acme").await;
        let (secret, key) = app.create_key(&owner.token, json!({ "name": "dashboard", "role": "VIEWER" })).await;
        let mut socket = initialised(&app, &secret).await;
        send(&mut socket, json!({ "type": "subscribe", "id": "q", "payload": { "query": "{ viewer { workspace { name } } }" } })).await;
        assert_eq!(recv(&mut socket).await["payload"]["data"]["viewer"]["workspace"]["name"], "Acme");
        assert_eq!(recv(&mut socket).await["type"], "complete");

        let revoked = app.ok(Some(&owner.token), REVOKE, json!({ "id": key["id"] })).await;
        let revoked_at = revoked["revokeApiKey"]["revokedAt"].clone();
        assert!(revoked_at.is_string());
        let closed = tokio::time::timeout(Duration::from_secs(1), close_code(&mut socket)).await;
        assert_eq!(closed.expect("closed within a second"), 4403);
        let refused = app.gql(Some(&secret), WHO, json!({})).await;
        assert_eq!(code(&refused), "UNAUTHENTICATED");
        assert!(open(&app, Some("graphql-transport-ws"), None).await.is_ok());

        // Revoking again changes nothing.
        let again = app.ok(Some(&owner.token), REVOKE, json!({ "id": key["id"] })).await;
        assert_eq!(again["revokeApiKey"]["revokedAt"], revoked_at);
        let activity = app.ok(Some(&owner.token), "{ workspace { activity(filter: { action: \"api_key.revoked\" }) { nodes { targetId } } } }", json!({})).await;
        assert_eq!(activity["workspace"]["activity"]["nodes"], json!([{ "targetId": key["id"] }]));
    }
}

db_test! {
    async fn an_expired_key_is_refused_and_its_sockets_close(app);
    {
        let owner = app.signup("ann@example.com", "Acme").await;
        let in_an_hour = (app.state.clock.now() + chrono::TimeDelta::hours(1)).to_rfc3339();
        let (secret, key) = app.create_key(&owner.token, json!({ "name": "trial", "role": "MEMBER", "expiresAt": in_an_hour })).await;
        assert!(key["expiresAt"].is_string());
        app.ok(Some(&secret), WHO, json!({})).await;
        let mut socket = initialised(&app, &secret).await;

        app.state.clock.advance(Duration::from_secs(3601));
        let closed = tokio::time::timeout(Duration::from_secs(2), close_code(&mut socket)).await;
        assert_eq!(closed.expect("closed at expiry"), 4403);
        let refused = app.gql(Some(&secret), WHO, json!({})).await;
        assert_eq!(code(&refused), "UNAUTHENTICATED");
    }
}

db_test! {
    async fn a_key_belongs_to_one_workspace(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let bob = app.signup("bob@example.com", "Bobco").await;
        let (secret, key) = app.create_key(&ann.token, json!({ "name": "acme", "role": "ADMIN" })).await;

        let who = app.ok(Some(&secret), WHO, json!({})).await;
        assert_eq!(who["viewer"]["workspace"]["id"], ann.workspace_id.as_str());
        let refused = app.gql(Some(&bob.token), REVOKE, json!({ "id": key["id"] })).await;
        assert_eq!(code(&refused), "NOT_FOUND");
        let node = app.ok(Some(&bob.token), "query($id: ID!) { node(id: $id) { id } }", json!({ "id": key["id"] })).await;
        assert_eq!(node["node"], Value::Null);
        let node = app.ok(Some(&ann.token), "query($id: ID!) { node(id: $id) { ... on ApiKey { name } } }", json!({ "id": key["id"] })).await;
        assert_eq!(node["node"]["name"], "acme");
        let theirs = app.ok(Some(&bob.token), KEYS, json!({})).await;
        assert_eq!(theirs["workspace"]["apiKeys"], json!([]));
        // A made-up key, or a bearer that only looks like one, is refused.
        let refused = app.gql(Some("atk_not-a-real-key"), WHO, json!({})).await;
        assert_eq!(code(&refused), "UNAUTHENTICATED");
    }
}

db_test! {
    async fn a_key_draws_on_a_cost_budget_of_its_own(app)
        with |config| config.limits.cost_budget_per_hour = 30;
    {
        let owner = app.signup("ann@example.com", "Acme").await;
        let (secret, _) = app.create_key(&owner.token, json!({ "name": "bot", "role": "MEMBER" })).await;
        let cheap = "{ viewer { user { id } } }";
        let mut answered = 0;
        let limited = loop {
            let body = app.gql(Some(&secret), cheap, json!({})).await;
            if body.get("errors").is_some() {
                break body;
            }
            answered += 1;
            assert!(answered <= 30, "the key's budget never ran out");
        };
        assert_eq!(code(&limited), "RATE_LIMITED");
        assert_eq!(answered, 30, "the key had the whole hourly budget to itself");
        let mine = app.gql(Some(&owner.token), cheap, json!({})).await;
        assert!(mine.get("errors").is_none(), "the creator's own budget is untouched: {mine}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_on_one_instance_closes_its_socket_on_another_within_a_second() {
    let Some(redis) = crate::scale_out::services() else {
        return;
    };
    let cluster = crate::scale_out::cluster(redis, |_| {}).await;
    let (a, b) = (&cluster.a.app, &cluster.b.app);
    let owner = a.signup("ann@example.com", "Acme").await;
    let (secret, key) = a
        .create_key(&owner.token, json!({ "name": "feed", "role": "VIEWER" }))
        .await;
    let mut socket = initialised(b, &secret).await;

    a.ok(Some(&owner.token), REVOKE, json!({ "id": key["id"] }))
        .await;
    let closed = tokio::time::timeout(Duration::from_secs(1), close_code(&mut socket)).await;
    assert_eq!(closed.expect("closed within a second"), 4403);
    assert_eq!(
        code(&b.gql(Some(&secret), WHO, json!({})).await),
        "UNAUTHENTICATED"
    );
}
