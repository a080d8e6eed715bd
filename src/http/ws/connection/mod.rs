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
//! What one socket may hold is bounded: its outgoing queue, in frames and
//! in bytes (an operation waits when it is full, and a watcher then catches
//! up from the database), its running operations and the bytes of their
//! documents and variables, the queries and mutations rendering a result
//! at once ([`TURNS`]), and its inbound message size. A client that sends
//! nothing (not even a pong to the server's pings) for the idle limit is
//! gone, and so is one whose frame cannot be written within the write timeout.
//! How many sockets one client address and one user hold open is capped
//! (`http::caps`): one over its address's cap is closed with 4430 as it
//! opens, one over its user's at `connection_init`.
//!
//! This module runs the socket's loop; `frames` handles what the client
//! sends (and signs the socket in), `access` the registry's signals and the
//! re-checks of the member's access, `subscribe` starts an operation.

mod access;
mod frames;
mod subscribe;

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc, time::Duration};

use axum::extract::ws::{Message, WebSocket};
use futures_util::{stream::SplitStream, StreamExt};
use serde_json::Value;
use tokio::{
    sync::Semaphore,
    task::JoinHandle,
    time::{interval, sleep_until, timeout, Instant, MissedTickBehavior},
};
use uuid::Uuid;

use super::{
    protocol::{self, close, Protocol},
    writer::{write, Out, Results, Urgent, CLOSE_WITHIN},
};

use crate::{
    config::SocketSettings,
    graphql::context::RequestId,
    http::{
        caps::{Place, Refused},
        HttpState,
    },
    realtime::sockets::{Registration, Signals},
};

/// How long a client has to send `connection_init`.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(3);
/// Legacy keep-alive period.
const KEEP_ALIVE: Duration = Duration::from_secs(12);
/// Queries and mutations of one socket that run at once. Each holds its
/// one result (which may be large) until the queue takes it; the others
/// wait their turn holding nothing but their request.
pub const TURNS: usize = 4;

struct Connection {
    protocol: Protocol,
    http: Arc<HttpState>,
    settings: SocketSettings,
    client_ip: String,
    request_id: RequestId,
    /// Operations' results, for the writer.
    out: Results,
    /// Turns of queries and mutations ([`TURNS`]).
    turns: Arc<Semaphore>,
    /// What running operations may hold (`ATELYA_WS_OPERATIONS_BYTES`), in bytes.
    held: Arc<Semaphore>,
    /// The connection's own frames, written first.
    urgent: Arc<Urgent>,
    /// The bearer header value of `connection_init`, once accepted (the
    /// socket is then signed in).
    authorization: Option<String>,
    registration: Option<Registration>,
    /// Running operations by id; finished ones are swept when an id is reused.
    operations: HashMap<String, JoinHandle<()>>,
    /// When to check access again after a resynchronisation, or after a
    /// check that failed.
    recheck_at: Option<Instant>,
    /// The socket's places under the caps of its client address and, once
    /// signed in, of its user: given back when the connection is dropped.
    _address: Place<String>,
    user: Place<Uuid>,
}

/// Runs one socket; `address` is its place under its client address's cap,
/// or why there was none (it is then closed with 4430 at once).
pub async fn run(
    socket: WebSocket,
    protocol: Option<Protocol>,
    address: Result<Place<String>, Refused>,
    http: Arc<HttpState>,
    client_ip: String,
    request_id: RequestId,
) {
    let _open = crate::telemetry::Live::new(crate::telemetry::WEBSOCKETS_OPEN);
    let settings = http.app.config.sockets.clone();
    let (sink, mut stream) = socket.split();
    let (out, results) = Results::new(settings.queue, settings.queue_bytes);
    let urgent = Arc::new(Urgent::default());
    let write_timeout = Duration::from_secs(settings.write_timeout_secs.max(1));
    let mut writer = tokio::spawn(write(sink, urgent.clone(), results, write_timeout));
    let (address, protocol) = match admitted(address, protocol) {
        Ok(admitted) => admitted,
        Err((code, reason)) => {
            urgent.push(Out::Close(code, reason));
            drop(out);
            let _ = writer.await;
            return;
        }
    };
    let held = Arc::new(Semaphore::new(held_budget(&http)));
    let mut conn = Connection {
        protocol,
        http,
        settings,
        client_ip,
        request_id,
        out,
        turns: Arc::new(Semaphore::new(TURNS)),
        held,
        urgent: urgent.clone(),
        authorization: None,
        registration: None,
        operations: HashMap::new(),
        recheck_at: None,
        _address: address,
        user: None,
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

/// The socket's place and protocol, or the close frame of a socket that
/// may not go on: over its address's cap, or with no subprotocol of ours.
fn admitted(
    address: Result<Place<String>, Refused>,
    protocol: Option<Protocol>,
) -> Result<(Place<String>, Protocol), (u16, String)> {
    match (address, protocol) {
        (Err(refused), _) => Err((
            close::RATE_LIMITED,
            protocol::close_reason(&refused.error()),
        )),
        (Ok(_), None) => Err((
            close::SUBPROTOCOL_NOT_ACCEPTABLE,
            "Subprotocol not acceptable".into(),
        )),
        (Ok(address), Some(protocol)) => Ok((address, protocol)),
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

/// The bytes running operations may hold: the setting, and never less than
/// one request body, so any message that may be sent may also run.
fn held_budget(http: &HttpState) -> usize {
    let config = &http.app.config;
    let budget = config
        .sockets
        .operations_bytes
        .max(config.limits.max_body_bytes);
    budget.clamp(1, Semaphore::MAX_PERMITS)
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
}
