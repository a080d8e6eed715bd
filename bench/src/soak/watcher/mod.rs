//! One watcher: a member of one workspace who follows one running workroom
//! at a time over graphql-transport-ws, from the seq the driver last saw to
//! the workroom's terminal STATE_CHANGED, then picks another. Like the
//! graphql-ws reference client in its default (lazy) mode, its socket opens
//! for the subscription and closes when the subscription completes; the
//! next watch opens a new one on the watcher's home instance (as a load
//! balancer spreading connections would).
//!
//! When its socket drops (an instance shutting down closes it with 1001) it
//! reconnects as that client does by default: it waits 2^retries seconds
//! plus 0.3 to 3 s of jitter before each attempt, and subscribes again after
//! the last seq it received. Attempts alternate between the instances,
//! starting with the other one.
//!
//! Latency is the receive time minus the event's `at` (the server's clock,
//! taken in the event's transaction just before it commits; the same
//! machine's clock as the watcher's). An event created after the
//! subscription it arrives on was sent is *live*; one created before, on a
//! subscription made after a reconnect, is *caught up* (its latency is
//! mostly the time the watcher was away); the replay when a watcher first
//! joins a workroom is neither.

mod connection;
mod frame;

use std::{sync::Arc, time::Duration};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use super::{
    figures::{Latencies, Timeline},
    rooms::{Live, Pool, Workspace},
};
use crate::{
    api::SUBSCRIPTION,
    watch::{now_us, Socket},
};
use connection::Connection;
use frame::{parse, Frame};

/// A socket silent this long (the server pings every few seconds) is dead.
const SILENCE: Duration = Duration::from_secs(30);

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

/// Watcher `index`: of workspace `index % workspaces`, at home on instance A or B in turn.
pub async fn run(index: usize, shared: Arc<Shared>, mut phase: watch::Receiver<Phase>) -> Outcome {
    let workspaces = shared.workspaces.len();
    let workspace = index % workspaces;
    let token = shared.workspaces[workspace].token.clone();
    let mut connection = Connection::new((index / workspaces) % 2);
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
        connection.close().await;
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
            let urls = &self.shared.urls;
            if connection.socket.is_none() && !connection.connect(urls, self.token, phase).await {
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
                        self.room
                            .ended
                            .store(true, std::sync::atomic::Ordering::Relaxed);
                        return Read::Finished;
                    }
                }
                Frame::Refused(error) => return Read::Refused(error),
                Frame::Other => {}
            }
        }
    }
}
