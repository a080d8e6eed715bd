//! Signed outgoing webhooks as an integrator meets them: a receiver on
//! 127.0.0.1 (with `ATELYA_WEBHOOK_ALLOW_PRIVATE`) checks every signature with
//! the `standardwebhooks` crate, an implementation of the spec independent
//! of the server's; failures are retried with backoff (the server's clock is
//! moved on), an endpoint that keeps failing is disabled, a delivery can be
//! sent again, each event is delivered once even with two instances, and
//! internal addresses (in every form) are refused without the flag. The
//! receiver here serves the other webhook test files too.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    extract::State,
    http::{HeaderMap, Uri},
    Router,
};
use serde_json::{json, Value};

use crate::{helpers::*, rooms::*};

pub(crate) const CREATE: &str = "mutation($i: WebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret endpoint { id url events enabled } } }";
pub(crate) const DELIVERIES: &str = "query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { enabled disabledReason deliveries(first: 50) { nodes { id eventType messageId payload state attempts lastStatusCode nextAttemptAt } } } } }";
pub(crate) const RENAME: &str = "mutation($n: String!) { renameWorkspace(name: $n) { name } }";

/// One request the receiver got.
#[derive(Clone)]
pub(crate) struct Received {
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: String,
}

#[derive(Default)]
pub(crate) struct Inbox {
    pub received: Vec<Received>,
    /// Statuses to answer with, in order; 200 once they run out.
    pub statuses: VecDeque<u16>,
    /// Answer every request with this status instead.
    pub always: Option<u16>,
}

/// A local webhook receiver, answering at any path (`url` is its `/hook`).
#[derive(Clone)]
pub(crate) struct Receiver {
    pub url: String,
    pub inbox: Arc<Mutex<Inbox>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let app = Router::new().fallback(receive).with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            url: format!("http://{addr}/hook"),
            inbox,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().received.clone()
    }

    /// Waits until `count` requests came in (20 s at most).
    pub async fn until(&self, count: usize) -> Vec<Received> {
        eventually(Duration::from_secs(20), move || async move {
            let received = self.received();
            if received.len() >= count {
                return Ok(received);
            }
            Err(format!("{} of {count} requests came", received.len()))
        })
        .await
    }
}

