//! The event bus: messages published after commit reach every subscriber of
//! their topic on every instance.
//!
//! Two layers:
//! - [`Hub`]: this instance's fan-out, one `tokio::sync::broadcast` channel per
//!   topic that someone here listens to (a lagging receiver sees a
//!   [`Signal::Resync`], never the end of its stream).
//! - a [`Transport`]: how messages travel between instances. [`InProcess`]
//!   (the embedded default) hands them straight to the hub; `redis` publishes
//!   them on Redis pub/sub and feeds what one pub/sub connection receives into
//!   the hub.
//!
//! [`Bus`] puts the two together for the rest of the server.

mod hub;
mod memory;
pub mod redis;

use std::{sync::Arc, time::Duration};

use futures_util::future::BoxFuture;
use tokio::sync::watch;

pub use hub::{Hub, Signal, Subscription};
pub use memory::InProcess;

use super::message::{Message, Topic};

/// How messages travel between instances.
pub trait Transport: Send + Sync + 'static {
    /// Queues `message` for every instance's subscribers of `topic`. Never waits:
    /// publishing must not slow the change that produced the message.
    fn publish(&self, topic: Topic, message: Arc<Message>);
    /// This instance has its first local subscriber of `topic`: start receiving
    /// it, and send `true` on `ready` once every later publication will arrive.
    fn listen(&self, topic: Topic, ready: watch::Sender<bool>);
    /// The last local subscriber of `topic` left.
    fn unlisten(&self, topic: Topic);
    /// Sends what is still queued, waiting at most `within` (shutdown).
    fn flush(&self, within: Duration) -> BoxFuture<'static, ()>;
}

/// The bus of this instance.
#[derive(Clone)]
pub struct Bus {
    hub: Arc<Hub>,
    transport: Arc<dyn Transport>,
}

impl Bus {
    /// The embedded default: messages never leave this process.
    pub fn in_process() -> Bus {
        let hub = Hub::new();
        Bus::with(hub.clone(), Arc::new(InProcess::new(hub)))
    }

    pub fn with(hub: Arc<Hub>, transport: Arc<dyn Transport>) -> Bus {
        hub.set_transport(Arc::downgrade(&transport));
        Bus { hub, transport }
    }

    pub fn publish(&self, topic: Topic, message: Message) {
        metrics::counter!(crate::telemetry::BUS_PUBLISHED).increment(1);
        self.transport.publish(topic, Arc::new(message));
    }

    /// Subscribes to `topic`. Once this returns, every message published
    /// afterwards (by any instance) reaches the subscription, so a subscriber
    /// may read the database next and miss nothing in between.
    pub async fn subscribe(&self, topic: Topic) -> Subscription {
        self.hub.subscribe(topic).await
    }

    pub async fn flush(&self, within: Duration) {
        self.transport.flush(within).await
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }
}
