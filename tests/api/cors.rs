//! CORS: exactly the origins in `ATELYA_CORS_ORIGINS`, with the Authorization
//! and Content-Type headers; none by default (same origin only).
//!
//! CORS does not depend on the database, so these run on SQLite only.

use reqwest::{header, Method, Response};
use serde_json::json;

use crate::helpers::*;

const APP_ORIGIN: &str = "https://app.example.com";
const EVIL_ORIGIN: &str = "https://evil.example.com";

async fn app_allowing_the_spa() -> TestApp {
    spawn_app(
        Backend::Sqlite,
        Box::new(|c| c.cors_origins = vec![APP_ORIGIN.into()]),
    )
    .await
}

/// A browser's preflight for a POST with a bearer token and a JSON body.
async fn preflight(app: &TestApp, origin: &str) -> Response {
    app.client
        .request(Method::OPTIONS, &app.url)
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization,content-type",
        )
        .send()
        .await
        .expect("request sent")
}

/// A cross-origin POST of `{ plans { plan } }`.
async fn post_from(app: &TestApp, origin: &str) -> Response {
    app.client
        .post(&app.url)
        .header(header::ORIGIN, origin)
        .json(&json!({ "query": "{ plans { plan } }" }))
        .send()
        .await
        .expect("request sent")
}

fn header_of(response: &Response, name: header::HeaderName) -> Option<&str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The comma-separated values of a header, lower-cased.
fn listed(response: &Response, name: header::HeaderName) -> Vec<String> {
    header_of(response, name)
        .unwrap_or("")
        .split(',')
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect()
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_allowed_with_authorization_and_content_type() {
    let app = app_allowing_the_spa().await;

    let response = preflight(&app, APP_ORIGIN).await;

    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        header_of(&response, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some(APP_ORIGIN)
    );
    let headers = listed(&response, header::ACCESS_CONTROL_ALLOW_HEADERS);
    assert!(headers.contains(&"authorization".into()), "{headers:?}");
    assert!(headers.contains(&"content-type".into()), "{headers:?}");
    let methods = listed(&response, header::ACCESS_CONTROL_ALLOW_METHODS);
    assert!(methods.contains(&"post".into()), "{methods:?}");
}

#[tokio::test]
async fn a_preflight_from_another_origin_gets_no_allow_origin() {
    let app = app_allowing_the_spa().await;

    let response = preflight(&app, EVIL_ORIGIN).await;

    assert_eq!(
        header_of(&response, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        None
    );
}

#[tokio::test]
async fn a_preflight_from_a_lookalike_origin_gets_no_allow_origin() {
    let app = app_allowing_the_spa().await;

    for origin in [
        "http://app.example.com",
        "https://app.example.com.evil.com",
        "https://app.example.com:8443",
    ] {
        let response = preflight(&app, origin).await;

        assert_eq!(
            header_of(&response, header::ACCESS_CONTROL_ALLOW_ORIGIN),
            None,
            "{origin}"
        );
    }
}

#[tokio::test]
async fn a_post_from_an_allowed_origin_carries_allow_origin() {
    let app = app_allowing_the_spa().await;

    let response = post_from(&app, APP_ORIGIN).await;

    assert_eq!(
        header_of(&response, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some(APP_ORIGIN)
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["data"]["plans"].is_array(), "{body}");
}

#[tokio::test]
async fn a_post_from_another_origin_carries_no_allow_origin() {
    let app = app_allowing_the_spa().await;

    let response = post_from(&app, EVIL_ORIGIN).await;

    assert_eq!(
        header_of(&response, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        None
    );
}

#[tokio::test]
async fn an_origin_configured_with_a_trailing_slash_is_allowed() {
    let app = spawn_app(
        Backend::Sqlite,
        Box::new(|c| c.cors_origins = vec![format!("{APP_ORIGIN}/")]),
    )
    .await;

    let response = preflight(&app, APP_ORIGIN).await;

    assert_eq!(
        header_of(&response, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some(APP_ORIGIN)
    );
}

#[tokio::test]
async fn by_default_no_origin_is_allowed() {
    let app = spawn_app(Backend::Sqlite, Box::new(|_| {})).await;

    let preflight = preflight(&app, APP_ORIGIN).await;
    let post = post_from(&app, APP_ORIGIN).await;

    assert_eq!(
        header_of(&preflight, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        None
    );
    assert_eq!(header_of(&post, header::ACCESS_CONTROL_ALLOW_ORIGIN), None);
}

#[tokio::test]
async fn responses_vary_on_origin_so_caches_keep_origins_apart() {
    let app = app_allowing_the_spa().await;

    let response = post_from(&app, APP_ORIGIN).await;

    let vary: Vec<String> = response
        .headers()
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .collect();
    assert!(vary.contains(&"origin".into()), "{vary:?}");
}
