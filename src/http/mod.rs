//! The HTTP surface: `/graphql` (GET, POST, websockets and server-sent events), `/exports/{id}`
//! (downloads), `/healthz`, `/readyz` and, outside production, `/metrics`
//! and the pages (`/graphiql`, `/live`),
//! with CORS, a request id and request metrics on every request.
//! `serve` accepts connections within bounds; `caps` counts what each
//! user and client address holds open (connections, websockets, streams).

pub mod caps;
pub mod download;
pub mod graphql;
pub mod health;
pub mod negotiate;
pub mod pages;
pub mod persisted;
pub mod request;
pub mod request_id;
pub mod serve;
pub mod sse;
pub mod ws;

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::DefaultBodyLimit,
    http::{header, HeaderMap, HeaderValue, Method},
    routing::get,
    Router,
};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{graphql::AppSchema, state::SharedState, telemetry};

/// What the handlers share.
#[derive(Clone)]
pub struct HttpState {
    pub app: SharedState,
    pub schema: AppSchema,
    /// Documents clients may send by hash.
    pub persisted: Arc<persisted::PersistedDocuments>,
}

pub fn router(
    app: SharedState,
    schema: AppSchema,
    persisted: persisted::PersistedDocuments,
) -> Router {
    let body_limit = app.config.limits.max_body_bytes;
    let cors = cors(&app.config.allowed_origins());
    let mut router = Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/exports/{id}", get(download::export))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    if app.config.metrics_bind.is_none() && !app.config.is_production() {
        router = router.route("/metrics", get(telemetry::metrics).with_state(app.clone()));
    }
    if app.config.serves_pages() {
        router = router.merge(pages::router());
    }
    router
        .route_layer(axum::middleware::from_fn(telemetry::track_http))
        // The handler reads the body itself and answers an oversized one with a GraphQL error.
        .layer(DefaultBodyLimit::max(body_limit))
        // A body trickled in, or an answer that never begins, ends here (a
        // stream's answer begins at once, so streams are not cut short).
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            std::time::Duration::from_secs(app.config.limits.request_timeout_secs.max(1)),
        ))
        .layer(cors)
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(Arc::new(HttpState {
            app,
            schema,
            persisted: Arc::new(persisted),
        }))
}

/// The router of the separate metrics address (`ATELYA_METRICS_BIND`).
pub fn metrics_router(app: SharedState) -> Router {
    Router::new()
        .route("/metrics", get(telemetry::metrics))
        .with_state(app)
}

/// CORS for SPA frontends: exactly the configured origins, with the
/// Authorization and Content-Type headers. No origins means same origin only.
fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        // What a frontend reads: an export's file name, the request id, the cost budget.
        .expose_headers([
            header::CONTENT_DISPOSITION,
            header::RETRY_AFTER,
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("ratelimit-limit"),
            header::HeaderName::from_static("ratelimit-remaining"),
            header::HeaderName::from_static("ratelimit-reset"),
            header::HeaderName::from_static("ratelimit-policy"),
        ])
        .max_age(std::time::Duration::from_secs(600))
}

/// The client's address: the socket's, or with a trusted proxy the address
/// that proxy appended last to X-Forwarded-For (earlier entries are the
/// client's own claims and can be forged). What the proxy appended must be
/// an address: anything else (a proxy that passes the header through as
/// sent) counts as the proxy's own, so no key is ever text a client chose.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trust_proxy: bool) -> String {
    if trust_proxy {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|s| !s.is_empty())
            .and_then(|s| s.parse::<std::net::IpAddr>().ok());
        if let Some(ip) = forwarded {
            return ip.to_canonical().to_string();
        }
    }
    peer.ip().to_canonical().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_address_the_trusted_proxy_appended_is_the_clients() {
        let peer: SocketAddr = "10.0.0.2:4000".parse().unwrap();
        let forwarded = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("x-forwarded-for", value.parse().unwrap());
            headers
        };
        let from = |value: &str| client_ip(peer, &forwarded(value), true);
        assert_eq!(from("198.51.100.7, 203.0.113.2"), "203.0.113.2");
        assert_eq!(from("::ffff:203.0.113.2"), "203.0.113.2");
        assert_eq!(from("2001:db8::1"), "2001:db8::1");
        assert_eq!(from(&"x".repeat(5000)), "10.0.0.2", "not an address");
        assert_eq!(from("203.0.113.2, anything"), "10.0.0.2");
        assert_eq!(
            client_ip(peer, &forwarded("203.0.113.2"), false),
            "10.0.0.2"
        );
    }
}
