//! One websocket connection: the protocol's state machine.
//!
//! The connection must be initialised with a valid bearer token within
//! [`INIT_TIMEOUT`]; operations run as tasks (`operation`) that queue their
//! frames for the connection's writer. Once signed in, the socket is in the
//! instance's registry (`realtime::sockets`), which tells it when its token
//! expires (4403, no leeway on open sockets), when its member's access
//! changed on any instance (it checks again and closes with 4403 when it is
//! gone), and when the server shuts down (1001).
//!
//! What one socket may hold is bounded: its outgoing queue (an operation
//! waits when it is full, and a watcher then catches up from the database),
//! its running operations, and its inbound message size. A client that sends
//! nothing (not even a pong to the server's pings) for the idle limit is
//! gone, and so is one whose frame cannot be written within the write timeout.

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc, time::Duration};

use axum::extract::ws::{Message, WebSocket};
use futures_util::{stream::SplitStream, StreamExt};
use serde_json::Value;
use tokio::{
    sync::mpsc,
    task::JoinHandle,
    time::{interval, sleep_until, timeout, Instant, MissedTickBehavior},
};

use super::{
    operation::{self, Operation},
    protocol::{self, close, ClientFrame, Protocol},
    writer::{write, Out, Urgent, CLOSE_WITHIN},
};
use tracing::Instrument;

use crate::{
    auth::{session, Authn},
    config::SocketSettings,
    error::AppError,
    graphql::context::{ClientIp, Loaders, RequestId},
    http::{request::request_from_json, HttpState},
    realtime::sockets::{flag, Registration, Signals},
};

/// How long a client has to send `connection_init`.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(3);
/// Legacy keep-alive period.
const KEEP_ALIVE: Duration = Duration::from_secs(12);

struct Connection {
    protocol: Protocol,
    http: Arc<HttpState>,
    settings: SocketSettings,
    client_ip: String,
    request_id: RequestId,
    /// Operations' results, for the writer.
    out: mpsc::Sender<Out>,
    /// The connection's own frames, written first.
    urgent: Arc<Urgent>,
    /// The bearer header value of `connection_init`, once accepted (the
    /// socket is then signed in).
    authorization: Option<String>,
    registration: Option<Registration>,
    /// Running operations by id; finished ones are swept when an id is reused.
    operations: HashMap<String, JoinHandle<()>>,
    /// When to check access again after a resynchronisation.
    recheck_at: Option<Instant>,
}

pub async fn run(
    socket: WebSocket,
    protocol: Option<Protocol>,
    http: Arc<HttpState>,
    client_ip: String,
    request_id: RequestId,
) {
    let settings = http.app.config.sockets.clone();
    let (sink, mut stream) = socket.split();
    let (out, results) = mpsc::channel::<Out>(settings.queue.max(1));
    let urgent = Arc::new(Urgent::default());
    let write_timeout = Duration::from_secs(settings.write_timeout_secs.max(1));
    let mut writer = tokio::spawn(write(sink, urgent.clone(), results, write_timeout));
    let Some(protocol) = protocol else {
        let reason = "Subprotocol not acceptable".into();
        urgent.push(Out::Close(close::SUBPROTOCOL_NOT_ACCEPTABLE, reason));
        drop(out);
        let _ = writer.await;
        return;
    };
    let mut conn = Connection {
        protocol,
        http,
        settings,
        client_ip,
        request_id,
        out,
        urgent: urgent.clone(),
        authorization: None,
        registration: None,
        operations: HashMap::new(),
        recheck_at: None,
    };
    let close = serve(&mut conn, &mut stream).await;
    for (_, task) in conn.operations.drain() {
        task.abort();
        // Its watch (presence) ends before the socket leaves the registry.
        let _ = task.await;
    }
    // After a message over the limit, the rest of it can no longer be read.
    let lingering = close
        .as_ref()
        .map(|(code, _)| *code == close::MESSAGE_TOO_BIG);
    if let Some((code, reason)) = close {
        urgent.push(Out::Close(code, reason));
    }
    drop(conn);
    if timeout(CLOSE_WITHIN, &mut writer).await.is_err() {
        // The client reads nothing: there is nobody to close for.
        writer.abort();
    }
    if let Some(unreadable) = lingering {
        linger(&mut stream, unreadable).await;
    }
}

