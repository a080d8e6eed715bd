//! Connections within bounds: a client cannot hold more than its share of
//! connections, nor keep one by sending its headers or its body slowly.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::*;

/// Whether the server closed `stream` within `within` (it reads its end).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_holds_at_most_its_share_of_connections() {
    let app = spawn_app(
        Backend::Sqlite,
        Box::new(|c| c.limits.max_connections_per_address = 3),
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(app.addr).await.unwrap());
    }
    // Served: the three are open and answer.
    held[0]
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 64];
    let n = held[0].read(&mut answer).await.unwrap();
    assert!(
        answer[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&answer[..n])
    );
    let mut fourth = TcpStream::connect(app.addr).await.unwrap();
    assert!(
        closed_within(&mut fourth, Duration::from_secs(2)).await,
        "a fourth connection was kept"
    );
    // Once one closes, there is room again.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = TcpStream::connect(app.addr).await.unwrap();
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let n = again.read(&mut answer).await.unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_sent_too_slowly_lose_their_connection() {
    let app = spawn_app(
        Backend::Sqlite,
        Box::new(|c| c.limits.header_read_timeout_secs = 1),
    )
    .await;
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let trickle = async {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if slow.write_all(b"x-slow: 1\r\n").await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), trickle).await;
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    assert!(
        closed_within(&mut idle, Duration::from_secs(3)).await,
        "an idle connection was kept"
    );
    assert!(started.elapsed() < Duration::from_secs(6));
    assert!(
        closed_within(&mut slow, Duration::from_secs(1)).await,
        "a trickling head was kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_too_slowly_is_cut_off() {
    let app = spawn_app(
        Backend::Sqlite,
        Box::new(|c| c.limits.request_timeout_secs = 1),
    )
    .await;
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{").await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buffer = [0u8; 256];
        loop {
            match slow.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buffer[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer to a body that never came");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        answer.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}
