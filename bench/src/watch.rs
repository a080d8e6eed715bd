//! Watchers: opening them, and measuring what each receives.
//!
//! Every frame carries its event's `seq` and `at` (Atelya's `at` is taken
//! in the event's transaction just before it commits; the baseline's is
//! stamped by the driver just before it publishes), so a watcher measures
//! latency as its receive time minus `at`, and checks that seqs arrive
//! once each, in order, with no gap.

use std::time::{Duration, Instant, SystemTime};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::{
    tungstenite::{
        client::IntoClientRequest, http::HeaderValue, protocol::WebSocketConfig, Message,
    },
    MaybeTlsStream, WebSocketStream,
};

use crate::api::SUBSCRIPTION;

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where watchers connect.
pub enum Target {
    Atelya {
        url: String,
        token: String,
        workroom: String,
        /// Watchers replay the one event after this seq, which proves them subscribed.
        after: i64,
    },
    Baseline {
        url: String,
    },
}

/// Opens `n` watchers, `concurrency` at a time; each has proved itself
/// subscribed (received its first frame) when this returns.
pub async fn open(target: &Target, n: usize, concurrency: usize) -> Vec<Socket> {
    futures_util::stream::iter(0..n)
        .map(|_| open_one(target))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

async fn connect(url: &str, protocol: Option<&str>) -> Socket {
    let mut attempts = 0;
    loop {
        match try_connect(url, protocol).await {
            Ok(socket) => return socket,
            Err(err) => {
                attempts += 1;
                assert!(attempts < 20, "connecting a watcher failed: {err}");
                tokio::time::sleep(Duration::from_millis(50 * attempts)).await;
            }
        }
    }
}

/// Opens one websocket, once.
pub async fn try_connect(
    url: &str,
    protocol: Option<&str>,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let mut request = url.into_client_request()?;
    if let Some(protocol) = protocol {
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(protocol).expect("a header value"),
        );
    }
    // Small client buffers: the bench holds thousands of sockets on the same machine.
    let config = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0);
    let (socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), false).await?;
    Ok(socket)
}

async fn open_one(target: &Target) -> Socket {
    match target {
        Target::Baseline { url } => {
            let mut socket = connect(url, None).await;
            let ready = next_text(&mut socket, Duration::from_secs(30)).await;
            assert_eq!(ready.as_deref(), Some("ready"));
            socket
        }
        Target::Atelya {
            url,
            token,
            workroom,
            after,
        } => {
            let mut socket = connect(url, Some("graphql-transport-ws")).await;
            let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
            socket
                .send(Message::Text(init.to_string().into()))
                .await
                .unwrap();
            let ack = next_text(&mut socket, Duration::from_secs(30))
                .await
                .unwrap();
            assert!(ack.contains("connection_ack"), "{ack}");
            // Ids as the graphql-ws client makes them: one per subscription.
            let id = uuid::Uuid::now_v7().simple().to_string();
            let subscribe = json!({ "type": "subscribe", "id": id, "payload": {
                "query": SUBSCRIPTION, "operationName": "Watch",
                "variables": { "w": workroom, "after": after } } });
            socket
                .send(Message::Text(subscribe.to_string().into()))
                .await
                .unwrap();
            let first = next_text(&mut socket, Duration::from_secs(60))
                .await
                .unwrap();
            assert_eq!(scan(&first).map(|f| f.seq), Some(after + 1), "{first}");
            socket
        }
    }
}

