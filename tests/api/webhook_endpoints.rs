//! Webhook endpoints as their owners manage them: every rotated secret keeps
//! signing for its own day (a secret replaced before the upgrade that gave
//! each its own row too), an endpoint's URL (often a credential) reaches no
//! one but owners and admins, and creating endpoints is capped.

use std::time::Duration;

use serde_json::{json, Value};

use crate::{faults::captured_logs, helpers::*, webhooks::*};

const ROTATE: &str = "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }";
const API_KEY: &str = "mutation { createApiKey(input: { name: \"ops\", role: ADMIN }) { secret } }";

impl TestApp {
    async fn rotate(&self, token: &str, endpoint: &str) -> Value {
        self.gql(Some(token), ROTATE, json!({ "id": endpoint }))
            .await
    }
}

/// The request of the next event `receiver` gets.
async fn next_request(app: &TestApp, token: &str, receiver: &Receiver) -> Received {
    let before = receiver.received().len();
    app.ok(
        Some(token),
        RENAME,
        json!({ "n": format!("Acme {before}") }),
    )
    .await;
    receiver.until(before + 1).await[before].clone()
}

/// Which of `secrets` sign the next event `receiver` gets.
async fn signers(app: &TestApp, token: &str, receiver: &Receiver, secrets: &[&str]) -> Vec<bool> {
    let request = next_request(app, token, receiver).await;
    secrets.iter().map(|s| signed_by(s, &request)).collect()
}

/// Whether one of the request's signatures is `secret`'s, as the
/// `standardwebhooks` crate signs; its `verify` would also refuse a
/// timestamp minutes away from this machine's clock, which the server's
/// moved clock is.
fn signed_by(secret: &str, request: &Received) -> bool {
    let header = |name: &str| request.headers[name].to_str().unwrap().to_owned();
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
    let expected = standardwebhooks::Webhook::new(secret)
        .unwrap()
        .sign(&header("webhook-id"), timestamp, request.body.as_bytes())
        .unwrap();
    header("webhook-signature")
        .split(' ')
        .any(|s| s == expected)
}

fn signature_count(request: &Received) -> usize {
    let header = request.headers["webhook-signature"].to_str().unwrap();
    header.split(' ').filter(|s| s.starts_with("v1,")).count()
}

db_test! {
    async fn rotating_twice_in_a_day_keeps_each_replaced_secret_for_its_own_day(app)
        with allow_private;
    {
        let receiver = Receiver::start().await;
        let owner = app.signup("ann@example.com", "Acme").await;
        // The clock moves on by days here, past any access token: an API key does not expire.
        let key = app.ok(Some(&owner.token), API_KEY, json!({})).await;
        let token = key["createApiKey"]["secret"].as_str().unwrap().to_owned();
        let (first, endpoint) = app.endpoint(&token, &receiver.url, &["workspace.renamed"]).await;

        let rotated = app.rotate(&token, &endpoint).await;
        let second = rotated["data"]["rotateWebhookSecret"]["secret"].as_str().unwrap().to_owned();
        app.state.clock.advance(Duration::from_secs(12 * 3600));
        let rotated = app.rotate(&token, &endpoint).await;
        let third = rotated["data"]["rotateWebhookSecret"]["secret"].as_str().unwrap().to_owned();
        let all = [first.as_str(), second.as_str(), third.as_str()];
        assert_eq!(signers(&app, &token, &receiver, &all).await, [true, true, true], "the second rotation keeps the first secret");
        assert_eq!(signature_count(receiver.received().last().unwrap()), 3);

        // A day after the first rotation its secret stops; the second's day goes on.
        app.state.clock.advance(Duration::from_secs(12 * 3600 + 60));
        assert_eq!(signers(&app, &token, &receiver, &all).await, [false, true, true]);
        app.state.clock.advance(Duration::from_secs(12 * 3600));
        assert_eq!(signers(&app, &token, &receiver, &all).await, [false, false, true]);

        // An endpoint keeps at most five replaced secrets at once.
        for _ in 0..5 {
            let rotated = app.rotate(&token, &endpoint).await;
            assert!(rotated["errors"].is_null(), "{rotated}");
        }
        let refused = app.rotate(&token, &endpoint).await;
        assert_eq!(code(&refused), "RATE_LIMITED", "{refused}");
        let request = next_request(&app, &token, &receiver).await;
        assert_eq!(signature_count(&request), 6, "the current secret and five replaced ones");
        app.state.clock.advance(Duration::from_secs(24 * 3600 + 60));
        let rotated = app.rotate(&token, &endpoint).await;
        assert!(rotated["errors"].is_null(), "once their day is over, rotating works again: {rotated}");
    }
}

