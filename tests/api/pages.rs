//! The pages a person opens, as the server serves them: GraphiQL and the
//! live page with their assets (vendored, served byte for byte), on in
//! development and off in production unless asked for. What they do in a
//! browser is checked by `.ci/browser/pages.mjs` in real chromium.

use reqwest::{header, StatusCode};
use sha2::{Digest, Sha256};

use crate::helpers::*;

fn production(config: &mut atelya::config::Config) {
    config.env = "production".into();
    config.secret_key = Some(atelya::config::Secret("0".repeat(64)));
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .get(format!("http://{}{path}", app.addr))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn graphiql_and_the_live_page_are_served_with_their_assets() {
    let app = spawn_app(Backend::Sqlite, Box::new(|_| {})).await;
    let html = "text/html; charset=utf-8";
    for (path, content_type, needle) in [
        ("/graphiql", html, "graphiql.min.js"),
        ("/live", html, "graphql-ws.min.js"),
        (
            "/assets/live.js",
            "text/javascript; charset=utf-8",
            "workroomEvents",
        ),
        ("/assets/live.css", "text/css; charset=utf-8", "#0e7490"),
        (
            "/assets/graphiql-page.js",
            "text/javascript; charset=utf-8",
            "connectionParams",
        ),
        (
            "/assets/graphiql.min.css",
            "text/css; charset=utf-8",
            ".graphiql-container",
        ),
    ] {
        let response = get(&app, path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            content_type,
            "{path}"
        );
        assert!(response.text().await.unwrap().contains(needle), "{path}");
    }
    assert_eq!(
        get(&app, "/assets/nothing.js").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/assets/..%2FCargo.toml").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_vendored_libraries_are_served_exactly_as_pinned() {
    let app = spawn_app(Backend::Sqlite, Box::new(|_| {})).await;
    let manifest = include_str!("../../assets/vendor/README.md");
    let pinned: Vec<(&str, &str)> = manifest
        .lines()
        .filter_map(|line| line.split_once("  "))
        .filter(|(hash, _)| hash.len() == 64)
        .collect();
    assert_eq!(pinned.len(), 5, "{manifest}");
    for (hash, file) in pinned {
        let response = get(&app, &format!("/assets/{file}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{file}");
        let bytes = response.bytes().await.unwrap();
        assert_eq!(hex::encode(Sha256::digest(&bytes)), hash, "{file}");
    }
}

#[tokio::test]
async fn production_serves_no_pages_unless_asked() {
    let app = spawn_app(Backend::Sqlite, Box::new(production)).await;
    for path in ["/graphiql", "/live", "/assets/live.js"] {
        assert_eq!(
            get(&app, path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let app = spawn_app(
        Backend::Sqlite,
        Box::new(|c: &mut atelya::config::Config| {
            production(c);
            c.pages = Some(true);
        }),
    )
    .await;
    assert_eq!(get(&app, "/graphiql").await.status(), StatusCode::OK);
    let app = spawn_app(
        Backend::Sqlite,
        Box::new(|c: &mut atelya::config::Config| c.pages = Some(false)),
    )
    .await;
    assert_eq!(get(&app, "/live").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_pages_allow_only_this_origin_and_send_no_referrer() {
    let app = spawn_app(Backend::Sqlite, Box::new(|_| {})).await;
    let host = app.addr.to_string();
    for path in ["/graphiql", "/live"] {
        let response = get(&app, path).await;
        let headers = response.headers().clone();
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer", "{path}");
        let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        let directive = |name: &str| {
            policy
                .split(';')
                .map(str::trim)
                .find_map(|d| d.strip_prefix(name).filter(|rest| rest.starts_with(' ')))
                .map(str::trim)
                .unwrap_or_else(|| panic!("{path}: no {name} in {policy}"))
                .to_owned()
        };
        assert_eq!(directive("default-src"), "'self'", "{path}");
        assert_eq!(
            directive("script-src"),
            "'self'",
            "{path}: no inline script"
        );
        assert_eq!(directive("object-src"), "'none'", "{path}");
        assert_eq!(directive("base-uri"), "'none'", "{path}");
        assert_eq!(directive("frame-ancestors"), "'none'", "{path}");
        assert_eq!(
            directive("connect-src"),
            format!("'self' ws://{host} wss://{host}"),
            "{path}"
        );
        assert_eq!(
            directive("style-src"),
            "'self'",
            "{path}: no style attribute"
        );
        if path == "/live" {
            assert!(
                !policy.contains("style-src-elem"),
                "{path}: no inline style"
            );
        }

        // What the policy allows is all the page needs: no inline script or
        // style, no handler attributes.
        let html = response.text().await.unwrap();
        for script in html.split("<script").skip(1) {
            let (tag, rest) = script.split_once('>').unwrap();
            assert!(tag.contains("src=\"/assets/"), "{path}: <script{tag}>");
            assert!(rest.starts_with("</script>"), "{path}: inline script");
        }
        assert!(!html.contains("<style"), "{path}: inline style");
        assert!(!html.contains(" style="), "{path}: style attribute");
        assert!(!handler_attribute(&html), "{path}: handler attribute");
    }
}

/// Whether `html` has an attribute such as `onclick=`.
fn handler_attribute(html: &str) -> bool {
    html.match_indices(" on").any(|(at, _)| {
        let name: String = html[at + 3..]
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .collect();
        !name.is_empty() && html[at + 3 + name.len()..].starts_with('=')
    })
}

#[tokio::test]
async fn graphiql_keeps_the_token_for_the_tab_only() {
    let app = spawn_app(Backend::Sqlite, Box::new(|_| {})).await;
    for path in ["/assets/graphiql-page.js", "/assets/live.js"] {
        let script = get(&app, path).await.text().await.unwrap();
        assert!(
            script.contains("sessionStorage.setItem('atelya.token'"),
            "{path}"
        );
        assert!(!script.contains("localStorage.setItem"), "{path}");
    }
}
