//! Integrations: owners and admins connect, list and disconnect them; the
//! tokens are sealed at rest (no plain text in the row, a tampered or moved
//! value does not open) and appear in no response and no log line.

use entity::integration;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
use serde_json::{json, Value};

use crate::{faults::captured_logs, helpers::*};

const CONNECT: &str = "mutation($input: IntegrationInput!) { connectIntegration(input: $input) \
    { id provider scopes connectedBy { id } createdAt } }";
const LIST: &str = "{ workspace { integrations { id provider scopes connectedBy { id } } } }";
const DISCONNECT: &str = "mutation($id: ID!) { disconnectIntegration(id: $id) }";

const ACCESS: &str = "xoxb-4242-very-secret-access";
const REFRESH: &str = "xoxe-1-very-secret-refresh";

fn slack(access: &str) -> Value {
    json!({ "input": { "provider": "slack", "accessToken": access, "refreshToken": REFRESH, "scopes": ["chat:write", "channels:read", "chat:write"] } })
}

async fn stored(app: &TestApp, global_id: &str) -> integration::Model {
    let (_, id) = atelya::ids::decode_any(global_id).unwrap();
    integration::Entity::find_by_id(id)
        .one(app.state.db.conn())
        .await
        .unwrap()
        .expect("the integration is stored")
}

db_test! {
    async fn a_connected_integration_is_listed_without_its_tokens_which_are_sealed_at_rest(app);
    {
        let logs = captured_logs();
        let ann = app.signup("ann@example.com", "Acme").await;

        let body = app.gql(Some(&ann.token), CONNECT, slack(ACCESS)).await;
        let listed = app.gql(Some(&ann.token), LIST, json!({})).await;

        let connected = &body["data"]["connectIntegration"];
        assert_eq!(connected["provider"], "slack", "{body}");
        assert_eq!(connected["scopes"], json!(["chat:write", "channels:read"]));
        assert_eq!(connected["connectedBy"]["id"], ann.user_id.as_str());
        assert_eq!(listed["data"]["workspace"]["integrations"][0]["id"], connected["id"]);
        for response in [&body, &listed] {
            let text = response.to_string();
            assert!(!text.contains(ACCESS) && !text.contains(REFRESH), "a token in {text}");
        }
        // The row holds sealed bytes, which open to the token only with this row's id.
        let row = stored(&app, connected["id"].as_str().unwrap()).await;
        let refresh = row.sealed_refresh_token.as_ref().expect("the refresh token is kept");
        for (sealed, token) in [(&row.sealed_access_token, ACCESS), (refresh, REFRESH)] {
            assert!(!sealed.windows(token.len()).any(|w| w == token.as_bytes()), "plain text at rest");
            assert_eq!(app.state.sealer.open(row.id.as_bytes(), sealed).unwrap(), token.as_bytes());
            assert!(app.state.sealer.open(uuid::Uuid::now_v7().as_bytes(), sealed).is_err(), "opens for another row");
            let mut tampered = sealed.clone();
            let last = tampered.len() - 1;
            tampered[last] ^= 1;
            assert!(app.state.sealer.open(row.id.as_bytes(), &tampered).is_err(), "a tampered value opened");
        }
        assert!(!format!("{row:?}").contains("sealed"), "Debug leaves the sealed tokens out");
        let activity = app.ok(Some(&ann.token), "{ workspace { activity(first: 1) { nodes { action metadata } } } }", json!({})).await;
        let entry = &activity["workspace"]["activity"]["nodes"][0];
        assert_eq!(entry["action"], "integration.connected");
        assert!(!entry.to_string().contains(ACCESS));
        if let Some(logs) = logs {
            let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
            assert!(!logs.contains(ACCESS) && !logs.contains(REFRESH), "a token in the log");
        }
    }
}

