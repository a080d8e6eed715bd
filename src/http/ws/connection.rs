//! One websocket connection: the protocol's state machine.
//!
//! The connection must be initialised with a valid bearer token within
//! [`INIT_TIMEOUT`]; operations run as tasks that send their results through
//! the connection's writer. A watchdog closes the socket with 4403 once the
//! token expires (no leeway on open sockets) or the member loses access.

use std::{collections::HashMap, sync::Arc, time::Duration};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::{
    sync::mpsc,
    task::AbortHandle,
    time::{interval, sleep_until, Instant, MissedTickBehavior},
};

use super::protocol::{self, close, ClientFrame, Protocol};
use crate::{
    auth::{Authn, Session},
    graphql::context::{ClientIp, Loaders},
    http::{graphql::body_of, request::request_from_json, HttpState},
};

/// How long a client has to send `connection_init`.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the watchdog checks the token's expiry and the member's access.
const WATCHDOG: Duration = Duration::from_millis(250);
/// Access is re-read from the database every this many watchdog ticks (one second).
const ACCESS_CHECK_EVERY: u32 = 4;
/// Legacy keep-alive period.
const KEEP_ALIVE: Duration = Duration::from_secs(12);

enum Out {
    Json(Value),
    Close(u16, String),
}

struct Connection {
    protocol: Protocol,
    http: Arc<HttpState>,
    client_ip: String,
    out: mpsc::UnboundedSender<Out>,
    done: mpsc::UnboundedSender<String>,
    /// The bearer header value of `connection_init`, once accepted.
    authorization: Option<String>,
    session: Option<Session>,
    operations: HashMap<String, AbortHandle>,
}

