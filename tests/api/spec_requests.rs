//! Documents and variables as the spec has them, on every transport: a
//! fragment bomb is refused before anything expands it (and the server
//! stays responsive), variables are coerced before anything runs (a request
//! error), and a subscription's root field may come through a fragment.

use std::time::{Duration, Instant};

use reqwest::header;
use serde_json::{json, Value};

use crate::{helpers::*, ws_client::*};

/// The 905-byte document of the attack: 23 fragments, each spreading the next twice.
fn bomb() -> String {
    let mut doc = String::from("query { ...F0 }");
    for i in 0..22 {
        doc.push_str(&format!(
            " fragment F{i} on Query {{ ...F{} ...F{} }}",
            i + 1,
            i + 1
        ));
    }
    doc.push_str(" fragment F22 on Query { __typename }");
    doc
}

/// The events of a stream that completes, as (event, data) pairs.
async fn sse(app: &TestApp, token: &str, query: &str, variables: Value) -> Vec<(String, Value)> {
    let response = app
        .client
        .post(&app.url)
        .header(header::ACCEPT, "text/event-stream")
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = tokio::time::timeout(Duration::from_secs(10), response.text())
        .await
        .expect("the stream completes")
        .unwrap();
    text.split("\n\n")
        .filter_map(|block| {
            let event = block
                .lines()
                .find_map(|l| l.strip_prefix("event:"))?
                .trim()
                .to_owned();
            let data = block
                .lines()
                .find_map(|l| l.strip_prefix("data:"))
                .unwrap_or("")
                .trim();
            Some((event, serde_json::from_str(data).unwrap_or(Value::Null)))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fragment_bomb_is_refused_at_once_and_the_server_stays_responsive() {
    let app = spawn_app(Backend::Sqlite, Box::new(|_| {})).await;
    let doc = bomb();
    assert!(doc.len() <= 1_000, "{}", doc.len());
    let started = Instant::now();
    let attacks = (0..8).map(|_| app.gql(None, &doc, json!({})));
    let health = async {
        let response = app
            .client
            .get(format!("http://{}/healthz", app.addr))
            .send()
            .await
            .unwrap();
        (response.status(), Instant::now())
    };
    let both = async { tokio::join!(futures_util::future::join_all(attacks), health) };
    let (answers, (status, healthy_at)) = tokio::time::timeout(Duration::from_secs(20), both)
        .await
        .expect("every request answered");
    assert_eq!(status, 200);
    assert!(
        healthy_at - started < Duration::from_secs(1),
        "healthz waited {:?}",
        healthy_at - started
    );
    for answer in answers {
        assert_eq!(code(&answer), "GRAPHQL_VALIDATION_FAILED", "{answer}");
        assert!(answer.get("data").is_none());
        let message = answer["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("selections once its fragments are expanded"),
            "{message}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

db_test! {
    async fn variables_are_coerced_before_anything_runs_over_http_websockets_and_sse(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let rename = "mutation($name: String!) { renameWorkspace(name: $name) { name } }";
        let coerced = |body: &Value| {
            body.get("data").is_none() && body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        };

        for variables in [json!({}), json!({ "name": null }), json!({ "name": 5 }), json!({ "name": ["A"] })] {
            let body = app.gql(Some(&ann.token), rename, variables.clone()).await;
            assert!(coerced(&body), "{variables}: {body}");
        }

        let mut socket = initialised(&app, &ann.token).await;
        send(&mut socket, json!({ "id": "1", "type": "subscribe", "payload": { "query": rename, "variables": {} } })).await;
        let frame = recv(&mut socket).await;
        assert_eq!(frame["type"], "error", "{frame}");
        assert_eq!(frame["payload"][0]["extensions"]["code"], "BAD_USER_INPUT", "{frame}");

        let events = sse(&app, &ann.token, rename, json!({ "name": 5 })).await;
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0].0, "next");
        assert!(coerced(&events[0].1), "{events:?}");
        assert_eq!(events[1].0, "complete");

        // Nothing was renamed along the way.
        let name = app.ok(Some(&ann.token), "{ workspace { name } }", json!({})).await;
        assert_eq!(name["workspace"]["name"], "Acme");
        let renamed = app.ok(Some(&ann.token), rename, json!({ "name": "Acme Studio" })).await;
        assert_eq!(renamed["renameWorkspace"]["name"], "Acme Studio");
    }
}

db_test! {
    async fn a_subscriptions_root_field_may_come_through_a_fragment(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let mut client = Client::connect(&app, &ann.token).await;
        client
            .subscribe(
                "1",
                "subscription Watch { ...Root } fragment Root on Subscription { ... on Subscription { credits { balance } } credits { available } }",
                json!({}),
            )
            .await;
        app.ok(Some(&ann.token), "mutation { purchaseTopUp(credits: 100, idempotencyKey: \"k\") { id } }", json!({})).await;
        let next = client.next_of("1").await;
        let credits = &next["credits"];
        assert!(credits["balance"].is_number() && credits["available"].is_number(), "{next}");
    }
}