db_test! {
    async fn connecting_a_provider_again_replaces_its_tokens_and_scopes(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let first = app.ok(Some(&ann.token), CONNECT, slack(ACCESS)).await;
        let id = first["connectIntegration"]["id"].as_str().unwrap().to_owned();

        let mut again = slack("xoxb-rotated");
        again["input"]["scopes"] = json!(["chat:write"]);
        again["input"]["refreshToken"] = Value::Null;
        let second = app.ok(Some(&ann.token), CONNECT, again).await;

        assert_eq!(second["connectIntegration"]["id"], id.as_str(), "the same integration");
        assert_eq!(second["connectIntegration"]["scopes"], json!(["chat:write"]));
        let row = stored(&app, &id).await;
        assert_eq!(app.state.sealer.open(row.id.as_bytes(), &row.sealed_access_token).unwrap(), b"xoxb-rotated");
        assert!(row.sealed_refresh_token.is_none());
        let listed = app.ok(Some(&ann.token), LIST, json!({})).await;
        assert_eq!(listed["workspace"]["integrations"].as_array().unwrap().len(), 1);
        let log = app.ok(Some(&ann.token), "{ workspace { activity(first: 2) { nodes { action metadata } } } }", json!({})).await;
        let entries = log["workspace"]["activity"]["nodes"].as_array().unwrap();
        assert_eq!(entries[0]["metadata"]["reconnected"], true);
        assert_eq!(entries[1]["metadata"]["reconnected"], false);
    }
}

db_test! {
    async fn disconnecting_deletes_the_integration_and_its_tokens(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let eve = app.signup("eve@example.com", "Elsewhere").await;
        let mine = app.ok(Some(&ann.token), CONNECT, slack(ACCESS)).await["connectIntegration"]["id"].clone();
        let theirs = app.ok(Some(&eve.token), CONNECT, slack(ACCESS)).await["connectIntegration"]["id"].clone();

        let across = app.gql(Some(&ann.token), DISCONNECT, json!({ "id": theirs })).await;
        let node = app.ok(Some(&ann.token), "query($id: ID!) { node(id: $id) { id } }", json!({ "id": theirs })).await;
        let done = app.ok(Some(&ann.token), DISCONNECT, json!({ "id": mine })).await;
        let twice = app.gql(Some(&ann.token), DISCONNECT, json!({ "id": mine })).await;

        assert_eq!(code(&across), "NOT_FOUND", "{across}");
        assert_eq!(node["node"], Value::Null, "another workspace's integration is no node");
        assert_eq!(done["disconnectIntegration"], true);
        assert_eq!(code(&twice), "NOT_FOUND", "{twice}");
        let (_, id) = atelya::ids::decode_any(mine.as_str().unwrap()).unwrap();
        assert!(integration::Entity::find_by_id(id).one(app.state.db.conn()).await.unwrap().is_none());
        let listed = app.ok(Some(&eve.token), LIST, json!({})).await;
        assert_eq!(listed["workspace"]["integrations"].as_array().unwrap().len(), 1, "eve's is untouched");
        let log = app.ok(Some(&ann.token), "{ workspace { activity(first: 1) { nodes { action metadata } } } }", json!({})).await;
        assert_eq!(log["workspace"]["activity"]["nodes"][0]["action"], "integration.disconnected");
    }
}

db_test! {
    async fn an_integration_is_listed_and_reached_as_a_node_by_owners_and_admins_only(app);
    {
        let (owner, team) = app.team(&["ADMIN", "MEMBER", "VIEWER"]).await;
        let id = app.ok(Some(&owner.token), CONNECT, slack(ACCESS)).await["connectIntegration"]["id"].clone();
        let node = "query($id: ID!) { node(id: $id) { ... on Integration { provider } } }";
        for (account, allowed) in [(&owner, true), (&team[0], true), (&team[1], false), (&team[2], false)] {
            let listed = app.gql(Some(&account.token), LIST, json!({})).await;
            let reached = app.gql(Some(&account.token), node, json!({ "id": id })).await;
            if allowed {
                assert_eq!(listed["data"]["workspace"]["integrations"][0]["provider"], "slack", "{listed}");
                assert_eq!(reached["data"]["node"]["provider"], "slack", "{reached}");
            } else {
                assert_eq!(code(&listed), "FORBIDDEN", "{listed}");
                assert_eq!(code(&reached), "FORBIDDEN", "{reached}");
            }
        }
    }
}

