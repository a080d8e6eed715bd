//! The publisher: one task that sends queued publications to Redis in
//! pipelined batches, in order, and answers flushes.

use std::sync::{
    atomic::{AtomicBool, AtomicUsize, Ordering},
    Arc,
};

use redis::aio::ConnectionManager;
use tokio::{
    sync::{mpsc, oneshot},
    time::sleep,
};

use super::Backoff;
use crate::realtime::message::Message;

/// Publications pipelined together.
const BATCH: usize = 256;

pub(super) enum Outgoing {
    Publish {
        channel: String,
        payload: Vec<u8>,
    },
    /// Answered once everything queued before it was published.
    Flush(oneshot::Sender<()>),
}

/// Publishes queued messages in order, in pipelined batches, retrying a
/// failed batch until Redis takes it.
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn publish_loop(
    mut connection: ConnectionManager,
    mut queue: mpsc::Receiver<Outgoing>,
    lost: Arc<AtomicBool>,
    queued: Arc<AtomicUsize>,
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
            match item {
                Outgoing::Flush(ack) => {
                    let _ = ack.send(());
                }
                Outgoing::Publish { payload, .. } => {
                    queued.fetch_sub(payload.len(), Ordering::Relaxed);
                }
            }
        }
    }
}