/// A URL whose path and query are the credential, as Slack's and Zapier's are.
fn secret_url(receiver: &Receiver) -> String {
    receiver.url.replace(
        "/hook",
        "/services/T0SECRETPATH/B0SECRETPATH?token=SECRETQUERY",
    )
}

db_test! {
    async fn a_webhook_url_reaches_only_owners_and_admins(app)
        with allow_private;
    {
        let logs = captured_logs();
        let receiver = Receiver::start().await;
        let observer = Receiver::start().await;
        let (owner, others) = app.team(&["VIEWER"]).await;
        let viewer = &others[0];
        let actions = ["webhook.created", "webhook.updated", "webhook.secret_rotated", "webhook.deleted"];
        let (_, watching) = app.endpoint(&owner.token, &observer.url, &actions).await;
        let url = secret_url(&receiver);
        let (_, endpoint) = app.endpoint(&owner.token, &url, &["workspace.renamed"]).await;
        let update = "mutation($id: ID!, $i: WebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $i) { url } }";
        let updated = app.ok(Some(&owner.token), update, json!({ "id": endpoint, "i": { "url": format!("{url}&v=2"), "events": ["workspace.renamed"] } })).await;
        assert_eq!(updated["updateWebhookEndpoint"]["url"], format!("{url}&v=2"), "owners and admins read it");
        app.rotate(&owner.token, &endpoint).await;
        app.ok(Some(&owner.token), RENAME, json!({ "n": "Acme Two" })).await;
        receiver.until(1).await;
        app.ok(Some(&owner.token), "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }", json!({ "id": endpoint })).await;

        // Every role reads the activity: the endpoint's id, scheme and host, nothing more.
        let read = "{ workspace { activity(filter: { targetType: \"WebhookEndpoint\" }) { nodes { action targetId summary metadata } } } }";
        let activity = app.ok(Some(&viewer.token), read, json!({})).await;
        let entries: Vec<Value> = activity["workspace"]["activity"]["nodes"].as_array().unwrap().iter()
            .filter(|e| e["targetId"] == endpoint.as_str()).cloned().collect();
        assert_eq!(entries.len(), 4, "{activity}");
        for entry in &entries {
            assert_eq!(entry["metadata"]["endpointId"], endpoint.as_str(), "{entry}");
            assert_eq!((&entry["metadata"]["scheme"], &entry["metadata"]["host"]), (&json!("http"), &json!("127.0.0.1")));
            assert!(entry["summary"].as_str().unwrap().contains(&endpoint), "{entry}");
        }
        // Other endpoints receive those entries, and the delivery log shows them.
        let delivered = observer.until(5).await;
        let watched = app.deliveries(&owner.token, &watching).await;
        let mut seen: Vec<String> = delivered.iter().map(|r| r.body.clone()).collect();
        seen.push(activity.to_string());
        seen.push(watched.to_string());
        if let Some(logs) = &logs {
            seen.push(String::from_utf8_lossy(&logs.lock().unwrap()).into_owned());
        }
        for text in &seen {
            for secret in ["SECRETPATH", "SECRETQUERY", "/services/"] {
                assert!(!text.contains(secret), "{secret} leaked into {text}");
            }
        }
        // The receiver itself got the request at its full URL.
        assert!(receiver.received()[0].uri.to_string().contains("SECRETQUERY"));
    }
}

