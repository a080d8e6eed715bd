//! A websocket client for the tests: graphql-transport-ws (or the legacy
//! graphql-ws) frames over tokio-tungstenite, and a subscriber that keeps
//! each operation's frames apart.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    tungstenite::{client::IntoClientRequest, http::HeaderValue, Message},
    MaybeTlsStream, WebSocketStream,
};

use crate::helpers::TestApp;

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn open(
    app: &TestApp,
    protocol: Option<&str>,
    origin: Option<&str>,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let mut request = app
        .url
        .replacen("http://", "ws://", 1)
        .into_client_request()
        .unwrap();
    if let Some(p) = protocol {
        request
            .headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_str(p).unwrap());
    }
    if let Some(o) = origin {
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_str(o).unwrap());
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

pub async fn send(socket: &mut Socket, value: Value) {
    socket
        .send(Message::Text(value.to_string().into()))
        .await
        .unwrap();
}

/// The next text frame as JSON; panics on close or after five seconds.
pub async fn recv(socket: &mut Socket) -> Value {
    recv_within(socket, Duration::from_secs(5)).await
}

pub async fn recv_within(socket: &mut Socket, within: Duration) -> Value {
    loop {
        let frame = tokio::time::timeout(within, socket.next())
            .await
            .expect("a frame in time");
        match frame.expect("socket open").expect("no error") {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => continue,
        }
    }
}

/// The close code the server sends next (text frames before it are skipped).
pub async fn close_code(socket: &mut Socket) -> u16 {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(6), socket.next())
            .await
            .expect("closed in time");
        match frame {
            Some(Ok(Message::Close(Some(frame)))) => return frame.code.into(),
            Some(Ok(Message::Close(None))) | None => panic!("closed without a code"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("socket error: {e}"),
        }
    }
}

pub fn init_frame(token: &str) -> Value {
    json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } })
}

/// A graphql-transport-ws socket, acknowledged.
pub async fn initialised(app: &TestApp, token: &str) -> Socket {
    let mut socket = open(app, Some("graphql-transport-ws"), None).await.unwrap();
    send(&mut socket, init_frame(token)).await;
    assert_eq!(recv(&mut socket).await["type"], "connection_ack");
    socket
}

/// A signed-in socket whose operations' frames are kept apart by id.
pub struct Client {
    pub socket: Socket,
    frames: VecDeque<Value>,
}

impl Client {
    pub async fn connect(app: &TestApp, token: &str) -> Client {
        Client {
            socket: initialised(app, token).await,
            frames: VecDeque::new(),
        }
    }

    /// A client whose socket's upgrade request carries `request_id` (the
    /// id its INTERNAL errors name).
    pub async fn connect_as(app: &TestApp, token: &str, request_id: &str) -> Client {
        let mut request = app
            .url
            .replacen("http://", "ws://", 1)
            .into_client_request()
            .unwrap();
        let headers = request.headers_mut();
        headers.insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        headers.insert("x-request-id", HeaderValue::from_str(request_id).unwrap());
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        send(&mut socket, init_frame(token)).await;
        assert_eq!(recv(&mut socket).await["type"], "connection_ack");
        Client {
            socket,
            frames: VecDeque::new(),
        }
    }

    /// A client whose TCP receive buffer is small, so that once it stops
    /// reading the server soon cannot write to it.
    pub async fn connect_with_small_buffer(app: &TestApp, token: &str) -> Client {
        let tcp = tokio::net::TcpSocket::new_v4().unwrap();
        tcp.set_recv_buffer_size(4096).unwrap();
        let stream = tcp.connect(app.addr).await.unwrap();
        let mut request = app
            .url
            .replacen("http://", "ws://", 1)
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (mut socket, _) =
            tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
                .await
                .unwrap();
        send(&mut socket, init_frame(token)).await;
        assert_eq!(recv(&mut socket).await["type"], "connection_ack");
        Client {
            socket,
            frames: VecDeque::new(),
        }
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let payload = json!({ "query": query, "variables": variables });
        send(
            &mut self.socket,
            json!({ "type": "subscribe", "id": id, "payload": payload }),
        )
        .await;
    }

    /// The next frame of operation `id` (frames of other operations are kept).
    pub async fn frame_of(&mut self, id: &str) -> Value {
        if let Some(i) = self.frames.iter().position(|f| f["id"] == id) {
            return self.frames.remove(i).unwrap();
        }
        loop {
            let frame = recv_within(&mut self.socket, Duration::from_secs(20)).await;
            if frame["id"] == id {
                return frame;
            }
            self.frames.push_back(frame);
        }
    }

    /// The data of the next `next` frame of `id`; panics on anything else.
    pub async fn next_of(&mut self, id: &str) -> Value {
        let frame = self.frame_of(id).await;
        assert_eq!(frame["type"], "next", "{frame}");
        assert!(frame["payload"].get("errors").is_none(), "{frame}");
        frame["payload"]["data"].clone()
    }

    /// Whether a frame of `id` arrives within `within`.
    pub async fn quiet(&mut self, id: &str, within: Duration) -> bool {
        if self.frames.iter().any(|f| f["id"] == id) {
            return false;
        }
        let deadline = Instant::now() + within;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match tokio::time::timeout(left, self.socket.next()).await {
                Err(_) => return true,
                Ok(Some(Ok(Message::Text(text)))) => {
                    let frame: Value = serde_json::from_str(&text).unwrap();
                    if frame["id"] == id {
                        self.frames.push_back(frame);
                        return false;
                    }
                    self.frames.push_back(frame);
                }
                Ok(Some(Ok(Message::Close(frame)))) => panic!("closed: {frame:?}"),
                Ok(_) => {}
            }
        }
        true
    }

    /// Events of a `workroomEvents` subscription until one satisfies `last`.
    pub async fn events_until(&mut self, id: &str, last: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut events = Vec::new();
        loop {
            let event = self.next_of(id).await["workroomEvents"].clone();
            let done = last(&event);
            events.push(event);
            if done {
                return events;
            }
        }
    }
}

/// The workroomEvents subscription with the fields the history helper reads.
pub const WATCH: &str =
    "subscription($w: ID!, $after: Int) { workroomEvents(workroomId: $w, afterSeq: $after) {
    seq kind state text taskId deliverableId data actor { id } } }";

/// Whether an event is the workroom's arrival in `state`.
pub fn reached(state: &'static str) -> impl Fn(&Value) -> bool {
    move |e: &Value| e["kind"] == "STATE_CHANGED" && e["state"] == state
}
