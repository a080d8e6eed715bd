//! Pages a person opens: GraphiQL at `/graphiql` and the live workroom page
//! at `/live`, with their assets under `/assets/`. On by default in
//! development and off in production (`ATELYA_PAGES`).
//!
//! Everything is compiled into the binary: the pages are plain HTML and
//! JavaScript, and the libraries (GraphiQL, React, the graphql-ws client)
//! are vendored at pinned versions from npm (`assets/vendor/README.md`), so
//! nothing is fetched from a CDN, at build time or at run time.

use axum::{
    extract::Path,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

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

static ASSETS: [Asset; 8] = [
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
    asset!("live.js", "live.js", JS),
    asset!("live.css", "live.css", CSS),
];

const GRAPHIQL: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/graphiql.html"));
const LIVE: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/live.html"));

/// The pages' routes.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/graphiql", get(|| async { page(GRAPHIQL) }))
        .route("/live", get(|| async { page(LIVE) }))
        .route("/assets/{name}", get(asset))
}

fn page(html: &'static [u8]) -> Response {
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
        ],
        html,
    )
        .into_response()
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
