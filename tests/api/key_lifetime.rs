//! A key is checked again under every change's lock: revoked, expired or
//! its creator removed while its request runs, the change is refused and
//! nothing is written. And keys are bounded: live keys per workspace, and
//! creations per person and per client address per hour.

use std::time::Duration;

use atelya::auth::session::{self, Session};
use serde_json::{json, Value};

use crate::{api_keys::*, helpers::*};

/// The session a request with `secret` starts with.
async fn session_of(app: &TestApp, secret: &str) -> Session {
    session::check(&app.state, &format!("Bearer {secret}"), 0)
        .await
        .expect("the key signs in")
}

/// Creates a key as a request from `address` (behind a trusted proxy).
async fn create_from(app: &TestApp, token: &str, address: &str) -> Value {
    let request =
        json!({ "query": CREATE, "variables": { "i": { "name": "k", "role": "VIEWER" } } });
    let response = app
        .client
        .post(&app.url)
        .bearer_auth(token)
        .header("x-forwarded-for", address)
        .json(&request)
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

async fn workspace_name(app: &TestApp, token: &str) -> Value {
    app.ok(Some(token), "{ workspace { name } }", json!({}))
        .await["workspace"]["name"]
        .clone()
}

db_test! {
    async fn a_key_that_expires_during_a_request_fails_its_locked_check(app);
    {
        let owner = app.signup("ann@example.com", "Acme").await;
        let in_a_minute = (app.state.clock.now() + chrono::TimeDelta::minutes(1)).to_rfc3339();
        let (secret, _) = app.create_key(&owner.token, json!({ "name": "brief", "role": "ADMIN", "expiresAt": in_a_minute })).await;
        let started = session_of(&app, &secret).await;

        app.state.clock.advance(Duration::from_secs(61));
        let refused = atelya::workspace::service::rename(&app.state, &started, "Late").await.unwrap_err();
        assert_eq!(refused.code(), "UNAUTHENTICATED", "{refused}");
        assert_eq!(workspace_name(&app, &owner.token).await, "Acme");
    }
}

db_test! {
    async fn a_key_revoked_or_whose_creator_is_removed_during_a_request_fails_its_locked_check(app);
    {
        let (owner, others) = app.team(&["ADMIN"]).await;
        let (revoked, key) = app.create_key(&owner.token, json!({ "name": "one", "role": "ADMIN" })).await;
        let (orphaned, _) = app.create_key(&others[0].token, json!({ "name": "two", "role": "ADMIN" })).await;
        let revoked_session = session_of(&app, &revoked).await;
        let orphaned_session = session_of(&app, &orphaned).await;

        app.ok(Some(&owner.token), REVOKE, json!({ "id": key["id"] })).await;
        let creator = app.member_id(&others[0]).await;
        app.ok(Some(&owner.token), "mutation($id: ID!) { removeMember(memberId: $id) }", json!({ "id": creator })).await;
        for started in [&revoked_session, &orphaned_session] {
            let refused = atelya::workspace::service::rename(&app.state, started, "Late").await.unwrap_err();
            assert_eq!(refused.code(), "UNAUTHENTICATED", "{refused}");
        }
        assert_eq!(workspace_name(&app, &owner.token).await, "Team");
    }
}

db_test! {
    async fn a_workspace_has_at_most_its_most_live_keys(app)
        with |config| config.limits.max_api_keys = 2;
    {
        let owner = app.signup("ann@example.com", "Acme").await;
        let soon = (app.state.clock.now() + chrono::TimeDelta::minutes(1)).to_rfc3339();
        let (_, first) = app.create_key(&owner.token, json!({ "name": "one", "role": "VIEWER" })).await;
        app.create_key(&owner.token, json!({ "name": "two", "role": "VIEWER", "expiresAt": soon })).await;
        let third = json!({ "i": { "name": "three", "role": "VIEWER" } });
        let body = app.gql(Some(&owner.token), CREATE, third.clone()).await;
        assert_eq!(code(&body), "RATE_LIMITED", "{body}");
        let listed = app.ok(Some(&owner.token), KEYS, json!({})).await;
        assert_eq!(listed["workspace"]["apiKeys"].as_array().unwrap().len(), 2, "nothing was made");

        // Revoked and expired keys leave room.
        app.ok(Some(&owner.token), REVOKE, json!({ "id": first["id"] })).await;
        app.ok(Some(&owner.token), CREATE, third.clone()).await;
        app.state.clock.advance(Duration::from_secs(61));
        app.ok(Some(&owner.token), CREATE, json!({ "i": { "name": "four", "role": "VIEWER" } })).await;
        let body = app.gql(Some(&owner.token), CREATE, json!({ "i": { "name": "five", "role": "VIEWER" } })).await;
        assert_eq!(code(&body), "RATE_LIMITED", "{body}");
    }
}

db_test! {
    async fn a_person_creates_at_most_their_hourly_allowance_of_keys(app)
        with |config| { config.limits.api_keys_per_hour_per_user = 2; config.access_token_ttl = 7200; };
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let bob = app.signup("bob@example.com", "Bobco").await;
        let input = json!({ "i": { "name": "k", "role": "VIEWER" } });
        app.ok(Some(&ann.token), CREATE, input.clone()).await;
        app.ok(Some(&ann.token), CREATE, input.clone()).await;
        let body = app.gql(Some(&ann.token), CREATE, input.clone()).await;
        assert_eq!(code(&body), "RATE_LIMITED", "{body}");
        // In another workspace of hers too: the allowance is the person's.
        let side = app.ok(Some(&ann.token), "mutation { createWorkspace(name: \"Side\") { accessToken } }", json!({})).await;
        let side = side["createWorkspace"]["accessToken"].as_str().unwrap().to_owned();
        assert_eq!(code(&app.gql(Some(&side), CREATE, input.clone()).await), "RATE_LIMITED");
        // Someone else, from the same address, is not held back by Ann.
        app.ok(Some(&bob.token), CREATE, input.clone()).await;
        // An hour later she may again.
        app.state.clock.advance(Duration::from_secs(3600));
        app.ok(Some(&ann.token), CREATE, input).await;
    }
}

db_test! {
    async fn one_client_address_creates_at_most_its_hourly_allowance_of_keys(app)
        with |config| { config.limits.api_keys_per_hour_per_address = 3; config.trust_proxy = true; };
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let bob = app.signup("bob@example.com", "Bobco").await;
        for token in [&ann.token, &ann.token, &bob.token] {
            let body = create_from(&app, token, "203.0.113.7").await;
            assert!(body["data"]["createApiKey"]["secret"].is_string(), "{body}");
        }
        let body = create_from(&app, &bob.token, "203.0.113.7").await;
        assert_eq!(code(&body), "RATE_LIMITED", "{body}");
        let body = create_from(&app, &bob.token, "198.51.100.4").await;
        assert!(body["data"]["createApiKey"]["secret"].is_string(), "another address may: {body}");
    }
}
