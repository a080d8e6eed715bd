//! GraphQL over websockets on `/graphql`: graphql-transport-ws exactly as its
//! PROTOCOL.md says, and the legacy graphql-ws (subscriptions-transport-ws).
//!
//! async-graphql's own handler answers several protocol violations with the
//! wrong close codes and silently replaces a subscription whose id is reused,
//! so this module owns the protocol: `protocol` parses and renders frames,
//! `connection` runs one socket's state machine (init, auth, liveness, and
//! closing it when its token expires, its member loses access or the server
//! shuts down), `operation` runs one operation and frames its results,
//! `writer` writes a socket's frames (its own before results).

mod connection;
mod operation;
mod protocol;
mod writer;

use std::sync::Arc;

use tracing::Instrument;

use axum::{
    extract::ws::WebSocketUpgrade,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};

pub use protocol::Protocol;

use super::{caps::Live, HttpState};
use crate::graphql::context::RequestId;

/// Read buffer of a socket (tungstenite fills it whole on every read); it
/// grows for a larger message, up to the body limit.
const READ_BUFFER: usize = 1024;

/// Accepts the upgrade, unless the Origin is refused (clients that send no
/// Origin, such as servers and scripts, are not affected). A socket over
/// the client address's cap is accepted only to be closed with 4430 at
/// once: a browser's client would see nothing of a refused upgrade.
pub fn upgrade(
    state: Arc<HttpState>,
    headers: &HeaderMap,
    ws: WebSocketUpgrade,
    client_ip: String,
    request_id: RequestId,
) -> Response {
    if !origin_allowed(headers, &state.app.config.allowed_origins()) {
        return (StatusCode::FORBIDDEN, "this origin may not open websockets").into_response();
    }
    // Small buffers: most sockets are idle watchers, and tungstenite's
    // defaults (128 KiB each way) would cost more than everything else a
    // watcher holds. Frames are written through at once (no write buffer),
    // whatever their size; what waits for a slow reader is bounded by the
    // socket's queue of frames instead.
    let ws = ws
        .protocols([Protocol::TransportWs.name(), Protocol::LegacyWs.name()])
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(state.app.config.limits.max_body_bytes)
        .max_frame_size(state.app.config.limits.max_body_bytes);
    let protocol = ws
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .and_then(Protocol::from_name);
    // The socket outlives the upgrade request and its span: it gets its own,
    // with the upgrade's request id.
    let span = tracing::error_span!("socket", request_id = %request_id.0);
    // Counted from the upgrade: a place is held while the socket is open,
    // and given back with it (or with the upgrade, if it never completes).
    let place = state
        .app
        .live
        .admit_address(Live::Websocket, &client_ip)
        .inspect_err(|refused| crate::telemetry::rate_limited(refused.limit()));
    ws.on_upgrade(move |socket| {
        connection::run(socket, protocol, place, state, client_ip, request_id).instrument(span)
    })
}

/// An Origin is allowed when it is listed in `ATELYA_CORS_ORIGINS` or is the
/// server's own (same scheme-less host as the Host header).
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let origin = origin.trim_end_matches('/');
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// Whether a request asks to upgrade to a websocket.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn origins_are_listed_or_same_origin_or_absent() {
        let allowed = vec!["https://app.example.com".to_owned()];
        assert!(origin_allowed(&headers(None, "api.example.com"), &allowed));
        assert!(origin_allowed(
            &headers(Some("https://app.example.com"), "api.example.com"),
            &allowed
        ));
        assert!(origin_allowed(
            &headers(Some("http://api.example.com"), "api.example.com"),
            &allowed
        ));
        assert!(!origin_allowed(
            &headers(Some("https://evil.example.com"), "api.example.com"),
            &allowed
        ));
        assert!(!origin_allowed(
            &headers(Some("https://app.example.com"), "api.example.com"),
            &[]
        ));
    }
}
