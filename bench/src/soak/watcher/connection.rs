//! A watcher's connection: opening a socket past `connection_ack`, and
//! where and when it tries again after a drop, as the graphql-ws reference
//! client does by default.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::json;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use super::Phase;
use crate::watch::{try_connect, Socket};

/// How long connecting, and the `connection_ack`, may take.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// The watcher's socket, and where it connects next.
pub struct Connection {
    pub socket: Option<Socket>,
    /// Where its watches start.
    home: usize,
    /// The instance the next attempt goes to.
    instance: usize,
    /// A socket dropped (or an attempt failed) before: the next attempt waits first.
    retrying: bool,
    /// Failed attempts since the last `connection_ack`.
    retries: u32,
}

impl Connection {
    /// A watcher's connection, at home on instance `home`.
    pub fn new(home: usize) -> Connection {
        Connection {
            socket: None,
            home,
            instance: home,
            retrying: false,
            retries: 0,
        }
    }

    /// The socket dropped: the next attempt waits, and goes to the other instance.
    pub fn dropped(&mut self) {
        self.socket = None;
        self.retrying = true;
        self.instance = 1 - self.instance;
    }

    /// Closes the socket (its subscription completed); the next one opens at home.
    pub async fn close(&mut self) {
        if let Some(mut socket) = self.socket.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), socket.close(None)).await;
        }
        self.instance = self.home;
        self.retrying = false;
        self.retries = 0;
    }

    /// Opens a socket (after the reference client's wait, when retrying);
    /// false when this attempt failed.
    pub async fn connect(
        &mut self,
        urls: &[String; 2],
        token: &str,
        phase: &mut watch::Receiver<Phase>,
    ) -> bool {
        if self.retrying {
            tokio::select! {
                _ = tokio::time::sleep(self.wait()) => {}
                _ = phase.changed() => {}
            }
        }
        match tokio::time::timeout(HANDSHAKE, open(&urls[self.instance], token)).await {
            Ok(Some(socket)) => {
                self.socket = Some(socket);
                self.retries = 0;
                true
            }
            _ => {
                self.retries += 1;
                self.dropped();
                false
            }
        }
    }

    /// graphql-ws's default `retryWait`: 2^retries seconds, plus 0.3 to 3 s.
    fn wait(&self) -> Duration {
        let jitter = rand::thread_rng().gen_range(300..3000);
        Duration::from_millis((1000u64 << self.retries.min(5)) + jitter)
    }
}

/// A socket past `connection_ack`, or `None`.
async fn open(url: &str, token: &str) -> Option<Socket> {
    let mut socket = try_connect(url, Some("graphql-transport-ws")).await.ok()?;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    socket
        .send(Message::Text(init.to_string().into()))
        .await
        .ok()?;
    loop {
        match socket.next().await? {
            Ok(Message::Text(text)) if text.contains("connection_ack") => return Some(socket),
            Ok(Message::Text(_)) | Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}
