//! Redis pub/sub between instances.
//!
//! - Exactly one pub/sub connection per process carries every topic this
//!   instance listens to. A supervisor owns it: it SUBSCRIBEs and
//!   UNSUBSCRIBEs as local subscribers come and go, PINGs it every
//!   [`PING_EVERY`] so a silent connection is noticed, and after any
//!   disconnection reconnects with backoff, subscribes to every topic again
//!   and tells every local subscriber to resynchronise from the database.
//! - Publications go through a bounded queue to one publisher task on a
//!   regular (multiplexed, self-reconnecting) connection, pipelined in
//!   batches. A batch that fails is retried in order. If the queue overflows
//!   (Redis unreachable for long), the dropped messages are covered by a
//!   [`Message::Resync`] on the control topic once Redis answers again.
//! - Both ways a message is bounded in bytes: one larger than
//!   [`MAX_MESSAGE_BYTES`] is neither published nor delivered (another
//!   instance is a trust boundary too), and the queue holds at most
//!   [`QUEUE_BYTES`]. Either way the message counts as lost, and its
//!   subscribers re-read from the database (messages are hints, never the
//!   record). What one received message may cost before it is looked at is
//!   Redis's to bound: its `client-output-buffer-limit` for pub/sub (32 MB by
//!   default) drops a subscriber that is sent more.
//!
//! `subscriber` holds the pub/sub side, `publisher` the publishing side; this
//! module starts both and is the [`Transport`] the bus talks to.

mod publisher;
mod subscriber;

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use futures_util::future::BoxFuture;
use redis::{aio::ConnectionManager, Client, IntoConnectionInfo};
use tokio::{
    sync::{mpsc, oneshot, watch},
    task::JoinHandle,
    time::timeout,
};

use super::{Hub, Transport};
use crate::realtime::message::{Message, Topic};
use publisher::{publish_loop, Outgoing};
use subscriber::{Command, Subscriber};

/// How often the pub/sub connection is PINGed.
pub const PING_EVERY: Duration = Duration::from_secs(3);
/// How long a PING, a SUBSCRIBE or a connection attempt may take.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);
/// Publications queued while Redis does not answer, before they are dropped.
const QUEUE: usize = 100_000;
/// Bytes of publications queued, before they are dropped.
pub const QUEUE_BYTES: usize = 64 * 1024 * 1024;
/// The largest message published or delivered (the largest the server makes,
/// an event with a 10,000-character message, is about 40 KB).
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

pub struct RedisTransport {
    prefix: String,
    commands: mpsc::UnboundedSender<Command>,
    outgoing: mpsc::Sender<Outgoing>,
    /// Set when a publication was dropped; cleared by publishing a resync.
    lost: Arc<AtomicBool>,
    /// Bytes of the publications queued.
    queued: Arc<AtomicUsize>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for RedisTransport {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl RedisTransport {
    /// Connects to Redis (failing when it does not answer in time) and
    /// starts the subscriber and the publisher.
    pub async fn connect(
        url: &str,
        prefix: &str,
        hub: Arc<Hub>,
    ) -> Result<RedisTransport, redis::RedisError> {
        let client = client(url)?;
        let (pubsub, publisher) = tokio::try_join!(
            answer(client.get_async_pubsub()),
            answer(ConnectionManager::new(client.clone()))
        )?;
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (outgoing, outgoing_rx) = mpsc::channel(QUEUE);
        let lost = Arc::new(AtomicBool::new(false));
        let queued = Arc::new(AtomicUsize::new(0));
        let subscriber = Subscriber {
            client,
            prefix: prefix.to_owned(),
            hub,
            commands: command_rx,
            wanted: HashSet::new(),
        };
        let tasks = vec![
            tokio::spawn(subscriber.run(pubsub)),
            tokio::spawn(publish_loop(
                publisher,
                outgoing_rx,
                lost.clone(),
                queued.clone(),
                Topic::Control.channel(prefix),
            )),
        ];
        Ok(RedisTransport {
            prefix: prefix.to_owned(),
            commands,
            outgoing,
            lost,
            queued,
            tasks,
        })
    }
}

impl Transport for RedisTransport {
    fn publish(&self, topic: Topic, message: Arc<Message>) {
        let payload = message.encode();
        let size = payload.len();
        if size > MAX_MESSAGE_BYTES {
            tracing::warn!(
                size,
                "a bus message is too large to publish; its subscribers resynchronise"
            );
            self.lost.store(true, Ordering::Relaxed);
            // Wakes the publisher, which publishes the resync with its next batch.
            let (ack, _) = oneshot::channel();
            let _ = self.outgoing.try_send(Outgoing::Flush(ack));
            return;
        }
        let item = Outgoing::Publish {
            channel: topic.channel(&self.prefix),
            payload,
        };
        let before = self.queued.fetch_add(size, Ordering::Relaxed);
        let full = before + size > QUEUE_BYTES;
        if full || self.outgoing.try_send(item).is_err() {
            self.queued.fetch_sub(size, Ordering::Relaxed);
            if !self.lost.swap(true, Ordering::Relaxed) {
                tracing::error!(
                    "Redis is not taking publications: dropping them; everyone resynchronises once it answers"
                );
            }
        }
    }

    fn listen(&self, topic: Topic, ready: watch::Sender<bool>) {
        let _ = self.commands.send(Command::Listen(topic, ready));
    }

    fn unlisten(&self, topic: Topic) {
        let _ = self.commands.send(Command::Unlisten(topic));
    }

    fn flush(&self, within: Duration) -> BoxFuture<'static, ()> {
        let outgoing = self.outgoing.clone();
        Box::pin(async move {
            let (ack, done) = oneshot::channel();
            let _ = timeout(within, async {
                if outgoing.send(Outgoing::Flush(ack)).await.is_ok() {
                    let _ = done.await;
                }
            })
            .await;
        })
    }
}

/// A client for `url` whose connections send small writes at once (Nagle's
/// algorithm would hold a publication back waiting for an acknowledgement).
pub fn client(url: &str) -> redis::RedisResult<Client> {
    let info = url.into_connection_info()?;
    let tcp = redis::io::tcp::TcpSettings::default().set_nodelay(true);
    Client::open(info.set_tcp_settings(tcp))
}

async fn answer<T>(
    attempt: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> redis::RedisResult<T> {
    timeout(ANSWER_WITHIN, attempt).await.unwrap_or_else(|_| {
        Err(redis::RedisError::from((
            redis::ErrorKind::Io,
            "Redis did not answer in time",
        )))
    })
}

/// Exponential backoff from 50 ms to 2 s, with jitter so instances do not reconnect in step.
struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: Duration::from_millis(50),
        }
    }
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let current = self.next;
        self.next = (self.next * 2).min(Duration::from_secs(2));
        let jitter = rand::random::<f64>() * 0.5 + 0.75;
        current.mul_f64(jitter)
    }
}