db_test! {
    async fn creating_endpoints_is_capped_per_workspace_user_and_address(app)
        with |c: &mut atelya::config::Config| {
            allow_private(c);
            c.webhooks.max_endpoints = 2;
            c.webhooks.creates_per_user_per_hour = 3;
            c.webhooks.creates_per_address_per_hour = 4;
        };
    {
        let receiver = Receiver::start().await;
        let (owner, others) = app.team(&["ADMIN"]).await;
        // The clock moves on an hour here, past any access token: an API key does not expire.
        let key = app.ok(Some(&others[0].token), API_KEY, json!({})).await;
        let admin_key = key["createApiKey"]["secret"].as_str().unwrap().to_owned();
        let create = |token: String| {
            let app = &app;
            let url = receiver.url.clone();
            async move { app.gql(Some(&token), CREATE, json!({ "i": { "url": url, "events": ["credits.low"] } })).await }
        };
        let listed = || async {
            app.ok(Some(&owner.token), "{ workspace { webhookEndpoints { id } } }", json!({})).await["workspace"]["webhookEndpoints"].as_array().unwrap().len()
        };
        let first = create(owner.token.clone()).await;
        create(owner.token.clone()).await;
        // The workspace's cap: a third endpoint is refused while two exist.
        let refused = create(owner.token.clone()).await;
        assert_eq!(code(&refused), "RATE_LIMITED", "{refused}");
        assert!(refused.to_string().contains("at most 2 webhook endpoints"), "{refused}");
        assert_eq!(listed().await, 2, "nothing was created");

        // The user's cap: three creations in the hour (the refused one counted), whatever was deleted since.
        let id = first["data"]["createWebhookEndpoint"]["endpoint"]["id"].clone();
        app.ok(Some(&owner.token), "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }", json!({ "id": id })).await;
        let refused = create(owner.token.clone()).await;
        assert_eq!(code(&refused), "RATE_LIMITED", "{refused}");
        assert_eq!(listed().await, 1);

        // The address's cap: another user from the same address creates one, and then no more.
        let made = create(admin_key.clone()).await;
        assert!(made["errors"].is_null(), "{made}");
        app.ok(Some(&owner.token), "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }", json!({ "id": made["data"]["createWebhookEndpoint"]["endpoint"]["id"] })).await;
        let refused = create(admin_key.clone()).await;
        assert_eq!(code(&refused), "RATE_LIMITED", "{refused}");
        assert_eq!(listed().await, 1);

        // An hour later each may create again.
        app.state.clock.advance(Duration::from_secs(3600));
        let made = create(admin_key.clone()).await;
        assert!(made["errors"].is_null(), "{made}");
    }
}

/// Reverts the migration that moved replaced secrets into a table of their
/// own, and those applied after it.
async fn before_secrets_had_their_own_table(database_url: &str) {
    use migration::{Migrator, MigratorTrait};
    let all = Migrator::migrations();
    let at = all
        .iter()
        .position(|m| m.name() == "m20261201_000012_webhook_secrets")
        .expect("the migration exists");
    let db = sea_orm::Database::connect(database_url).await.unwrap();
    Migrator::down(&db, Some((all.len() - at) as u32))
        .await
        .unwrap();
}

