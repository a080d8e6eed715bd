//! This instance's fan-out: one broadcast channel per topic with local
//! subscribers, bounded by messages and by the bytes they hold.

use std::{
    collections::HashMap,
    ops::Deref,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex, OnceLock, Weak,
    },
};

use tokio::sync::{broadcast, watch};

use super::Transport;
use crate::realtime::message::{Message, Topic};

/// Messages a topic's channel holds for a slow receiver before it lags. A
/// lagging receiver is told to resynchronise from the database.
const CAPACITY: usize = 1024;
/// Bytes of messages a topic's channel holds for its slowest receiver; a
/// message past them is replaced by [`Signal::Resync`].
const CAPACITY_BYTES: usize = 8 << 20;

/// What a subscriber receives.
#[derive(Debug, Clone)]
pub enum Signal {
    Message(Arc<Carried>),
    /// Messages may have been missed (the bus reconnected, or this receiver
    /// lagged): re-read what matters from the database.
    Resync,
}

/// A message on its way to a topic's subscribers: its bytes count against
/// the topic's [`CAPACITY_BYTES`] until the channel and every receiver
/// dropped it.
#[derive(Debug)]
pub struct Carried {
    message: Arc<Message>,
    bytes: usize,
    held: Arc<AtomicUsize>,
}

impl Carried {
    pub fn message(&self) -> &Arc<Message> {
        &self.message
    }
}

impl Deref for Carried {
    type Target = Message;
    fn deref(&self) -> &Message {
        &self.message
    }
}

impl Drop for Carried {
    fn drop(&mut self) {
        self.held.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

struct Entry {
    tx: broadcast::Sender<Signal>,
    /// Bytes of the messages sent and not yet dropped by every receiver.
    held: Arc<AtomicUsize>,
    /// True once the transport delivers every later publication of the topic.
    ready: watch::Receiver<bool>,
}

#[derive(Default)]
pub struct Hub {
    topics: Mutex<HashMap<Topic, Entry>>,
    transport: OnceLock<Weak<dyn Transport>>,
}

impl Hub {
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub::default())
    }

    pub(super) fn set_transport(&self, transport: Weak<dyn Transport>) {
        let _ = self.transport.set(transport);
    }

    fn transport(&self) -> Option<Arc<dyn Transport>> {
        self.transport.get().and_then(Weak::upgrade)
    }

    pub(super) async fn subscribe(self: &Arc<Hub>, topic: Topic) -> Subscription {
        let (rx, mut ready) = {
            let mut topics = self.topics.lock().expect("hub lock");
            match topics.get(&topic) {
                Some(entry) => (entry.tx.subscribe(), entry.ready.clone()),
                None => {
                    let (tx, rx) = broadcast::channel(CAPACITY);
                    let (ready_tx, ready) = watch::channel(false);
                    topics.insert(
                        topic,
                        Entry {
                            tx,
                            held: Arc::default(),
                            ready: ready.clone(),
                        },
                    );
                    if let Some(transport) = self.transport() {
                        transport.listen(topic, ready_tx);
                    }
                    (rx, ready)
                }
            }
        };
        let subscription = Subscription {
            rx,
            _lease: Lease {
                hub: self.clone(),
                topic,
            },
        };
        // A transport that went away leaves nothing to wait for.
        let _ = ready.wait_for(|ready| *ready).await;
        subscription
    }

    /// Hands a message to this instance's subscribers of `topic`.
    pub fn deliver(&self, topic: Topic, message: Arc<Message>) {
        metrics::counter!(crate::telemetry::BUS_DELIVERED).increment(1);
        let topics = self.topics.lock().expect("hub lock");
        let Some(entry) = topics.get(&topic) else {
            return;
        };
        let bytes = message.size();
        let held = entry.held.fetch_add(bytes, Ordering::AcqRel);
        let signal = if held + bytes > CAPACITY_BYTES {
            entry.held.fetch_sub(bytes, Ordering::AcqRel);
            tracing::debug!(
                ?topic,
                held,
                "a topic's receivers hold too much; resynchronising them"
            );
            Signal::Resync
        } else {
            Signal::Message(Arc::new(Carried {
                message,
                bytes,
                held: entry.held.clone(),
            }))
        };
        let _ = entry.tx.send(signal);
    }

    /// Tells the subscribers of `topic` to resynchronise (a message of it was lost).
    pub fn resync(&self, topic: Topic) {
        let topics = self.topics.lock().expect("hub lock");
        if let Some(entry) = topics.get(&topic) {
            let _ = entry.tx.send(Signal::Resync);
        }
    }

    /// Tells every subscriber to resynchronise (after the transport reconnected).
    pub fn resync_all(&self) {
        let topics = self.topics.lock().expect("hub lock");
        for entry in topics.values() {
            let _ = entry.tx.send(Signal::Resync);
        }
    }