async fn next_text(socket: &mut Socket, within: Duration) -> Option<String> {
    loop {
        match tokio::time::timeout(within, socket.next()).await.ok()?? {
            Ok(Message::Text(text)) => return Some(text.to_string()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// What a frame says.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub seq: i64,
    /// Microseconds since the epoch.
    pub at_us: i64,
    pub completed: bool,
}

/// Reads `seq`, `at` and whether the workroom completed, without parsing the whole frame.
pub fn scan(text: &str) -> Option<Frame> {
    let seq = text.split_once("\"seq\":")?.1;
    let digits: String = seq.chars().take_while(char::is_ascii_digit).collect();
    let at = text.split_once("\"at\":\"")?.1.split_once('"')?.0;
    Some(Frame {
        seq: digits.parse().ok()?,
        at_us: chrono::DateTime::parse_from_rfc3339(at)
            .ok()?
            .timestamp_micros(),
        completed: text.contains("\"state\":\"COMPLETED\""),
    })
}

pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

/// What one watcher received.
pub struct Outcome {
    pub latencies_us: Vec<u32>,
    pub received: u64,
    /// Every seq once, in order, with no gap.
    pub in_order: bool,
    pub completed: bool,
    pub first: Option<Instant>,
    pub last: Option<Instant>,
}

/// A watcher reading its socket from the moment it is open (it must: the
/// server counts a socket that does not answer its pings as gone).
pub type Watcher = tokio::task::JoinHandle<(Outcome, Socket)>;

/// Starts reading every socket until its run completes (or `within`
/// passes); the first frame each expects has seq `from`.
pub fn listen(sockets: Vec<Socket>, from: i64, within: Duration) -> Vec<Watcher> {
    let deadline = tokio::time::Instant::now() + within;
    sockets
        .into_iter()
        .map(|socket| tokio::spawn(receive(socket, from, deadline)))
        .collect()
}

/// What every watcher received, with its socket, still open.
pub async fn measure(watchers: Vec<Watcher>) -> Vec<(Outcome, Socket)> {
    let mut outcomes = Vec::with_capacity(watchers.len());
    for watcher in watchers {
        outcomes.push(watcher.await.expect("a watcher task"));
    }
    outcomes
}

async fn receive(
    mut socket: Socket,
    from: i64,
    deadline: tokio::time::Instant,
) -> (Outcome, Socket) {
    let mut outcome = Outcome {
        latencies_us: Vec::with_capacity(256),
        received: 0,
        in_order: true,
        completed: false,
        first: None,
        last: None,
    };
    let mut expected = from;
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, socket.next()).await {
        let Message::Text(text) = message else {
            continue;
        };
        let Some(frame) = scan(&text) else { continue };
        let now = Instant::now();
        outcome
            .latencies_us
            .push((now_us() - frame.at_us).clamp(0, u32::MAX as i64) as u32);
        outcome.first.get_or_insert(now);
        outcome.last = Some(now);
        outcome.received += 1;
        outcome.in_order &= frame.seq == expected;
        expected = frame.seq + 1;
        if frame.completed {
            outcome.completed = true;
            break;
        }
    }
    (outcome, socket)
}

/// Records the frames one watcher receives, with their offsets from the
/// first, until the run completes (what the baseline then replays).
pub async fn record(mut socket: Socket, within: Duration) -> Vec<(Duration, String)> {
    let deadline = tokio::time::Instant::now() + within;
    let mut frames = Vec::new();
    let mut start = None;
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, socket.next()).await {
        let Message::Text(text) = message else {
            continue;
        };
        let start = *start.get_or_insert_with(Instant::now);
        let completed = scan(&text).is_some_and(|f| f.completed);
        frames.push((start.elapsed(), text.to_string()));
        if completed {
            break;
        }
    }
    frames
}

/// Sends `frames` to the baseline's `/publish` at their recorded pace,
/// each stamped with the time it is sent.
pub async fn publish(url: String, frames: Vec<(Duration, String)>) {
    let mut socket = connect(&url, None).await;
    let start = tokio::time::Instant::now();
    for (offset, text) in frames {
        tokio::time::sleep_until(start + offset).await;
        let stamped = stamp(&text);
        socket.send(Message::Text(stamped.into())).await.unwrap();
    }
    let _ = socket.close(None).await;
}

/// The frame with its `at` set to now, in Atelya's format.
fn stamp(text: &str) -> String {
    let Some((head, rest)) = text.split_once("\"at\":\"") else {
        return text.to_owned();
    };
    let Some((_, tail)) = rest.split_once('"') else {
        return text.to_owned();
    };
    let now = chrono::Utc::now().to_rfc3339();
    format!("{head}\"at\":\"{now}\"{tail}")
}

/// Closes every socket, as watchers leaving.
pub async fn close_all(sockets: Vec<Socket>) {
    futures_util::future::join_all(sockets.into_iter().map(|mut socket| async move {
        let _ = tokio::time::timeout(Duration::from_secs(5), socket.close(None)).await;
    }))
    .await;
}