/// The end of a closing handshake the server started: reads what the client
/// still sends, up to its close frame. Closing a socket with unread bytes
/// resets it, and a reset can discard the close frame before the client
/// reads it; so a socket that can no longer be read is held a moment instead.
async fn linger(stream: &mut SplitStream<WebSocket>, unreadable: bool) {
    if unreadable {
        tokio::time::sleep(CLOSE_WITHIN / 2).await;
        return;
    }
    let _ = timeout(CLOSE_WITHIN, async {
        while let Some(Ok(message)) = stream.next().await {
            if let Message::Close(_) = message {
                return;
            }
        }
    })
    .await;
}

/// Runs the connection until it ends; returns the close frame to send, if any.
async fn serve(
    conn: &mut Connection,
    stream: &mut SplitStream<WebSocket>,
) -> Option<(u16, String)> {
    let init_deadline = Instant::now() + INIT_TIMEOUT;
    let idle_limit = Duration::from_secs(conn.settings.idle_secs.max(1));
    let mut last_heard = Instant::now();
    let mut liveness = interval(Duration::from_secs(conn.settings.ping_secs.max(1)));
    liveness.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut keep_alive = interval(KEEP_ALIVE);
    loop {
        let signals = conn.registration.as_ref().map(|r| r.signals.clone());
        let step = tokio::select! {
            incoming = stream.next() => {
                last_heard = Instant::now();
                match incoming {
                    // Boxed: the rare, deep paths (sign-in, subscribe) stay out of every idle socket's future.
                    Some(Ok(Message::Text(text))) => boxed(conn.on_text(text.as_str())).await,
                    Some(Ok(Message::Binary(_))) => Err((close::INVALID_MESSAGE, "Binary messages are not supported".into())),
                    Some(Ok(Message::Close(_))) | None => return None,
                    Some(Err(err)) => return too_big(err),
                    Some(Ok(_)) => Ok(()),
                }
            }
            _ = sleep_until(init_deadline), if !conn.signed_in() => {
                Err((close::INIT_TIMEOUT, "Connection initialisation timeout".into()))
            }
            flags = wait(signals) => boxed(conn.on_signals(flags)).await,
            _ = sleep_until(conn.recheck_at.unwrap_or(init_deadline)), if conn.recheck_at.is_some() => {
                conn.recheck_at = None;
                boxed(conn.recheck()).await
            }
            _ = liveness.tick() => {
                if last_heard.elapsed() >= idle_limit {
                    // Nobody is there to read a close frame.
                    return None;
                }
                conn.urgent.push(Out::Ping);
                Ok(())
            }
            _ = keep_alive.tick(), if conn.signed_in() && conn.protocol == Protocol::LegacyWs => {
                conn.send(protocol::keep_alive());
                Ok(())
            }
        };
        if let Err(close) = step {
            return Some(close);
        }
    }
}

/// A message over the size limit is closed with 1009; other read errors end the socket.
fn too_big(err: axum::Error) -> Option<(u16, String)> {
    match err.into_inner().downcast::<tungstenite::Error>() {
        Ok(err) if matches!(*err, tungstenite::Error::Capacity(_)) => {
            Some((close::MESSAGE_TOO_BIG, "Message too big".into()))
        }
        _ => None,
    }
}

fn boxed<'a, T>(
    step: impl Future<Output = T> + Send + 'a,
) -> Pin<Box<dyn Future<Output = T> + Send + 'a>> {
    Box::pin(step)
}

async fn wait(signals: Option<Arc<Signals>>) -> u8 {
    match signals {
        Some(signals) => signals.wait().await,
        None => std::future::pending().await,
    }
}

type Step = Result<(), (u16, String)>;

