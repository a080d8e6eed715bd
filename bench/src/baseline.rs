//! The baseline: the least a websocket server can do to broadcast frames.
//!
//! `/watch` sockets subscribe to one `tokio::sync::broadcast` channel (the
//! server says `ready` once a socket is subscribed); every text message
//! the driver sends on `/publish` goes to all of them, as the same bytes.
//! Stock axum settings throughout.

use std::net::SocketAddr;

use axum::{
    extract::{
        ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade},
        State,
    },
    response::Response,
    routing::get,
    Router,
};
use tokio::sync::broadcast;

type Frames = broadcast::Sender<Utf8Bytes>;

pub async fn serve(bind: SocketAddr) {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .expect("bind the baseline server");
    println!("listening {}", listener.local_addr().unwrap());
    let (frames, _) = broadcast::channel::<Utf8Bytes>(1024);
    let app = Router::new()
        .route("/watch", get(watch))
        .route("/publish", get(publish))
        .with_state(frames);
    axum::serve(listener, app).await.expect("serve");
}

async fn watch(ws: WebSocketUpgrade, State(frames): State<Frames>) -> Response {
    ws.on_upgrade(move |socket| forward(socket, frames.subscribe()))
}

async fn forward(mut socket: WebSocket, mut frames: broadcast::Receiver<Utf8Bytes>) {
    if socket.send(Message::Text("ready".into())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Ok(frame) => {
                    if socket.send(Message::Text(frame)).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn publish(ws: WebSocketUpgrade, State(frames): State<Frames>) -> Response {
    ws.on_upgrade(move |mut socket| async move {
        while let Some(Ok(message)) = socket.recv().await {
            if let Message::Text(text) = message {
                let _ = frames.send(text);
            }
        }
    })
}