async fn receive(
    State(inbox): State<Arc<Mutex<Inbox>>>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> axum::http::StatusCode {
    let mut inbox = inbox.lock().unwrap();
    inbox.received.push(Received { uri, headers, body });
    let status = inbox
        .always
        .or_else(|| inbox.statuses.pop_front())
        .unwrap_or(200);
    axum::http::StatusCode::from_u16(status).unwrap()
}

impl TestApp {
    /// Creates an endpoint for `events`; returns its secret and id.
    pub(crate) async fn endpoint(
        &self,
        token: &str,
        url: &str,
        events: &[&str],
    ) -> (String, String) {
        let data = self
            .ok(
                Some(token),
                CREATE,
                json!({ "i": { "url": url, "events": events, "description": "CRM" } }),
            )
            .await;
        let payload = &data["createWebhookEndpoint"];
        (
            payload["secret"].as_str().unwrap().to_owned(),
            payload["endpoint"]["id"].as_str().unwrap().to_owned(),
        )
    }

    /// The endpoint's state and its deliveries, newest first.
    pub(crate) async fn deliveries(&self, token: &str, endpoint: &str) -> Value {
        self.ok(Some(token), DELIVERIES, json!({ "id": endpoint }))
            .await["node"]
            .clone()
    }

    /// Waits until the endpoint's deliveries satisfy `done` (20 s at most).
    pub(crate) async fn deliveries_until(
        &self,
        token: &str,
        endpoint: &str,
        done: impl Fn(&[Value]) -> bool,
    ) -> Value {
        let done = &done;
        eventually(Duration::from_secs(20), move || async move {
            let node = self.deliveries(token, endpoint).await;
            if done(node["deliveries"]["nodes"].as_array().unwrap()) {
                return Ok(node);
            }
            Err(node.to_string())
        })
        .await
    }
}

/// The received request verifies with `secret`, per the `standardwebhooks` crate.
pub(crate) fn verifies(secret: &str, request: &Received) -> bool {
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(request.body.as_bytes(), &request.headers)
        .is_ok()
}

pub(crate) fn allow_private(config: &mut atelya::config::Config) {
    config.webhook_allow_private = true;
}

db_test! {
    async fn an_integrator_receives_a_signed_workroom_completed_and_verifies_it(app)
        with allow_private;
    {
        let receiver = Receiver::start().await;
        let owner = app.signup("ann@example.com", "Acme").await;
        let (secret, endpoint) = app.endpoint(&owner.token, &receiver.url, &["workroom.completed"]).await;
        assert!(secret.starts_with("whsec_"), "{secret}");

        let id = app.create_workroom(&owner.token, input("Hooked")).await;
        app.wait_for(&owner.token, &id, &["COMPLETED"]).await;
        let received = receiver.until(1).await;
        let request = &received[0];
        assert!(verifies(&secret, request), "the signature verifies");
        assert!(!verifies("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", request), "and not with another secret");
        assert_eq!(request.headers["content-type"], "application/json");
        let payload: Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(payload["type"], "workroom.completed");
        assert!(payload["timestamp"].is_string());
        assert_eq!(payload["data"]["workspaceId"], owner.workspace_id.as_str());
        assert_eq!(payload["data"]["targetId"], id.as_str());
        assert_eq!(payload["data"]["targetType"], "Workroom");

        // The delivery log says the same; nothing else was asked for, nothing else came.
        let node = app.deliveries_until(&owner.token, &endpoint, |d| d.len() == 1 && d[0]["state"] == "SUCCEEDED").await;
        let delivery = &node["deliveries"]["nodes"][0];
        assert_eq!((delivery["attempts"].as_i64(), delivery["lastStatusCode"].as_i64()), (Some(1), Some(200)));
        assert_eq!(delivery["messageId"], request.headers["webhook-id"].to_str().unwrap());
        assert_eq!(delivery["payload"], payload);
        app.after_passes(|r| &r.webhooks_idle, 2).await;
        assert_eq!(receiver.received().len(), 1, "one delivery per event");
    }
}

db_test! {
    async fn failures_are_retried_with_backoff_and_an_endpoint_that_keeps_failing_is_disabled(app)
        with allow_private;
    {
        let receiver = Receiver::start().await;
        let owner = app.signup("ann@example.com", "Acme").await;
        // The server's clock moves on by days here, past any access token: an API key does not expire.
        let key = app.ok(Some(&owner.token), "mutation { createApiKey(input: { name: \"ops\", role: ADMIN }) { secret } }", json!({})).await;
        let token = key["createApiKey"]["secret"].as_str().unwrap().to_owned();
        let (secret, endpoint) = app.endpoint(&token, &receiver.url, &["workspace.renamed"]).await;

        // A 500, then the retry after about five seconds succeeds, with the same message id.
        receiver.inbox.lock().unwrap().statuses.push_back(500);
        app.ok(Some(&token), RENAME, json!({ "n": "Acme One" })).await;
        receiver.until(1).await;
        let node = app.deliveries_until(&token, &endpoint, |d| d.first().is_some_and(|d| d["attempts"] == 1)).await;
        let delivery = node["deliveries"]["nodes"][0].clone();
        assert_eq!((delivery["state"].as_str(), delivery["lastStatusCode"].as_i64()), (Some("PENDING"), Some(500)));
        let next: chrono::DateTime<chrono::Utc> = delivery["nextAttemptAt"].as_str().unwrap().parse().unwrap();
        let wait = next - app.state.clock.now();
        assert!(wait > chrono::TimeDelta::seconds(3) && wait <= chrono::TimeDelta::seconds(6), "backoff of about 5 s: {wait}");
        assert_eq!(receiver.received().len(), 1, "not before it is due");
        app.state.clock.advance(Duration::from_secs(7));
        let received = receiver.until(2).await;
        assert_eq!(received[0].headers["webhook-id"], received[1].headers["webhook-id"]);
        assert!(verifies(&secret, &received[1]));
        app.deliveries_until(&token, &endpoint, |d| d[0]["state"] == "SUCCEEDED" && d[0]["attempts"] == 2).await;

        // Three events whose every attempt fails: each runs out of retries (about a day), and the endpoint is disabled.
        receiver.inbox.lock().unwrap().always = Some(503);
        for name in ["Acme Two", "Acme Three", "Acme Four"] {
            app.ok(Some(&token), RENAME, json!({ "n": name })).await;
        }
        let failing = |d: &[Value]| d.len() == 4 && d[..3].iter().all(|d| d["attempts"].as_i64() > Some(0));
        app.deliveries_until(&token, &endpoint, failing).await;
        for attempt in 2..=8 {
            app.state.clock.advance(Duration::from_secs(13 * 3600));
            let attempted = |d: &[Value]| d[..3].iter().all(|d| d["attempts"].as_i64() == Some(attempt));
            app.deliveries_until(&token, &endpoint, attempted).await;
        }
        let node = app.deliveries_until(&token, &endpoint, |d| d[..3].iter().all(|d| d["state"] == "FAILED")).await;
        assert_eq!(node["enabled"], false);
        assert!(node["disabledReason"].as_str().unwrap().contains("503"), "{node}");
        let log = app.ok(Some(&token), "{ workspace { activity(filter: { action: \"webhook.disabled\" }) { nodes { targetId summary metadata } } } }", json!({})).await;
        let entry = &log["workspace"]["activity"]["nodes"][0];
        assert_eq!(log["workspace"]["activity"]["nodes"].as_array().unwrap().len(), 1);
        assert_eq!(entry["targetId"], endpoint.as_str());
        assert!(!entry.to_string().contains("/hook"), "only the scheme and host of the URL: {entry}");
        assert_eq!((&entry["metadata"]["scheme"], &entry["metadata"]["host"], &entry["metadata"]["endpointId"]), (&json!("http"), &json!("127.0.0.1"), &json!(endpoint)));
        let before = receiver.received().len();
        app.ok(Some(&token), RENAME, json!({ "n": "Acme Five" })).await;
        let node = app.deliveries(&token, &endpoint).await;
        assert_eq!(node["deliveries"]["nodes"].as_array().unwrap().len(), 4, "a disabled endpoint gets nothing new");

        // Enabled again and asked to redeliver, the failed event arrives.
        receiver.inbox.lock().unwrap().always = None;
        app.ok(Some(&token), "mutation($id: ID!, $i: WebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $i) { enabled } }",
            json!({ "id": endpoint, "i": { "url": receiver.url, "events": ["workspace.renamed"], "enabled": true } })).await;
        let failed = node["deliveries"]["nodes"][0]["id"].clone();
        let redelivered = app.ok(Some(&token), "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { state } }", json!({ "id": failed })).await;
        assert_eq!(redelivered["redeliverWebhook"]["state"], "PENDING");
        receiver.until(before + 1).await;
        app.deliveries_until(&token, &endpoint, |d| d[0]["state"] == "SUCCEEDED" && d[0]["attempts"] == 9).await;
    }
}

db_test! {
    async fn endpoints_are_checked_and_kept_to_owners_and_admins(app);
    {
        let (owner, others) = app.team(&["MEMBER"]).await;
        let member = &others[0];
        for (url, why) in [
            ("http://127.0.0.1:9/hook", "loopback"),
            ("http://10.0.0.5/hook", "private"),
            ("http://169.254.169.254/latest", "link-local"),
            ("http://[::ffff:10.0.0.5]/hook", "IPv4-mapped private"),
            ("http://[::10.0.0.5]/hook", "IPv4-compatible private"),
            ("http://[64:ff9b::a9fe:a9fe]/latest", "NAT64 of link-local"),
            ("http://[64:ff9b:1:a00:0:500::]/hook", "local-use NAT64 of private"),
            ("http://[2002:a00:5::1]/hook", "6to4 of private"),
            ("http://[2001:0:a00:5::1]/hook", "Teredo via a private server"),
            ("http://[fec0::1]/hook", "site-local"),
            ("http://192.0.0.1/hook", "IETF protocol assignments"),
            ("http://240.0.0.1/hook", "reserved"),
            ("http://2130706433/hook", "loopback written as a number"),
            ("ftp://example.com/hook", "not http"),
        ] {
            let refused = app.gql(Some(&owner.token), CREATE, json!({ "i": { "url": url, "events": ["workroom.completed"] } })).await;
            assert_eq!(code(&refused), "BAD_USER_INPUT", "{why}: {refused}");
            let host = url.split("//").nth(1).unwrap().split('/').next().unwrap();
            assert!(!refused.to_string().contains(host), "the error does not echo the URL: {refused}");
        }
        let refused = app.gql(Some(&owner.token), CREATE, json!({ "i": { "url": "https://93.184.216.34/hook", "events": ["Not An Event"] } })).await;
        assert_eq!(code(&refused), "BAD_USER_INPUT");
        let refused = app.gql(Some(&member.token), CREATE, json!({ "i": { "url": "https://93.184.216.34/hook", "events": ["credits.low"] } })).await;
        assert_eq!(code(&refused), "FORBIDDEN");
        let listed = app.ok(Some(&owner.token), "{ workspace { webhookEndpoints { id } } }", json!({})).await;
        assert_eq!(listed["workspace"]["webhookEndpoints"], json!([]), "refusals create nothing");

        let (_, id) = app.endpoint(&owner.token, "https://93.184.216.34/hook", &["credits.low", "approval.requested"]).await;
        let listed = app.ok(Some(&owner.token), "{ workspace { webhookEndpoints { id url events enabled } } }", json!({})).await;
        assert_eq!(listed["workspace"]["webhookEndpoints"][0]["events"], json!(["credits.low", "approval.requested"]));
        assert!(!listed.to_string().contains("whsec_"), "no secret is listed");
        let refused = app.gql(Some(&member.token), "{ workspace { webhookEndpoints { id } } }", json!({})).await;
        assert_eq!(code(&refused), "FORBIDDEN");
        let other = app.signup("bob@example.com", "Bobco").await;
        let refused = app.gql(Some(&other.token), "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }", json!({ "id": id })).await;
        assert_eq!(code(&refused), "NOT_FOUND");
        app.ok(Some(&owner.token), "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }", json!({ "id": id })).await;
        let listed = app.ok(Some(&owner.token), "{ workspace { webhookEndpoints { id } } }", json!({})).await;
        assert_eq!(listed["workspace"]["webhookEndpoints"], json!([]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_is_delivered_once_with_two_instances() {
    let Some(redis) = crate::scale_out::services() else {
        return;
    };
    let cluster = crate::scale_out::cluster(redis, allow_private).await;
    let (a, b) = (&cluster.a.app, &cluster.b.app);
    let receiver = Receiver::start().await;
    let owner = a.signup("ann@example.com", "Acme").await;
    let (secret, _) = a
        .endpoint(&owner.token, &receiver.url, &["workspace.renamed"])
        .await;
    for i in 0..20 {
        let app = if i % 2 == 0 { a } else { b };
        app.ok(
            Some(&owner.token),
            RENAME,
            json!({ "n": format!("Acme {i}") }),
        )
        .await;
    }
    let received = receiver.until(20).await;
    a.after_passes(|r| &r.webhooks_idle, 2).await;
    b.after_passes(|r| &r.webhooks_idle, 2).await;
    let received_after = receiver.received();
    assert_eq!(
        received_after.len(),
        20,
        "each event once, though both instances dispatch"
    );
    let mut ids: Vec<String> = received
        .iter()
        .map(|r| r.headers["webhook-id"].to_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    assert!(received.iter().all(|r| verifies(&secret, r)));
}

db_test! {
    async fn approval_requested_and_credits_low_arrive_once_each(app)
        with |c: &mut atelya::config::Config| {
            allow_private(c);
            // Dear credits, so that a few runs spend the trial's 500.
            c.engine.tokens_per_credit = 10;
        };
    {
        let receiver = Receiver::start().await;
        let owner = app.signup("ann@example.com", "Acme").await;
        let (secret, _) = app.endpoint(&owner.token, &receiver.url, &["approval.requested", "credits.low"]).await;
        // The Planner's prompt lists the enabled tools; without them each
        // planning hold stays below the 50 credits the threshold leaves.
        for tool in ["workspace.search_deliverables", "workroom.read_source"] {
            let off = "mutation($n: String!) { setToolPolicy(input: { name: $n, enabled: false }) { enabled } }";
            app.ok(Some(&owner.token), off, json!({ "n": tool })).await;
        }

        // A plan that waits for an approval says so, with what to approve.
        let id = app.create_workroom(&owner.token, crate::live::gated("Gated")).await;
        let task = crate::live::approval_task(&app, &owner.token, &id).await;
        let request = receiver.until(1).await[0].clone();
        assert!(verifies(&secret, &request));
        let payload: Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(payload["type"], "approval.requested");
        assert_eq!((&payload["data"]["workroomId"], &payload["data"]["taskId"]), (&json!(id), &json!(task)));
        assert_eq!(payload["data"]["requiredRole"], "OWNER");
        crate::live::approve(&app, &owner.token, &task).await;
        app.wait_for(&owner.token, &id, &["COMPLETED"]).await;

        // The trial's 500 credits run down: below 50 available, once in the period.
        let credits = "{ workspace { credits { available } } }";
        let mut runs = 0;
        while app.ok(Some(&owner.token), credits, json!({})).await["workspace"]["credits"]["available"].as_i64().unwrap() >= 50 {
            let id = app.create_workroom(&owner.token, input(&format!("Spend {runs}"))).await;
            app.wait_for(&owner.token, &id, &["COMPLETED", "PAUSED", "FAILED"]).await;
            runs += 1;
            assert!(runs < 40, "the credits never ran low");
        }
        let received = receiver.until(2).await;
        let low: Value = serde_json::from_str(&received[1].body).unwrap();
        assert_eq!(low["type"], "credits.low");
        assert!(low["data"]["summary"].as_str().unwrap().contains("available"), "{low}");
        // Spending on below the threshold says nothing more in this period.
        let id = app.create_workroom(&owner.token, input("Below")).await;
        app.wait_for(&owner.token, &id, &["COMPLETED", "PAUSED", "FAILED"]).await;
        app.after_passes(|r| &r.webhooks_idle, 2).await;
        let types: Vec<String> = receiver.received().iter().map(|r| serde_json::from_str::<Value>(&r.body).unwrap()["type"].as_str().unwrap().to_owned()).collect();
        assert_eq!(types, ["approval.requested", "credits.low"]);
    }
}