pub async fn run(
    socket: WebSocket,
    protocol: Option<Protocol>,
    http: Arc<HttpState>,
    client_ip: String,
) {
    let (mut sink, mut stream) = socket.split();
    let (out, mut outgoing) = mpsc::unbounded_channel::<Out>();
    let writer = tokio::spawn(async move {
        while let Some(message) = outgoing.recv().await {
            let (frame, last) = match message {
                Out::Json(value) => (Message::Text(Utf8Bytes::from(value.to_string())), false),
                Out::Close(code, reason) => (
                    Message::Close(Some(CloseFrame {
                        code,
                        reason: Utf8Bytes::from(reason),
                    })),
                    true,
                ),
            };
            if sink.send(frame).await.is_err() || last {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let Some(protocol) = protocol else {
        let _ = out.send(Out::Close(
            close::SUBPROTOCOL_NOT_ACCEPTABLE,
            "Subprotocol not acceptable".into(),
        ));
        let _ = writer.await;
        return;
    };
    let (done, mut finished) = mpsc::unbounded_channel::<String>();
    let mut conn = Connection {
        protocol,
        http,
        client_ip,
        out,
        done,
        authorization: None,
        session: None,
        operations: HashMap::new(),
    };
    let init_deadline = Instant::now() + INIT_TIMEOUT;
    let mut watchdog = interval(WATCHDOG);
    watchdog.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut keep_alive = interval(KEEP_ALIVE);
    let mut ticks = 0u32;
    loop {
        let step = tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => conn.on_text(text.as_str()).await,
                Some(Ok(Message::Binary(_))) => Err((close::INVALID_MESSAGE, "Binary messages are not supported".into())),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => Ok(()),
            },
            Some(id) = finished.recv() => {
                conn.operations.remove(&id);
                Ok(())
            }
            _ = sleep_until(init_deadline), if conn.session.is_none() => {
                Err((close::INIT_TIMEOUT, "Connection initialisation timeout".into()))
            }
            _ = watchdog.tick(), if conn.session.is_some() => {
                ticks = ticks.wrapping_add(1);
                conn.watch(ticks.is_multiple_of(ACCESS_CHECK_EVERY)).await
            }
            _ = keep_alive.tick(), if conn.session.is_some() && protocol == Protocol::LegacyWs => {
                conn.send(protocol::keep_alive());
                Ok(())
            }
        };
        if let Err((code, reason)) = step {
            let _ = conn.out.send(Out::Close(code, reason));
            break;
        }
    }
    for (_, task) in conn.operations.drain() {
        task.abort();
    }
    drop(conn);
    let _ = writer.await;
}

type Step = Result<(), (u16, String)>;

impl Connection {
    fn send(&self, value: Value) {
        let _ = self.out.send(Out::Json(value));
    }

    async fn on_text(&mut self, text: &str) -> Step {
        let Some(frame) = protocol::parse(self.protocol, text) else {
            return Err((close::INVALID_MESSAGE, "Invalid message received".into()));
        };
        match frame {
            ClientFrame::Init { payload } => self.on_init(payload).await,
            ClientFrame::Ping { payload } => {
                self.send(protocol::pong(payload));
                Ok(())
            }
            ClientFrame::Pong => Ok(()),
            ClientFrame::Subscribe { id, payload } => self.on_subscribe(id, payload).await,
            ClientFrame::Complete { id } => {
                if let Some(task) = self.operations.remove(&id) {
                    task.abort();
                }
                Ok(())
            }
            ClientFrame::Terminate => Err((1000, "Normal closure".into())),
        }
    }

    async fn on_init(&mut self, payload: Option<serde_json::Map<String, Value>>) -> Step {
        if self.session.is_some() {
            return Err((
                close::TOO_MANY_INITS,
                "Too many initialisation requests".into(),
            ));
        }
        let authorization = payload.as_ref().and_then(|p| {
            ["authorization", "Authorization"]
                .iter()
                .find_map(|k| p.get(*k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        // Open sockets get no leeway: a token is good until its `exp` and not a second longer.
        match Authn::from_header(&self.http.app, authorization.as_deref(), 0).await {
            Authn::Signed(session) => {
                self.session = Some(*session);
                self.authorization = authorization;
                self.send(protocol::ack(self.protocol));
                Ok(())
            }
            Authn::Rejected(reason) => self.refuse_init(reason),
            Authn::Anonymous => self.refuse_init(
                "connection_init must carry {\"authorization\": \"Bearer <token>\"}".into(),
            ),
        }
    }

    fn refuse_init(&self, reason: String) -> Step {
        if self.protocol == Protocol::LegacyWs {
            self.send(protocol::connection_error(&reason));
        }
        Err((close::FORBIDDEN, "Forbidden".into()))
    }

    /// Closes the socket once the token expired or the member lost access.
    async fn watch(&mut self, check_access: bool) -> Step {
        let Some(session) = &self.session else {
            return Ok(());
        };
        if self.http.app.clock.now() >= session.token_expires_at {
            return Err((close::FORBIDDEN, "Token expired".into()));
        }
        if check_access {
            match Authn::from_header(&self.http.app, self.authorization.as_deref(), 0).await {
                Authn::Signed(fresh) => self.session = Some(*fresh),
                _ => return Err((close::FORBIDDEN, "Forbidden".into())),
            }
        }
        Ok(())
    }

    async fn on_subscribe(&mut self, id: String, payload: Value) -> Step {
        if self.session.is_none() {
            return Err((close::UNAUTHORIZED, "Unauthorized".into()));
        }
        if self.operations.contains_key(&id) {
            return Err((
                close::SUBSCRIBER_EXISTS,
                format!("Subscriber for {id} already exists"),
            ));
        }
        let request = match request_from_json(payload) {
            Ok(request) => request,
            Err(_) => return Err((close::INVALID_MESSAGE, "Invalid message received".into())),
        };
        // Roles are read fresh for every operation, as on HTTP.
        let authn = Authn::from_header(&self.http.app, self.authorization.as_deref(), 0).await;
        if !matches!(authn, Authn::Signed(_)) {
            return Err((close::FORBIDDEN, "Forbidden".into()));
        }
        let request = request
            .data(authn)
            .data(Arc::new(Loaders::new(&self.http.app)))
            .data(ClientIp(self.client_ip.clone()));
        let (schema, out, done, protocol) = (
            self.http.schema.clone(),
            self.out.clone(),
            self.done.clone(),
            self.protocol,
        );
        let op_id = id.clone();
        let task = tokio::spawn(async move {
            let mut responses = std::pin::pin!(schema.execute_stream(request));
            let mut first = true;
            while let Some(response) = responses.next().await {
                let (request_failed, body) = body_of(response);
                if first && request_failed {
                    let _ = out.send(Out::Json(protocol::error(
                        protocol,
                        &op_id,
                        body["errors"].clone(),
                    )));
                    let _ = done.send(op_id);
                    return;
                }
                first = false;
                let _ = out.send(Out::Json(protocol::next(protocol, &op_id, body)));
            }
            let _ = out.send(Out::Json(protocol::complete(&op_id)));
            let _ = done.send(op_id);
        });
        self.operations.insert(id, task.abort_handle());
        Ok(())
    }
}
