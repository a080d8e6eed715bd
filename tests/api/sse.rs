//! Subscriptions and queries over Server-Sent Events (graphql-sse, distinct
//! connections mode): the same results as over websockets, errors as `next`
//! events on an accepted stream, and the stream ended when its token
//! expires or its access is lost.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header;
use serde_json::{json, Value};

use crate::{
    helpers::*,
    live::{approval_task, approve, gated},
    rooms::*,
    ws_client::*,
};

/// One open event stream, read event by event.
pub struct EventStream {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buffer: String,
}

impl EventStream {
    /// POSTs `query` asking for an event stream; checks the response's headers.
    pub async fn post(
        app: &TestApp,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> EventStream {
        let mut request = app
            .client
            .post(&app.url)
            .header(header::ACCEPT, "text/event-stream")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        EventStream::of(request.send().await.unwrap())
    }

    pub fn of(response: reqwest::Response) -> EventStream {
        assert_eq!(response.status(), 200);
        let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        EventStream {
            body: response
                .bytes_stream()
                .map(|c| c.map(|b| b.to_vec()))
                .boxed(),
            buffer: String::new(),
        }
    }

    /// The next event's name and data (comments, such as keep-alives, skipped);
    /// `None` when the stream ended.
    pub async fn event(&mut self) -> Option<(String, String)> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut data) = (String::new(), Vec::new());
                for line in block.lines() {
                    if let Some(name) = line.strip_prefix("event:") {
                        event = name.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push(value.strip_prefix(' ').unwrap_or(value).to_owned());
                    }
                }
                if !event.is_empty() {
                    return Some((event, data.join("\n")));
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(20), self.body.next())
                .await
                .expect("an event within 20 s");
            match chunk {
                Some(chunk) => self
                    .buffer
                    .push_str(&String::from_utf8_lossy(&chunk.unwrap())),
                None => return None,
            }
        }
    }

    /// The next `next` event's execution result.
    pub async fn next(&mut self) -> Value {
        let (event, data) = self.event().await.expect("a next event");
        assert_eq!(event, "next", "{data}");
        serde_json::from_str(&data).unwrap()
    }

    /// Asserts the `complete` event, then the end of the stream.
    pub async fn completes(&mut self) {
        assert_eq!(self.event().await, Some(("complete".into(), String::new())));
        assert_eq!(self.event().await, None);
    }
}

db_test! {
    async fn a_workrooms_events_over_sse_equal_those_over_websockets(app)
        with |c: &mut atelya::config::Config| c.engine.builtin_token_delay_ms = 1;
    {
        let owner = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&owner.token, gated("Streamed")).await;
        let task = approval_task(&app, &owner.token, &id).await;

        let mut sse = EventStream::post(&app, Some(&owner.token), WATCH, json!({ "w": id })).await;
        let mut ws = Client::connect(&app, &owner.token).await;
        ws.subscribe("w", WATCH, json!({ "w": id })).await;
        approve(&app, &owner.token, &task).await;

        let over_ws = ws.events_until("w", reached("COMPLETED")).await;
        let mut over_sse = Vec::new();
        loop {
            let result = sse.next().await;
            assert!(result.get("errors").is_none(), "{result}");
            let event = result["data"]["workroomEvents"].clone();
            let done = reached("COMPLETED")(&event);
            over_sse.push(event);
            if done {
                break;
            }
        }
        assert!(over_sse.len() > 5, "the history and the live run");
        assert_eq!(over_sse, over_ws);

        // From a seq, the rest of the history only, over GET as well.
        let after = over_sse[over_sse.len() - 3]["seq"].as_i64().unwrap();
        let variables = json!({ "w": id, "after": after }).to_string();
        let response = app
            .client
            .get(&app.url)
            .bearer_auth(&owner.token)
            .header(header::ACCEPT, "text/event-stream")
            .query(&[("query", WATCH), ("variables", variables.as_str())])
            .send()
            .await
            .unwrap();
        let mut tail = EventStream::of(response);
        for expected in &over_sse[over_sse.len() - 2..] {
            assert_eq!(&tail.next().await["data"]["workroomEvents"], expected);
        }
    }
}

