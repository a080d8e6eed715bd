//! One watcher: a member of one workspace who follows one running workroom
//! at a time over graphql-transport-ws (one socket, one subscription at a
//! time, as a page would), from the seq the driver last saw to the
//! workroom's terminal STATE_CHANGED, then picks another.
//!
//! When its socket drops (an instance shutting down closes it with 1001) it
//! reconnects as the graphql-ws reference client does by default: it waits
//! 2^retries seconds plus 0.3 to 3 s of jitter before each attempt, and
//! subscribes again after the last seq it received. Attempts alternate
//! between the instances, starting with the other one.
//!
//! Latency is the receive time minus the event's `at` (the server's clock,
//! taken in the event's transaction just before it commits; the same
//! machine's clock as the watcher's). An event created after the
//! subscription it arrives on was sent is *live*; one created before, on a
//! subscription made after a reconnect, is *caught up* (its latency is
//! mostly the time the watcher was away); the replay when a watcher first
//! joins a workroom is neither.

use std::{sync::Arc, time::Duration};

use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use super::{
    figures::{Latencies, Timeline},
    rooms::{Live, Pool, Workspace},
};
use crate::{
    api::SUBSCRIPTION,
    watch::{now_us, try_connect, Socket},
};

/// A socket silent this long (the server pings every few seconds) is dead.
const SILENCE: Duration = Duration::from_secs(30);
/// How long connecting, and the `connection_ack`, may take.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// Where the soak is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Load: workrooms start, watchers pick them.
    Running,
    /// No new workroom, no new watch; running ones go on to their end.
    Draining,
    /// Every watcher stops where it is.
    Stopped,
}

pub struct Shared {
    pub urls: [String; 2],
    pub pool: Pool,
    pub workspaces: Vec<Workspace>,
    pub timeline: Timeline,
}

/// One watch: a watcher following one workroom.
#[derive(Debug, Clone)]
pub struct WatchRecord {
    pub room: Arc<str>,
    /// The `afterSeq` of its first subscription.
    pub after: i64,
    /// The seqs received, in order of arrival, as runs of consecutive seqs.
    pub ranges: Vec<(i64, i64)>,
    /// It received a terminal STATE_CHANGED.
    pub finished: bool,
    pub reconnects: u32,
    /// Errors the server sent for its subscription.
    pub errors: Vec<String>,
}

impl WatchRecord {
    fn new(room: Arc<str>, after: i64) -> WatchRecord {
        WatchRecord {
            room,
            after,
            ranges: Vec::new(),
            finished: false,
            reconnects: 0,
            errors: Vec::new(),
        }
    }

    pub fn push(&mut self, seq: i64) {
        match self.ranges.last_mut() {
            Some((_, end)) if seq == *end + 1 => *end = seq,
            _ => self.ranges.push((seq, seq)),
        }
    }

    /// The seq to resume after: the last one received.
    fn resume_after(&self) -> i64 {
        self.ranges.last().map_or(self.after, |(_, end)| *end)
    }
}

#[derive(Default)]
pub struct Outcome {
    pub watches: Vec<WatchRecord>,
    pub latencies: Latencies,
}

/// The watcher's socket, and where it connects next.
struct Connection {
    socket: Option<Socket>,
    /// The instance the next attempt goes to.
    instance: usize,
    /// A socket dropped (or an attempt failed) before: the next attempt waits first.
    retrying: bool,
    /// Failed attempts since the last `connection_ack`.
    retries: u32,
}

impl Connection {
    /// The socket dropped: the next attempt waits, and goes to the other instance.
    fn dropped(&mut self) {
        self.socket = None;
        self.retrying = true;
        self.instance = 1 - self.instance;
    }

    /// graphql-ws's default `retryWait`: 2^retries seconds, plus 0.3 to 3 s.
    fn wait(&self) -> Duration {
        let jitter = rand::thread_rng().gen_range(300..3000);
        Duration::from_millis((1000u64 << self.retries.min(5)) + jitter)
    }
}

/// Watcher `index`: of workspace `index % workspaces`, first on instance A or B in turn.
pub async fn run(index: usize, shared: Arc<Shared>, mut phase: watch::Receiver<Phase>) -> Outcome {
    let workspaces = shared.workspaces.len();
    let workspace = index % workspaces;
    let token = shared.workspaces[workspace].token.clone();
    let mut connection = Connection {
        socket: None,
        instance: (index / workspaces) % 2,
        retrying: false,
        retries: 0,
    };
    let mut outcome = Outcome::default();
    while *phase.borrow() == Phase::Running {
        let Some(room) = shared.pool.pick(workspace) else {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = phase.changed() => {}
            }
            continue;
        };
        let mut record = WatchRecord::new(
            room.id.clone(),
            room.after.load(std::sync::atomic::Ordering::Relaxed),
        );
        let watch = Watch {
            shared: &shared,
            token: &token,
            room: &room,
        };
        watch
            .follow(
                &mut record,
                &mut connection,
                &mut outcome.latencies,
                &mut phase,
            )
            .await;
        room.watching
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        outcome.watches.push(record);
    }
    if let Some(mut socket) = connection.socket.take() {
        let _ = tokio::time::timeout(Duration::from_secs(5), socket.close(None)).await;
    }
    outcome
}

/// How reading one subscription ended.
enum Read {
    /// The terminal event arrived.
    Finished,
    /// The server ended the subscription with an error.
    Refused(String),
    /// The socket dropped.
    Dropped,
    /// The soak stopped.
    Stopped,
}

struct Watch<'a> {
    shared: &'a Shared,
    token: &'a str,
    room: &'a Live,
}