    /// The topics someone on this instance listens to.
    pub fn topics(&self) -> Vec<Topic> {
        self.topics
            .lock()
            .expect("hub lock")
            .keys()
            .copied()
            .collect()
    }

    fn release(&self, topic: Topic) {
        let mut topics = self.topics.lock().expect("hub lock");
        let unused = topics
            .get(&topic)
            .is_some_and(|entry| entry.tx.receiver_count() == 0);
        if unused {
            topics.remove(&topic);
            if let Some(transport) = self.transport() {
                transport.unlisten(topic);
            }
        }
    }
}

/// A subscriber's receiver of one topic. Dropping the last one of a topic
/// stops this instance listening to it.
pub struct Subscription {
    rx: broadcast::Receiver<Signal>,
    // Declared after `rx`, so the receiver is gone when the lease counts what is left.
    _lease: Lease,
}

impl Subscription {
    /// The next signal. A receiver that fell behind gets [`Signal::Resync`]
    /// and goes on with the oldest message still held.
    pub async fn recv(&mut self) -> Signal {
        match self.rx.recv().await {
            Ok(signal) => signal,
            Err(broadcast::error::RecvError::Lagged(_)) => Signal::Resync,
            // The hub keeps a topic's sender while anyone subscribes to it.
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

struct Lease {
    hub: Arc<Hub>,
    topic: Topic,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.hub.release(self.topic);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use uuid::Uuid;

    use super::*;
    use crate::realtime::bus::Bus;

    async fn next(sub: &mut Subscription) -> Signal {
        tokio::time::timeout(Duration::from_secs(1), sub.recv())
            .await
            .expect("a signal in time")
    }

    #[tokio::test]
    async fn subscribers_of_a_topic_get_its_messages_and_no_others() {
        let bus = Bus::in_process();
        let (a, b) = (
            Topic::Workroom(Uuid::now_v7()),
            Topic::Workroom(Uuid::now_v7()),
        );
        let mut first = bus.subscribe(a).await;
        let mut second = bus.subscribe(a).await;
        let mut other = bus.subscribe(b).await;
        bus.publish(a, Message::Watchers);
        for sub in [&mut first, &mut second] {
            assert!(matches!(next(sub).await, Signal::Message(m) if **m == Message::Watchers));
        }
        assert!(
            tokio::time::timeout(Duration::from_millis(50), other.recv())
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_lagging_receiver_is_told_to_resync_and_goes_on() {
        let bus = Bus::in_process();
        let topic = Topic::Control;
        let mut sub = bus.subscribe(topic).await;
        for _ in 0..CAPACITY + 10 {
            bus.publish(topic, Message::Work);
        }
        assert!(matches!(next(&mut sub).await, Signal::Resync));
        assert!(matches!(next(&mut sub).await, Signal::Message(_)));
    }

    #[tokio::test]
    async fn what_waits_for_a_slow_receiver_is_bounded_by_bytes() {
        let bus = Bus::in_process();
        let topic = Topic::Workroom(Uuid::now_v7());
        let mut sub = bus.subscribe(topic).await;
        let event = |seq: i64| {
            Arc::new(Message::Event(entity::workroom_event::Model {
                id: Uuid::now_v7(),
                workspace_id: Uuid::nil(),
                workroom_id: Uuid::nil(),
                seq,
                kind: entity::enums::WorkroomEventKind::ComposerDelta,
                actor_id: None,
                state: None,
                task_id: None,
                deliverable_id: None,
                text: Some("x".repeat(1 << 20)),
                data: None,
                at: chrono::Utc::now(),
            }))
        };
        // Far fewer messages than the channel's count, far more bytes than its bound.
        for seq in 1..=20 {
            bus.hub().deliver(topic, event(seq));
        }
        let held = || {
            bus.hub().topics.lock().unwrap()[&topic]
                .held
                .load(Ordering::Acquire)
        };
        assert!(held() <= CAPACITY_BYTES, "{} bytes held", held());
        let mut messages = 0;
        let mut resyncs = 0;
        for _ in 1..=20 {
            match next(&mut sub).await {
                Signal::Message(_) => messages += 1,
                Signal::Resync => resyncs += 1,
            }
        }
        assert_eq!(
            messages,
            (CAPACITY_BYTES >> 20) - 1,
            "the messages within the bound"
        );
        assert_eq!(resyncs, 20 - messages, "then a resync for each past it");
        assert_eq!(held(), 0, "what was received is no longer counted");
    }

    #[tokio::test]
    async fn a_topic_is_forgotten_when_its_last_subscriber_leaves() {
        let bus = Bus::in_process();
        let topic = Topic::Workspace(Uuid::now_v7());
        let first = bus.subscribe(topic).await;
        let second = bus.subscribe(topic).await;
        drop(first);
        assert_eq!(bus.hub().topics(), vec![topic]);
        drop(second);
        assert!(bus.hub().topics().is_empty());
    }
}
