//! Pages a person opens: GraphiQL at `/graphiql` and the live workroom page
//! at `/live`, with their assets under `/assets/`. On by default in
//! development and off in production (`ATELYA_PAGES`).
//!
//! Everything is compiled into the binary: the pages are plain HTML and
//! JavaScript, and the libraries (GraphiQL, React, the graphql-ws client)
//! are vendored at pinned versions from npm (`assets/vendor/README.md`), so
//! nothing is fetched from a CDN, at build time or at run time.
//!
//! A page holds a bearer token, so it runs nothing it did not load from
//! this server: its Content-Security-Policy ([`policy`]) allows scripts,
//! styles and connections to this origin only (and its websockets), no
//! inline script at all, and no framing; its Referrer-Policy sends no
//! address (a `/live?workroom=…` one included) to anywhere it links.

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

use super::HttpState;
use crate::{config::Config, graphql::context::PublicBase};

/// One served file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $path:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $path)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

static ASSETS: [Asset; 9] = [
    asset!("graphiql.min.js", "vendor/graphiql.min.js", JS),
    asset!("graphiql.min.css", "vendor/graphiql.min.css", CSS),
    asset!(
        "react.production.min.js",
        "vendor/react.production.min.js",
        JS
    ),
    asset!(
        "react-dom.production.min.js",
        "vendor/react-dom.production.min.js",
        JS
    ),
    asset!("graphql-ws.min.js", "vendor/graphql-ws.min.js", JS),
    asset!("graphiql-page.js", "graphiql-page.js", JS),
    asset!("graphiql-page.css", "graphiql-page.css", CSS),
    asset!("live.js", "live.js", JS),
    asset!("live.css", "live.css", CSS),
];

/// One page, and what it needs beyond this origin's scripts and styles.
struct Page {
    html: &'static [u8],
    /// GraphiQL's stylesheet carries its fonts and icons as `data:` URLs,
    /// and its dialogs add a `<style>` element at run time (to lock the
    /// page's scroll, sized to the scrollbar, so no hash fits it) with no
    /// way to give it a nonce from outside the bundle: so on GraphiQL a
    /// `<style>` element may be inline. Style attributes, and scripts, may not.
    graphiql: bool,
}

const GRAPHIQL: Page = Page {
    html: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/graphiql.html")),
    graphiql: true,
};
const LIVE: Page = Page {
    html: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/live.html")),
    graphiql: false,
};

/// The pages' routes.
pub fn router() -> Router<Arc<HttpState>> {
    Router::new()
        .route("/graphiql", get(|s, h| page(s, h, &GRAPHIQL)))
        .route("/live", get(|s, h| page(s, h, &LIVE)))
        .route("/assets/{name}", get(asset))
}

async fn page(State(state): State<Arc<HttpState>>, headers: HeaderMap, page: &Page) -> Response {
    let policy = policy(page, &state.app.config, &headers);
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (header::CONTENT_SECURITY_POLICY, policy),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        page.html,
    )
        .into_response()
}

/// The page's Content-Security-Policy: everything from this origin only,
/// connections to it over HTTP and websockets, no inline script, no
/// plugins, no `<base>`, no framing.
fn policy(page: &Page, config: &Config, headers: &HeaderMap) -> HeaderValue {
    let (elements, media) = if page.graphiql {
        ("; style-src-elem 'self' 'unsafe-inline'", "'self' data:")
    } else {
        ("", "'self'")
    };
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'{elements}; img-src {media}; \
         font-src {media}; connect-src 'self'{sockets}; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'",
        sockets = socket_sources(config, headers),
    );
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
}

/// ` ws://host wss://host` of the address the browser reached: `'self'`
/// covers websockets only in browsers that follow CSP level 3 there.
/// Nothing when the host is not a plain host and port.
fn socket_sources(config: &Config, headers: &HeaderMap) -> String {
    let base = PublicBase::of_request(config, headers).0;
    let host = base
        .split_once("://")
        .map_or(base.as_str(), |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    let plain = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if plain {
        format!(" ws://{host} wss://{host}")
    } else {
        String::new()
    }
}

async fn asset(Path(name): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // The files change only with a release of the server.
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        asset.bytes,
    )
        .into_response()
}