impl Connection {
    fn signed_in(&self) -> bool {
        self.authorization.is_some()
    }

    /// Sends a frame of the connection's own (never waits behind results).
    fn send(&self, value: Value) {
        self.urgent.push(Out::Text(value.to_string()));
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
        if self.signed_in() {
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
                self.registration = Some(self.http.app.realtime.sockets.register(
                    session.workspace_id,
                    session.user.id,
                    session.token_expires_at,
                ));
                self.authorization = authorization;
                self.send(protocol::ack(self.protocol));
                Ok(())
            }
            Authn::Rejected(reason) => self.refuse_init(reason).await,
            Authn::Anonymous => {
                self.refuse_init(
                    "connection_init must carry {\"authorization\": \"Bearer <token>\"}".into(),
                )
                .await
            }
        }
    }

    async fn refuse_init(&self, reason: String) -> Step {
        if self.protocol == Protocol::LegacyWs {
            self.send(protocol::connection_error(&reason));
        }
        Err((close::FORBIDDEN, "Forbidden".into()))
    }

    async fn on_signals(&mut self, flags: u8) -> Step {
        if flags & flag::SHUTDOWN != 0 {
            return Err((1001, "Server shutting down".into()));
        }
        if flags & flag::EXPIRED != 0 {
            return Err((close::FORBIDDEN, "Token expired".into()));
        }
        if flags & flag::RECHECK != 0 {
            return self.recheck().await;
        }
        if flags & flag::RECHECK_SOON != 0 && self.recheck_at.is_none() {
            // Spread over a second, so a resync does not read every socket's access at once.
            let delay = Duration::from_millis(rand::random::<u64>() % 1000);
            self.recheck_at = Some(Instant::now() + delay);
        }
        Ok(())
    }

    /// Reads the member's access again. Every operation a socket runs needs
    /// only membership (subscriptions are readable by every role), so the
    /// socket closes when the membership or the sign-in is gone.
    async fn recheck(&mut self) -> Step {
        let Some(header) = self.authorization.as_deref() else {
            return Ok(());
        };
        match session::check(&self.http.app, header, 0).await {
            Ok(_) => Ok(()),
            Err(AppError::Unauthenticated(_)) => Err((close::FORBIDDEN, "Forbidden".into())),
            Err(err) => {
                tracing::warn!(error = %err, "checking a socket's access failed; trying again");
                self.recheck_at = Some(Instant::now() + Duration::from_secs(1));
                Ok(())
            }
        }
    }

    async fn on_subscribe(&mut self, id: String, payload: Value) -> Step {
        if !self.signed_in() {
            return Err((close::UNAUTHORIZED, "Unauthorized".into()));
        }
        // A finished operation's id may be used again.
        self.operations.retain(|_, task| !task.is_finished());
        if self.operations.contains_key(&id) {
            return Err((
                close::SUBSCRIBER_EXISTS,
                format!("Subscriber for {id} already exists"),
            ));
        }
        if self.operations.len() >= self.settings.max_operations {
            let message = format!(
                "a socket runs at most {} operations at once",
                self.settings.max_operations
            );
            let errors = serde_json::json!([{ "message": message, "extensions": { "code": "RATE_LIMITED" } }]);
            self.send(protocol::error(self.protocol, &id, errors));
            return Ok(());
        }
        let template = operation::TemplateSource::of(&payload);
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
            .data(authn.clone())
            .data(Arc::new(Loaders::new(&self.http.app)))
            .data(ClientIp(self.client_ip.clone()))
            .data(self.request_id.clone());
        let op = Operation {
            id: id.clone(),
            protocol: self.protocol,
            out: self.out.clone(),
            http: self.http.clone(),
            template: Some(template.with(authn, self.client_ip.clone())),
        };
        // The operation's log lines carry the socket's span (and request id).
        let task = tokio::spawn(operation::run(op, request).instrument(tracing::Span::current()));
        self.operations.insert(id, task);
        Ok(())
    }
}
