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

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use futures_util::{future::BoxFuture, StreamExt};
use redis::{aio::ConnectionManager, Client, IntoConnectionInfo};
use tokio::{
    sync::{mpsc, oneshot, watch},
    task::JoinHandle,
    time::{interval, sleep, timeout, MissedTickBehavior},
};

use super::{Hub, Transport};
use crate::realtime::message::{Message, Topic};

/// How often the pub/sub connection is PINGed.
pub const PING_EVERY: Duration = Duration::from_secs(3);
/// How long a PING, a SUBSCRIBE or a connection attempt may take.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);
/// Publications queued while Redis does not answer, before they are dropped.
const QUEUE: usize = 100_000;
/// Publications pipelined together.
const BATCH: usize = 256;

enum Command {
    Listen(Topic, watch::Sender<bool>),
    Unlisten(Topic),
}

enum Outgoing {
    Publish {
        channel: String,
        payload: Vec<u8>,
    },
    /// Answered once everything queued before it was published.
    Flush(oneshot::Sender<()>),
}

pub struct RedisTransport {
    prefix: String,
    commands: mpsc::UnboundedSender<Command>,
    outgoing: mpsc::Sender<Outgoing>,
    /// Set when a publication was dropped; cleared by publishing a resync.
    lost: Arc<AtomicBool>,
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
                Topic::Control.channel(prefix),
            )),
        ];
        Ok(RedisTransport {
            prefix: prefix.to_owned(),
            commands,
            outgoing,
            lost,
            tasks,
        })
    }
}

impl Transport for RedisTransport {
    fn publish(&self, topic: Topic, message: Arc<Message>) {
        let item = Outgoing::Publish {
            channel: topic.channel(&self.prefix),
            payload: message.encode(),
        };
        if self.outgoing.try_send(item).is_err() && !self.lost.swap(true, Ordering::Relaxed) {
            tracing::error!(
                "Redis is not taking publications: dropping them; everyone resynchronises once it answers"
            );
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

/// Owns the one pub/sub connection.
struct Subscriber {
    client: Client,
    prefix: String,
    hub: Arc<Hub>,
    commands: mpsc::UnboundedReceiver<Command>,
    /// Topics with local subscribers: what a new connection subscribes to.
    wanted: HashSet<Topic>,
}

impl Subscriber {
    async fn run(mut self, first: redis::aio::PubSub) {
        let mut connection = Some(first);
        let mut backoff = Backoff::default();
        loop {
            let pubsub = match connection.take() {
                Some(pubsub) => pubsub,
                None => match answer(self.client.get_async_pubsub()).await {
                    Ok(pubsub) => pubsub,
                    Err(err) => {
                        tracing::warn!(error = %err, "Redis pub/sub: reconnecting failed; retrying");
                        self.wait_disconnected(backoff.next()).await;
                        continue;
                    }
                },
            };
            match self.serve(pubsub).await {
                Ok(()) => return,
                Err(reason) => {
                    tracing::warn!(%reason, "Redis pub/sub connection lost; reconnecting");
                    backoff = Backoff::default();
                    self.wait_disconnected(backoff.next()).await;
                }
            }
        }
    }

    /// Runs one connection until it fails (`Err`) or the transport is dropped (`Ok`).
    async fn serve(&mut self, pubsub: redis::aio::PubSub) -> Result<(), String> {
        let (mut sink, mut stream) = pubsub.split();
        let channels: Vec<String> = self
            .wanted
            .iter()
            .map(|t| t.channel(&self.prefix))
            .collect();
        if !channels.is_empty() {
            answer(sink.subscribe(&channels))
                .await
                .map_err(|e| format!("resubscribing failed: {e}"))?;
        }
        // Whatever was published while this instance was not subscribed is
        // in the database: every local subscriber re-reads it now.
        self.hub.resync_all();
        let mut ping = interval(PING_EVERY);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ping.tick().await;
        loop {
            tokio::select! {
                message = stream.next() => match message {
                    Some(message) => self.deliver(&message),
                    None => return Err("the connection closed".into()),
                },
                command = self.commands.recv() => match command {
                    None => return Ok(()),
                    Some(Command::Listen(topic, ready)) => {
                        self.wanted.insert(topic);
                        let subscribed = answer(sink.subscribe(topic.channel(&self.prefix))).await;
                        // Even on failure: the reconnection that follows resynchronises.
                        let _ = ready.send(true);
                        subscribed.map_err(|e| format!("SUBSCRIBE failed: {e}"))?;
                    }
                    Some(Command::Unlisten(topic)) => {
                        self.wanted.remove(&topic);
                        answer(sink.unsubscribe(topic.channel(&self.prefix)))
                            .await
                            .map_err(|e| format!("UNSUBSCRIBE failed: {e}"))?;
                    }
                },
                _ = ping.tick() => {
                    answer(sink.ping::<redis::Value>())
                        .await
                        .map_err(|e| format!("PING failed: {e}"))?;
                }
            }
        }
    }

    fn deliver(&self, message: &redis::Msg) {
        let Some(topic) = Topic::from_channel(&self.prefix, message.get_channel_name()) else {
            return;
        };
        match Message::decode(message.get_payload_bytes()) {
            Some(decoded) => self.hub.deliver(topic, Arc::new(decoded)),
            None => tracing::warn!(
                channel = message.get_channel_name(),
                "undecodable bus message ignored"
            ),
        }
    }

    /// Waits `delay` while disconnected, keeping track of subscriptions (a
    /// subscriber is let go at once: the reconnection resynchronises it).
    async fn wait_disconnected(&mut self, delay: Duration) {
        let deadline = tokio::time::Instant::now() + delay;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                command = self.commands.recv() => match command {
                    None => return,
                    Some(Command::Listen(topic, ready)) => {
                        self.wanted.insert(topic);
                        let _ = ready.send(true);
                    }
                    Some(Command::Unlisten(topic)) => {
                        self.wanted.remove(&topic);
                    }
                },
            }
        }
    }
}

/// Publishes queued messages in order, in pipelined batches, retrying a
/// failed batch until Redis takes it.
async fn publish_loop(
    mut connection: ConnectionManager,
    mut queue: mpsc::Receiver<Outgoing>,
    lost: Arc<AtomicBool>,
    control: String,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        let mut backoff = Backoff::default();
        let mut pipe = redis::pipe();
        let mut commands = 0;
        for item in &batch {
            if let Outgoing::Publish { channel, payload } = item {
                pipe.publish(channel, payload).ignore();
                commands += 1;
            }
        }
        // Taken now: a drop while this batch is retried asks for another resync.
        if lost.swap(false, Ordering::Relaxed) {
            pipe.publish(&control, Message::Resync.encode()).ignore();
            commands += 1;
        }
        // A batch of flushes alone sends nothing (Redis refuses an empty pipeline).
        if commands > 0 {
            while let Err(err) = pipe.query_async::<()>(&mut connection).await {
                tracing::warn!(error = %err, "publishing to Redis failed; retrying");
                sleep(backoff.next()).await;
            }
        }
        for item in batch.drain(..) {
            if let Outgoing::Flush(ack) = item {
                let _ = ack.send(());
            }
        }
    }
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
