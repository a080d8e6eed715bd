//! A database fault while checking a token is the server's fault, not the
//! client's: INTERNAL with "internal error" and the request id, like every
//! other fault, over HTTP, websockets (at `connection_init`) and SSE; never
//! UNAUTHENTICATED (which would make a client drop a good token) and never
//! the database's own words.

use sea_orm::ConnectionTrait;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue, Message};

use futures_util::StreamExt;

use crate::{helpers::*, ws_client::*};

/// Makes every read of `table` fail, as a broken database would.
async fn break_table(app: &TestApp, table: &str) {
    let sql = format!("ALTER TABLE {table} RENAME TO {table}_gone");
    app.state.db.conn().execute_unprepared(&sql).await.unwrap();
}

/// The INTERNAL error a client must see for the request `id`.
fn internal(id: &str) -> Value {
    json!({ "message": "internal error", "extensions": { "code": "INTERNAL", "requestId": id } })
}

/// The first error, without its location and path.
fn first_error(body: &Value) -> Value {
    let error = &body["errors"][0];
    json!({ "message": error["message"], "extensions": error["extensions"] })
}

fn fresh_id(transport: &str) -> String {
    format!("{transport}-{}", uuid::Uuid::now_v7().simple())
}

async fn over_http(app: &TestApp, token: &str) {
    let id = fresh_id("http");
    let response = app
        .client
        .post(&app.url)
        .bearer_auth(token)
        .header("x-request-id", &id)
        .json(&json!({ "query": "{ viewer { user { id } } }" }))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error(&body), internal(&id), "{body}");
}

async fn over_sse(app: &TestApp, token: &str) {
    let id = fresh_id("sse");
    let response = app
        .client
        .post(&app.url)
        .bearer_auth(token)
        .header("accept", "text/event-stream")
        .header("x-request-id", &id)
        .json(&json!({ "query": "{ viewer { user { id } } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let data = text
        .split("\n\n")
        .find(|event| event.contains("event: next"))
        .and_then(|event| event.lines().find_map(|l| l.strip_prefix("data: ")))
        .unwrap_or_else(|| panic!("a next event: {text}"));
    let body: Value = serde_json::from_str(data).unwrap();
    assert_eq!(first_error(&body), internal(&id), "{text}");
    assert!(text.contains("event: complete"), "{text}");
}

/// Opens a socket speaking `protocol` as request `id` and sends `connection_init`.
async fn init_socket(app: &TestApp, protocol: &str, id: &str, token: &str) -> Socket {
    let mut request = app
        .url
        .replacen("http://", "ws://", 1)
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        HeaderValue::from_str(protocol).unwrap(),
    );
    headers.insert("x-request-id", HeaderValue::from_str(id).unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    send(&mut socket, init_frame(token)).await;
    socket
}

/// The close frame's code and reason.
async fn closed(socket: &mut Socket) -> (u16, String) {
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
            .await
            .expect("closed in time");
        match frame {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (frame.code.into(), frame.reason.to_string())
            }
            Some(Ok(Message::Text(text))) => panic!("no text frame expected: {text}"),
            Some(Ok(_)) => continue,
            other => panic!("closed without a frame: {other:?}"),
        }
    }
}

async fn over_websockets(app: &TestApp, token: &str) {
    let id = fresh_id("ws");
    let mut socket = init_socket(app, "graphql-transport-ws", &id, token).await;
    let (code, reason) = closed(&mut socket).await;
    assert_eq!(code, 4500, "{reason}");
    assert_eq!(
        serde_json::from_str::<Value>(&reason).unwrap(),
        internal(&id)
    );

    let id = fresh_id("legacy");
    let mut socket = init_socket(app, "graphql-ws", &id, token).await;
    let refusal = recv(&mut socket).await;
    assert_eq!(
        refusal,
        json!({ "type": "connection_error", "payload": internal(&id) })
    );
    assert_eq!(close_code(&mut socket).await, 4500);
}

async fn internal_everywhere(app: &TestApp, token: &str) {
    over_http(app, token).await;
    over_sse(app, token).await;
    over_websockets(app, token).await;
}

db_test! {
    async fn a_database_fault_while_checking_an_api_key_is_internal_with_the_request_id(app);
    {
        let owner = app.signup("ann@example.com", "Acme").await;
        let (secret, _) = app.create_key(&owner.token, json!({ "name": "feed", "role": "VIEWER" })).await;
        break_table(&app, "api_keys").await;
        internal_everywhere(&app, &secret).await;
    }
}

db_test! {
    async fn a_database_fault_while_checking_an_access_token_is_internal_with_the_request_id(app)
        with |config| config.session_cache_ms = 0;
    {
        let owner = app.signup("ann@example.com", "Acme").await;
        break_table(&app, "members").await;
        internal_everywhere(&app, &owner.token).await;
        // Without a token nothing needs the database: a public field still answers.
        app.ok(None, "{ plans { plan } }", json!({})).await;
    }
}