async fn a_secret_replaced_before_the_upgrade_signs_after_it(backend: Backend) {
    use sea_orm::{
        sea_query::{Alias, Expr, ExprTrait, Query},
        ConnectionTrait,
    };
    let database = TestDatabase::create(backend).await;
    let mut config = test_config(&database.url);
    allow_private(&mut config);
    let mut first = serve(config.clone(), None).await;
    let receiver = Receiver::start().await;
    let owner = first.signup("ann@example.com", "Acme").await;
    // The clock moves on by hours here, past any access token: an API key does not expire.
    let key = first.ok(Some(&owner.token), API_KEY, json!({})).await;
    let token = key["createApiKey"]["secret"].as_str().unwrap().to_owned();
    let (current, endpoint) = first
        .endpoint(&token, &receiver.url, &["workspace.renamed"])
        .await;
    first.stop().await;

    // As the previous release stored a rotation: the replaced secret beside the current one.
    before_secrets_had_their_own_table(&database.url).await;
    let (_, id) = atelya::ids::decode_any(&endpoint).unwrap();
    let replaced = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let sealed = first
        .state
        .sealer
        .seal(id.as_bytes(), replaced.as_bytes())
        .unwrap();
    let until = first.state.clock.now() + chrono::TimeDelta::hours(2);
    let db = sea_orm::Database::connect(&database.url).await.unwrap();
    let update = Query::update()
        .table(Alias::new("webhook_endpoints"))
        .value(Alias::new("sealed_previous_secret"), sealed)
        .value(Alias::new("previous_secret_until"), until)
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    assert_eq!(db.execute(&update).await.unwrap().rows_affected(), 1);

    // The upgrade (run at start) keeps it signing until its time is up, and no longer.
    let second = serve(config, None).await;
    let request = next_request(&second, &token, &receiver).await;
    assert!(signed_by(&current, &request) && signed_by(replaced, &request));
    assert_eq!(signature_count(&request), 2);
    second
        .state
        .clock
        .advance(Duration::from_secs(2 * 3600 + 60));
    let request = next_request(&second, &token, &receiver).await;
    assert!(signed_by(&current, &request) && !signed_by(replaced, &request));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_replaced_before_the_upgrade_signs_after_it_on_sqlite() {
    a_secret_replaced_before_the_upgrade_signs_after_it(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_replaced_before_the_upgrade_signs_after_it_on_postgres() {
    if let Some(backend) = Backend::postgres() {
        a_secret_replaced_before_the_upgrade_signs_after_it(backend).await;
    }
}

db_test! {
    async fn an_entry_written_with_the_whole_url_shows_only_its_origin(app)
        with allow_private;
    {
        use entity::activity_event;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

        let receiver = Receiver::start().await;
        let (owner, others) = app.team(&["VIEWER"]).await;
        let url = secret_url(&receiver);
        let (_, endpoint) = app.endpoint(&owner.token, &url, &["workspace.renamed"]).await;
        // The entry as earlier versions wrote it: the URL in its summary and metadata.
        let stored = activity_event::Entity::find()
            .filter(activity_event::Column::TargetId.eq(endpoint.as_str()))
            .one(app.state.db.conn()).await.unwrap().expect("the creation's entry");
        let mut old: activity_event::ActiveModel = stored.into();
        old.summary = sea_orm::Set(format!("Owner changed the webhook endpoint {url}"));
        old.metadata = sea_orm::Set(json!({ "url": url, "events": ["workspace.renamed"], "enabled": true }).to_string());
        activity_event::Entity::update(old).exec(app.state.db.conn()).await.unwrap();

        let read = "{ workspace { activity(filter: { targetType: \"WebhookEndpoint\" }) { nodes { targetId summary metadata } } } }";
        let activity = app.ok(Some(&others[0].token), read, json!({})).await;
        let entry = &activity["workspace"]["activity"]["nodes"][0];
        assert_eq!(entry["targetId"], endpoint.as_str(), "{activity}");
        assert_eq!((&entry["metadata"]["scheme"], &entry["metadata"]["host"]), (&json!("http"), &json!("127.0.0.1")), "{entry}");
        assert_eq!(entry["metadata"]["endpointId"], endpoint.as_str());
        assert!(entry["summary"].as_str().unwrap().ends_with("http://127.0.0.1"), "{entry}");
        for secret in ["SECRETPATH", "SECRETQUERY", "/services/"] {
            assert!(!activity.to_string().contains(secret), "{secret} shown in {activity}");
        }
    }
}

db_test! {
    async fn an_event_type_nothing_sends_is_refused_and_nothing_is_stored(app)
        with allow_private;
    {
        let receiver = Receiver::start().await;
        let owner = app.signup("ann@example.com", "Acme").await;
        let list = "{ workspace { webhookEndpoints { id } } }";
        for events in [json!(["member.joind"]), json!(["workspace.renamed", "workroom.started"])] {
            let body = app.gql(Some(&owner.token), CREATE, json!({ "i": { "url": receiver.url, "events": events } })).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
            let message = body["errors"][0]["message"].as_str().unwrap();
            assert!(message.contains("is not an event type"), "{message}");
        }
        let listed = app.ok(Some(&owner.token), list, json!({})).await;
        assert_eq!(listed["workspace"]["webhookEndpoints"], json!([]), "nothing stored");

        // Names the activity log writes, and the two that are not activity, are accepted.
        let events: Vec<&str> = ["member.joined", "tool.called", "workroom.completed", "approval.requested", "credits.low"].into();
        let body = app.gql(Some(&owner.token), CREATE, json!({ "i": { "url": receiver.url, "events": events } })).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
}