impl Watch<'_> {
    /// Follows the workroom to its end (or until the soak stops), across reconnects.
    async fn follow(
        &self,
        record: &mut WatchRecord,
        connection: &mut Connection,
        latencies: &mut Latencies,
        phase: &mut watch::Receiver<Phase>,
    ) {
        let mut subscriptions = 0;
        loop {
            if *phase.borrow() == Phase::Stopped {
                return;
            }
            if connection.socket.is_none() && !self.connect(connection, phase).await {
                continue;
            }
            let socket = connection.socket.as_mut().expect("connected");
            let resumed = subscriptions > 0;
            if resumed {
                record.reconnects += 1;
                latencies.reconnected(self.shared.timeline.window_at(now_us()));
            }
            let id = uuid::Uuid::now_v7().simple().to_string();
            let subscribe = json!({ "type": "subscribe", "id": id, "payload": {
                "query": SUBSCRIPTION, "operationName": "Watch",
                "variables": { "w": &*self.room.id, "after": record.resume_after() } } });
            let sent_us = now_us();
            if socket
                .send(Message::Text(subscribe.to_string().into()))
                .await
                .is_err()
            {
                connection.dropped();
                continue;
            }
            subscriptions += 1;
            let ending = self
                .read(socket, &id, record, latencies, sent_us, resumed, phase)
                .await;
            match ending {
                Read::Dropped => connection.dropped(),
                Read::Finished | Read::Refused(_) | Read::Stopped => {
                    if let Read::Refused(error) = ending {
                        record.errors.push(error);
                    }
                    let complete = json!({ "type": "complete", "id": id }).to_string();
                    if socket.send(Message::Text(complete.into())).await.is_err() {
                        connection.dropped();
                    }
                    return;
                }
            }
        }
    }

    /// Opens a socket (after the reference client's wait, when retrying);
    /// false when this attempt failed.
    async fn connect(
        &self,
        connection: &mut Connection,
        phase: &mut watch::Receiver<Phase>,
    ) -> bool {
        if connection.retrying {
            tokio::select! {
                _ = tokio::time::sleep(connection.wait()) => {}
                _ = phase.changed() => {}
            }
        }
        let url = &self.shared.urls[connection.instance];
        match tokio::time::timeout(HANDSHAKE, open(url, self.token)).await {
            Ok(Some(socket)) => {
                connection.socket = Some(socket);
                connection.retries = 0;
                true
            }
            _ => {
                connection.retries += 1;
                connection.dropped();
                false
            }
        }
    }

    /// Reads one subscription's frames until it ends.
    #[allow(clippy::too_many_arguments)]
    async fn read(
        &self,
        socket: &mut Socket,
        id: &str,
        record: &mut WatchRecord,
        latencies: &mut Latencies,
        sent_us: i64,
        resumed: bool,
        phase: &mut watch::Receiver<Phase>,
    ) -> Read {
        loop {
            let next = tokio::select! {
                biased;
                changed = phase.changed() => {
                    if changed.is_err() || *phase.borrow() == Phase::Stopped {
                        return Read::Stopped;
                    }
                    continue;
                }
                next = tokio::time::timeout(SILENCE, socket.next()) => next,
            };
            let text = match next {
                Ok(Some(Ok(Message::Text(text)))) => text,
                Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) | Err(_) => {
                    return Read::Dropped
                }
                Ok(Some(Ok(_))) => continue,
            };
            match parse(&text, id) {
                Frame::Event {
                    seq,
                    at_us,
                    terminal,
                } => {
                    record.push(seq);
                    let now = now_us();
                    let window = self.shared.timeline.window_at(now);
                    let latency = (now - at_us).clamp(0, u32::MAX as i64) as u32;
                    if at_us >= sent_us {
                        latencies.live(window, latency);
                    } else if resumed {
                        latencies.caught_up(window, latency);
                    }
                    if terminal {
                        record.finished = true;
                        return Read::Finished;
                    }
                }
                Frame::Refused(error) => return Read::Refused(error),
                Frame::Other => {}
            }
        }
    }
}

/// A socket past `connection_ack`, or `None`.
async fn open(url: &str, token: &str) -> Option<Socket> {
    let mut socket = try_connect(url, Some("graphql-transport-ws")).await.ok()?;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    socket
        .send(Message::Text(init.to_string().into()))
        .await
        .ok()?;
    loop {
        match socket.next().await? {
            Ok(Message::Text(text)) if text.contains("connection_ack") => return Some(socket),
            Ok(Message::Text(_)) | Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// What a server frame means to the subscription `id`.
#[derive(Debug, PartialEq)]
pub enum Frame {
    Event {
        seq: i64,
        at_us: i64,
        terminal: bool,
    },
    Refused(String),
    Other,
}

pub fn parse(text: &str, id: &str) -> Frame {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return Frame::Other;
    };
    if frame["id"] != id {
        return Frame::Other;
    }
    let payload = &frame["payload"];
    match frame["type"].as_str() {
        Some("next") if payload["errors"].is_array() => {
            Frame::Refused(payload["errors"].to_string())
        }
        Some("next") => {
            let event = &payload["data"]["workroomEvents"];
            let at = event["at"]
                .as_str()
                .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok());
            match (event["seq"].as_i64(), at) {
                (Some(seq), Some(at)) => Frame::Event {
                    seq,
                    at_us: at.timestamp_micros(),
                    terminal: event["kind"] == "STATE_CHANGED"
                        && matches!(
                            event["state"].as_str(),
                            Some("COMPLETED" | "FAILED" | "CANCELLED")
                        ),
                },
                _ => Frame::Refused(format!("an event without seq or at: {text}")),
            }
        }
        Some("error") => Frame::Refused(payload.to_string()),
        Some("complete") => Frame::Refused("the server completed the subscription".into()),
        _ => Frame::Other,
    }
}
