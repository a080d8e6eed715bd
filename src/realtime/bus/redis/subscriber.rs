//! The subscriber: the one pub/sub connection, its SUBSCRIBEs and PINGs, and
//! reconnecting (then resynchronising every local subscriber) when it fails.

use std::{collections::HashSet, sync::Arc, time::Duration};

use futures_util::StreamExt;
use redis::Client;
use tokio::{
    sync::{mpsc, watch},
    time::{interval, MissedTickBehavior},
};

use super::{answer, Backoff, MAX_MESSAGE_BYTES, PING_EVERY};
use crate::realtime::{
    bus::Hub,
    message::{Message, Topic},
};

pub(super) enum Command {
    Listen(Topic, watch::Sender<bool>),
    Unlisten(Topic),
}

/// Owns the one pub/sub connection.
pub(super) struct Subscriber {
    pub(super) client: Client,
    pub(super) prefix: String,
    pub(super) hub: Arc<Hub>,
    pub(super) commands: mpsc::UnboundedReceiver<Command>,
    /// Topics with local subscribers: what a new connection subscribes to.
    pub(super) wanted: HashSet<Topic>,
}

impl Subscriber {
    pub(super) async fn run(mut self, first: redis::aio::PubSub) {
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
        let payload = message.get_payload_bytes();
        if payload.len() > MAX_MESSAGE_BYTES {
            tracing::warn!(
                channel = message.get_channel_name(),
                size = payload.len(),
                "a bus message over the size limit ignored; its subscribers resynchronise"
            );
            self.hub.resync(topic);
            return;
        }
        match Message::decode(payload) {
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
