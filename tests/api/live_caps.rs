//! Caps on live connections: one client address and one user hold at most
//! so many websockets and event streams open at once. One more is refused
//! with RATE_LIMITED (a websocket closed with 4430, a stream answered 429),
//! and a place comes back as soon as a connection ends, however it ends.

use std::time::Duration;

use atelya::http::caps::Live;
use futures_util::{SinkExt, StreamExt};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::{helpers::*, sse::EventStream, ws_client::*};

/// Every test client connects from here.
const HERE: &str = "127.0.0.1";

/// A subscription that stays quiet: credits change only when spent.
const QUIET: &str = "subscription { credits { available } }";

/// The close frame the server sends next: its code, and its reason as JSON.
async fn closed_with(socket: &mut Socket) -> (u16, Value) {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("closed in time");
        match frame {
            Some(Ok(Message::Close(Some(frame)))) => {
                let reason = serde_json::from_str(&frame.reason).unwrap_or(Value::Null);
                return (frame.code.into(), reason);
            }
            Some(Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    }
}

/// Asserts a socket is closed as over a cap: 4430, and RATE_LIMITED.
async fn refused(socket: &mut Socket) {
    let (code, reason) = closed_with(socket).await;
    assert_eq!(code, 4430, "{reason}");
    assert_eq!(reason["extensions"]["code"], "RATE_LIMITED", "{reason}");
}

/// Closes a socket as a client does, and waits for the server's answer.
async fn close(mut socket: Socket) {
    socket.send(Message::Close(None)).await.unwrap();
    while let Ok(Some(Ok(_))) = tokio::time::timeout(Duration::from_secs(5), socket.next()).await {}
}

/// Waits until `open()` counts `expected`, for at most five seconds.
async fn until_open(expected: usize, open: impl Fn() -> usize) {
    let open = &open;
    eventually(Duration::from_secs(5), move || async move {
        match open() {
            now if now == expected => Ok(()),
            now => Err(format!("{now} open, not {expected}")),
        }
    })
    .await;
}

/// Asks for an event stream of `query`; the answer as it comes.
async fn ask(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    app.client
        .post(&app.url)
        .bearer_auth(token)
        .header(header::ACCEPT, "text/event-stream")
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
}

/// Asserts a stream was refused as over a cap: 429, and RATE_LIMITED.
async fn too_many(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "RATE_LIMITED", "{body}");
}

db_test! {
    async fn an_address_over_its_websocket_cap_is_closed_with_rate_limited(app)
        with |c: &mut atelya::config::Config| c.sockets.ws_max_per_address = 2;
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let bea = app.signup("bea@example.com", "Beaco").await;
        let first = initialised(&app, &ann.token).await;
        let _second = initialised(&app, &bea.token).await;
        // Refused as it opens, before anyone signs in on it.
        let mut third = open(&app, Some("graphql-transport-ws"), None).await.unwrap();
        refused(&mut third).await;
        let mut legacy = open(&app, Some("graphql-ws"), None).await.unwrap();
        refused(&mut legacy).await;
        assert_eq!(app.state.live.open_from(Live::Websocket, HERE), 2);

        close(first).await;
        until_open(1, || app.state.live.open_from(Live::Websocket, HERE)).await;
        let _again = initialised(&app, &bea.token).await;
    }
}

