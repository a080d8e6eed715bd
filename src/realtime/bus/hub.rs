//! This instance's fan-out: one broadcast channel per topic with local subscribers.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock, Weak},
};

use tokio::sync::{broadcast, watch};

use super::Transport;
use crate::realtime::message::{Message, Topic};

/// Messages a topic's channel holds for a slow receiver before it lags. A
/// lagging receiver is told to resynchronise from the database.
const CAPACITY: usize = 1024;

/// What a subscriber receives.
#[derive(Debug, Clone)]
pub enum Signal {
    Message(Arc<Message>),
    /// Messages may have been missed (the bus reconnected, or this receiver
    /// lagged): re-read what matters from the database.
    Resync,
}

struct Entry {
    tx: broadcast::Sender<Signal>,
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
        if let Some(entry) = topics.get(&topic) {
            let _ = entry.tx.send(Signal::Message(message));
        }
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
            assert!(matches!(next(sub).await, Signal::Message(m) if *m == Message::Watchers));
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
