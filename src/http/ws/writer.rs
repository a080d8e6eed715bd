//! A socket's writer: the one task that writes its frames.
//!
//! Two queues feed it. Operations' results wait in a bounded queue (an
//! operation waits when it is full, so a slow reader cannot grow the
//! server's memory; a watcher that waits too long catches up from the
//! database). The connection's own frames (acknowledgements, pongs, errors,
//! pings and the close frame) go first, so a slow reader's backlog never
//! holds up a close; once the close frame is written, whatever results are
//! still queued are dropped.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{stream::SplitSink, SinkExt};
use tokio::{sync::mpsc, sync::Notify, time::timeout};

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
    mut results: mpsc::Receiver<Out>,
    write_timeout: Duration,
) {
    loop {
        let out = match urgent.pop() {
            Some(out) => out,
            None => tokio::select! {
                biased;
                _ = urgent.added.notified() => continue,
                result = results.recv() => match result {
                    Some(out) => out,
                    // No operation can send any more: what is left is the connection's.
                    None => match urgent.pop() {
                        Some(out) => out,
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
