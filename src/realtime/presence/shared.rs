//! Presence shared through Redis: joins and leaves, queued in the order
//! they happened, and the worker that applies them and refreshes this
//! instance's entries every [`HEARTBEAT`].

use std::sync::{Mutex, Weak};

use tokio::{sync::mpsc, task::JoinHandle};
use uuid::Uuid;

use super::{store::Store, Inner, HEARTBEAT};
use crate::realtime::{Bus, Message, Topic};

pub(super) enum Op {
    Join(Uuid, Uuid),
    Leave(Uuid, Uuid),
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Joins and leaves queued for Redis at once. Past it they are dropped (a
/// Redis that does not answer must not grow this queue): the heartbeat
/// records a dropped join, and a dropped leave's entry expires within `TTL`.
pub(super) const OPS_QUEUE: usize = 10_000;

pub(super) struct Shared {
    pub(super) ops: mpsc::Sender<Op>,
    pub(super) store: Store,
    pub(super) worker: Mutex<Option<JoinHandle<()>>>,
}

/// Applies joins and leaves to Redis in the order they happened, and refreshes this instance's entries.
pub(super) async fn worker(
    inner: Weak<Inner>,
    store: Store,
    bus: Bus,
    mut ops: mpsc::Receiver<Op>,
) {
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            op = ops.recv() => match op {
                None => return,
                Some(Op::Join(workroom, user)) => {
                    if let Err(err) = store.join(&[(workroom, vec![user])]).await {
                        // The next heartbeat adds it.
                        tracing::warn!(error = %err, "recording a watcher in Redis failed");
                    }
                    bus.publish(Topic::Workroom(workroom), Message::Watchers);
                }
                Some(Op::Leave(workroom, user)) => {
                    if let Err(err) = store.leave(workroom, user).await {
                        // The entry expires on its own.
                        tracing::warn!(error = %err, "removing a watcher from Redis failed");
                    }
                    bus.publish(Topic::Workroom(workroom), Message::Watchers);
                }
                Some(Op::Flush(ack)) => {
                    let _ = ack.send(());
                }
            },
            _ = heartbeat.tick() => {
                let Some(inner) = inner.upgrade() else { return };
                let entries = inner.entries();
                match store.join(&entries).await {
                    // Entries that were missing (Redis restarted, or they expired) are news.
                    Ok(added) => {
                        for ((workroom, _), added) in entries.iter().zip(added) {
                            if added > 0 {
                                bus.publish(Topic::Workroom(*workroom), Message::Watchers);
                            }
                        }
                    }
                    Err(err) => tracing::warn!(error = %err, "refreshing watchers in Redis failed"),
                }
            }
        }
    }
}
