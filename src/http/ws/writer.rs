//! A socket's writer: the one task that writes its frames.
//!
//! Two queues feed it. Operations' results wait in a queue bounded in
//! frames and in bytes ([`Results`]: an operation waits when either is
//! full, so a slow reader cannot grow the server's memory; a watcher that
//! waits too long catches up from the database). The connection's own
//! frames (acknowledgements, pongs, errors, pings and the close frame) go
//! first, so a slow reader's backlog never holds up a close; once the close
//! frame is written, whatever results are still queued are dropped.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{stream::SplitSink, SinkExt};
use tokio::{
    sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore},
    time::timeout,
};

/// How long the close handshake's last steps may take.
pub const CLOSE_WITHIN: Duration = Duration::from_secs(1);
/// The connection's own frames held at once; a client that sends pings but
/// reads nothing loses the pongs beyond this.
const URGENT_MAX: usize = 32;

/// A frame for the writer.
pub enum Out {
    Text(String),
    Ping,
    Close(u16, String),
}

impl Out {
    /// The bytes the frame holds while it waits.
    fn size(&self) -> usize {
        match self {
            Out::Text(text) | Out::Close(_, text) => text.len(),
            Out::Ping => 0,
        }
    }
}

/// A result waiting to be written, holding its share of the byte budget.
pub struct Queued(Out, OwnedSemaphorePermit);

/// The operations' side of the results queue: at most `frames` frames and
/// `bytes` bytes wait at once. A frame larger than the whole budget waits
/// until the queue is empty and then goes alone.
#[derive(Clone)]
pub struct Results {
    frames: mpsc::Sender<Queued>,
    bytes: Arc<Semaphore>,
    budget: u32,
}

/// The writer is gone: nothing more can be sent.
#[derive(Debug)]
pub struct Gone;

impl Results {
    pub fn new(frames: usize, bytes: usize) -> (Results, mpsc::Receiver<Queued>) {
        let budget = u32::try_from(bytes.clamp(1, Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
        let (tx, rx) = mpsc::channel(frames.max(1));
        let results = Results {
            frames: tx,
            bytes: Arc::new(Semaphore::new(budget as usize)),
            budget,
        };
        (results, rx)
    }

    /// Queues a frame, waiting until there is room for it.
    pub async fn send(&self, out: Out) -> Result<(), Gone> {
        let size = u32::try_from(out.size()).unwrap_or(u32::MAX);
        let share = size.clamp(1, self.budget);
        let permit = self.bytes.clone().acquire_many_owned(share).await;
        let permit = permit.map_err(|_| Gone)?;
        self.frames
            .send(Queued(out, permit))
            .await
            .map_err(|_| Gone)
    }
}

/// The connection's own frames, written before queued results.
#[derive(Default)]
pub struct Urgent {
    frames: Mutex<VecDeque<Out>>,
    added: Notify,
}

impl Urgent {
    /// Queues a frame of the connection's own (dropped if too many wait).
    pub fn push(&self, out: Out) {
        let mut frames = self.frames.lock().expect("urgent frames");
        if frames.len() < URGENT_MAX || matches!(out, Out::Close(..)) {
            frames.push_back(out);
        }
        drop(frames);
        self.added.notify_one();
    }

    fn pop(&self) -> Option<Out> {
        self.frames.lock().expect("urgent frames").pop_front()
    }
}

/// Writes frames until the close frame is written or nothing can come any
/// more; gives a frame `write_timeout` to be written before giving up on the socket.
pub async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    urgent: Arc<Urgent>,
    mut results: mpsc::Receiver<Queued>,
    write_timeout: Duration,
) {
    loop {
        // A result's share of the byte budget is given back once it is written.
        let (out, _share) = match urgent.pop() {
            Some(out) => (out, None),
            None => tokio::select! {
                biased;
                _ = urgent.added.notified() => continue,
                result = results.recv() => match result {
                    Some(Queued(out, share)) => (out, Some(share)),
                    // No operation can send any more: what is left is the connection's.
                    None => match urgent.pop() {
                        Some(out) => (out, None),
                        None => break,
                    },
                },
            },
        };
        let (frame, last) = match out {
            Out::Text(text) => (Message::Text(Utf8Bytes::from(text)), false),
            Out::Ping => (Message::Ping(Default::default()), false),
            Out::Close(code, reason) => (
                Message::Close(Some(CloseFrame {
                    code,
                    reason: Utf8Bytes::from(reason),
                })),
                true,
            ),
        };
        match timeout(write_timeout, sink.send(frame)).await {
            Ok(Ok(())) if !last => {}
            _ => break,
        }
    }
    let _ = timeout(CLOSE_WITHIN, sink.close()).await;
}