db_test! {
    async fn bad_integration_input_is_refused_and_connects_nothing(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let bad = [
            json!({ "provider": "Slack", "accessToken": ACCESS }),
            json!({ "provider": "", "accessToken": ACCESS }),
            json!({ "provider": "slack", "accessToken": "   " }),
            json!({ "provider": "slack", "accessToken": "t".repeat(8_193) }),
            json!({ "provider": "slack", "accessToken": ACCESS, "scopes": [""] }),
            json!({ "provider": "slack", "accessToken": ACCESS, "scopes": vec!["s"; 51] }),
        ];
        for input in bad {
            let body = app.gql(Some(&ann.token), CONNECT, json!({ "input": input })).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{input}: {body}");
        }
        let listed = app.ok(Some(&ann.token), LIST, json!({})).await;
        assert_eq!(listed["workspace"]["integrations"], json!([]));
    }
}

#[tokio::test]
async fn a_sealed_token_copied_into_another_row_does_not_open() {
    let app = spawn_app(Backend::Sqlite, Box::new(|_| {})).await;
    let ann = app.signup("ann@example.com", "Acme").await;
    let a =
        app.ok(Some(&ann.token), CONNECT, slack(ACCESS)).await["connectIntegration"]["id"].clone();
    let mut other = slack("xoxb-other");
    other["input"]["provider"] = json!("hubspot");
    let b = app.ok(Some(&ann.token), CONNECT, other).await["connectIntegration"]["id"].clone();
    let (a, b) = (
        stored(&app, a.as_str().unwrap()).await,
        stored(&app, b.as_str().unwrap()).await,
    );

    let mut moved = b.clone().into_active_model();
    moved.sealed_access_token = sea_orm::Set(a.sealed_access_token.clone());
    let moved = moved.update(app.state.db.conn()).await.unwrap();

    assert!(app
        .state
        .sealer
        .open(moved.id.as_bytes(), &moved.sealed_access_token)
        .is_err());
}

const OLD_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const NEW_KEY: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_key_rotation_tokens_are_sealed_again_with_the_new_key() {
    use atelya::{auth::sealed::Sealer, config::Secret};
    let database = TestDatabase::create(Backend::Sqlite).await;
    let mut before = test_config(&database.url);
    before.secret_key = Some(Secret(OLD_KEY.into()));
    let mut first = serve(before, None).await;
    let ann = first.signup("ann@example.com", "Acme").await;
    let id = first.ok(Some(&ann.token), CONNECT, slack(ACCESS)).await["connectIntegration"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(stored(&first, &id).await.sealed_access_token[0], 1);
    first.shut_down();

    let mut after = test_config(&database.url);
    after.secret_key = Some(Secret(NEW_KEY.into()));
    after.secret_key_version = 2;
    after.secret_key_previous = Some(Secret(format!("1:{OLD_KEY}")));
    let second = serve(after, None).await;

    // Starting with the rotated keys seals every old value again.
    let (server, id) = (&second, id.as_str());
    let row = eventually(std::time::Duration::from_secs(10), move || async move {
        let row = stored(server, id).await;
        if row.sealed_access_token[0] == 2 && row.sealed_refresh_token.as_ref().unwrap()[0] == 2 {
            return Ok(row);
        }
        Err("the tokens are not sealed again yet".to_owned())
    })
    .await;
    let new_key_alone = Sealer::versioned(Some(NEW_KEY), 2, None).unwrap();
    assert_eq!(
        new_key_alone
            .open(row.id.as_bytes(), &row.sealed_access_token)
            .unwrap(),
        ACCESS.as_bytes()
    );
    assert_eq!(
        new_key_alone
            .open(
                row.id.as_bytes(),
                row.sealed_refresh_token.as_ref().unwrap()
            )
            .unwrap(),
        REFRESH.as_bytes()
    );
    assert_eq!(
        atelya::auth::reseal::reseal_stale(&second.state)
            .await
            .unwrap(),
        0,
        "nothing is left to seal again"
    );
}