db_test! {
    async fn a_user_over_their_websocket_cap_is_closed_at_connection_init(app)
        with |c: &mut atelya::config::Config| c.sockets.ws_max_per_user = 2;
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let bea = app.signup("bea@example.com", "Beaco").await;
        let first = initialised(&app, &ann.token).await;
        let _second = initialised(&app, &ann.token).await;
        let mut third = open(&app, Some("graphql-transport-ws"), None).await.unwrap();
        send(&mut third, init_frame(&ann.token)).await;
        refused(&mut third).await;

        // The legacy protocol hears why before the close.
        let mut legacy = open(&app, Some("graphql-ws"), None).await.unwrap();
        send(&mut legacy, init_frame(&ann.token)).await;
        let error = recv(&mut legacy).await;
        assert_eq!(error["type"], "connection_error", "{error}");
        assert_eq!(error["payload"]["extensions"]["code"], "RATE_LIMITED", "{error}");
        refused(&mut legacy).await;

        // Another user, and the user's own API key, have places of their own.
        let _bea = initialised(&app, &bea.token).await;
        let created = app
            .ok(Some(&ann.token), "mutation { createApiKey(input: { name: \"feed\", role: VIEWER }) { secret } }", json!({}))
            .await;
        let _key = initialised(&app, created["createApiKey"]["secret"].as_str().unwrap()).await;

        close(first).await;
        until_open(3, || app.state.live.open_from(Live::Websocket, HERE)).await;
        let _again = initialised(&app, &ann.token).await;
    }
}

db_test! {
    async fn an_address_over_its_stream_cap_is_answered_429(app)
        with |c: &mut atelya::config::Config| c.sockets.sse_max_per_address = 2;
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let bea = app.signup("bea@example.com", "Beaco").await;
        let first = EventStream::of(ask(&app, &ann.token, QUIET).await);
        let _second = EventStream::of(ask(&app, &bea.token, QUIET).await);
        too_many(ask(&app, &bea.token, QUIET).await).await;
        // A query over SSE needs a place too, for as long as it streams.
        too_many(ask(&app, &ann.token, "{ plans { plan } }").await).await;

        drop(first);
        until_open(1, || app.state.live.open_from(Live::Stream, HERE)).await;
        let mut again = EventStream::of(ask(&app, &ann.token, "{ viewer { user { email } } }").await);
        assert_eq!(again.next().await["data"]["viewer"]["user"]["email"], "ann@example.com");
        again.completes().await;
        until_open(1, || app.state.live.open_from(Live::Stream, HERE)).await;
    }
}

db_test! {
    async fn a_user_over_their_stream_cap_is_answered_429(app)
        with |c: &mut atelya::config::Config| c.sockets.sse_max_per_user = 2;
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let bea = app.signup("bea@example.com", "Beaco").await;
        let first = EventStream::of(ask(&app, &ann.token, QUIET).await);
        let _second = EventStream::of(ask(&app, &ann.token, QUIET).await);
        too_many(ask(&app, &ann.token, QUIET).await).await;
        let _bea = EventStream::of(ask(&app, &bea.token, QUIET).await);

        drop(first);
        until_open(2, || app.state.live.open_from(Live::Stream, HERE)).await;
        let _again = EventStream::of(ask(&app, &ann.token, QUIET).await);
    }
}

db_test! {
    async fn places_come_back_when_the_server_ends_a_connection(app)
        with |c: &mut atelya::config::Config| {
            c.sockets.ws_max_per_user = 1;
            c.sockets.sse_max_per_user = 1;
        };
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let mut socket = initialised(&app, &ann.token).await;
        let mut stream = EventStream::of(ask(&app, &ann.token, QUIET).await);
        let now = stream.next().await;
        assert!(now["data"]["credits"]["available"].is_number(), "the balance now comes first: {now}");

        // The token expires: the server closes both, and their places go with them.
        app.state.clock.advance(Duration::from_secs(901));
        let (closed, _) = closed_with(&mut socket).await;
        assert_eq!(closed, 4403);
        assert_eq!(code(&stream.next().await), "UNAUTHENTICATED");
        stream.completes().await;
        until_open(0, || app.state.live.open_from(Live::Websocket, HERE)).await;
        until_open(0, || app.state.live.open_from(Live::Stream, HERE)).await;

        let fresh = app
            .ok(None, "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }", json!({ "e": ann.email, "p": PASSWORD }))
            .await;
        let token = fresh["login"]["accessToken"].as_str().unwrap();
        let _socket = initialised(&app, token).await;
        let _stream = EventStream::of(ask(&app, token, QUIET).await);
    }
}