db_test! {
    async fn queries_and_refusals_come_as_next_events_then_complete(app);
    {
        let owner = app.signup("ann@example.com", "Acme").await;
        let mut query = EventStream::post(&app, Some(&owner.token), "{ viewer { workspace { name } } }", json!({})).await;
        assert_eq!(query.next().await["data"]["viewer"]["workspace"]["name"], "Acme");
        query.completes().await;

        let mut invalid = EventStream::post(&app, Some(&owner.token), "{ nope }", json!({})).await;
        assert_eq!(code(&invalid.next().await), "GRAPHQL_VALIDATION_FAILED");
        invalid.completes().await;

        let mut broken = EventStream::post(&app, Some(&owner.token), "{ viewer { ", json!({})).await;
        assert_eq!(code(&broken.next().await), "GRAPHQL_PARSE_FAILED");
        broken.completes().await;

        let mut anonymous = EventStream::post(&app, None, "subscription { credits { available } }", json!({})).await;
        assert_eq!(code(&anonymous.next().await), "UNAUTHENTICATED");

        // A mutation over GET is still refused before any stream.
        let response = app
            .client
            .get(&app.url)
            .bearer_auth(&owner.token)
            .header(header::ACCEPT, "text/event-stream")
            .query(&[("query", "mutation { renameWorkspace(name: \"x\") { name } }")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405);
    }
}

db_test! {
    async fn a_stream_ends_when_its_token_expires_or_its_key_is_revoked(app);
    {
        let owner = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&owner.token, input("Watched")).await;
        let watch = json!({ "w": id });
        let mut stream = EventStream::post(&app, Some(&owner.token), WATCH, watch.clone()).await;
        assert_eq!(stream.next().await["data"]["workroomEvents"]["seq"], 1);
        app.state.clock.advance(Duration::from_secs(901));
        let ended = until_error(&mut stream).await;
        assert_eq!(code(&ended), "UNAUTHENTICATED", "{ended}");
        stream.completes().await;

        let owner = app.signup("bea@example.com", "Beaco").await;
        let id = app.create_workroom(&owner.token, input("Watched by a key")).await;
        let created = app
            .ok(Some(&owner.token), "mutation { createApiKey(input: { name: \"feed\", role: VIEWER }) { secret apiKey { id } } }", json!({}))
            .await;
        let secret = created["createApiKey"]["secret"].as_str().unwrap().to_owned();
        let mut stream = EventStream::post(&app, Some(&secret), WATCH, json!({ "w": id })).await;
        assert_eq!(stream.next().await["data"]["workroomEvents"]["seq"], 1);
        app.ok(Some(&owner.token), "mutation($id: ID!) { revokeApiKey(id: $id) { id } }", json!({ "id": created["createApiKey"]["apiKey"]["id"] }))
            .await;
        let ended = tokio::time::timeout(Duration::from_secs(1), until_error(&mut stream)).await.expect("ended within a second");
        assert_eq!(code(&ended), "UNAUTHENTICATED", "{ended}");
        stream.completes().await;
    }
}

/// Skips the events still coming (the run goes on) until the stream's error.
pub async fn until_error(stream: &mut EventStream) -> Value {
    loop {
        let result = stream.next().await;
        if result.get("errors").is_some() {
            return result;
        }
    }
}

db_test! {
    async fn an_idle_stream_ends_when_the_server_shuts_down(app);
    {
        let owner = app.signup("ann@example.com", "Acme").await;
        // Credits stream as they are, then only when they change: this one then stays quiet.
        let mut stream = EventStream::post(&app, Some(&owner.token), "subscription { credits { available } }", json!({})).await;
        assert_eq!(stream.next().await["data"]["credits"]["available"], 500);
        let mut app = app;
        app.shut_down();
        // Without `complete`: the operation did not finish, the client connects again.
        let ended = tokio::time::timeout(Duration::from_secs(5), stream.event()).await.expect("ended at shutdown");
        assert_eq!(ended, None);
    }
}
