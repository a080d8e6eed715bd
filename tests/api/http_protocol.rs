//! GraphQL over HTTP: media types, request errors, GET, batching, health,
//! and what production mode turns off.
//!
//! Tests that never reach the database run on SQLite only: the protocol does
//! not depend on the backend. Everything that reads or writes data runs on both.

use reqwest::{header, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

const PLANS: &str = "{ plans { plan } }";
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const SIGNUP: &str = "mutation { signup(input: { email: \"eve@example.com\", password: \"correct horse battery\", name: \"Eve\", workspaceName: \"Eve Co\" }) { accessToken } }";

/// A server on SQLite with the default test configuration.
async fn sqlite_app() -> TestApp {
    spawn_app(Backend::Sqlite, Box::new(|_| {})).await
}

/// POSTs `body` as it is, with the given Content-Type and (optional) Accept.
async fn post_raw(
    app: &TestApp,
    content_type: &str,
    accept: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Response {
    let mut request = app
        .client
        .post(&app.url)
        .header(header::CONTENT_TYPE, content_type)
        .body(body);
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    request.send().await.expect("request sent")
}

/// POSTs a JSON body with the given Accept.
async fn post_json(app: &TestApp, accept: Option<&str>, body: &Value) -> Response {
    post_raw(app, "application/json", accept, body.to_string()).await
}

/// GETs `/graphql` with these query parameters.
async fn get(app: &TestApp, params: &[(&str, &str)]) -> Response {
    app.client
        .get(&app.url)
        .query(params)
        .send()
        .await
        .expect("request sent")
}

fn content_type(response: &Response) -> String {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// Status, Content-Type and JSON body of a response.
async fn parts(response: Response) -> (StatusCode, String, Value) {
    let status = response.status();
    let content_type = content_type(&response);
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("not a JSON body ({status}): {text}"));
    (status, content_type, body)
}

/// Whether the account `eve@example.com` (of [`SIGNUP`]) exists: a normal signup
/// with that email succeeds only when it does not.
async fn eve_can_still_sign_up(app: &TestApp) -> bool {
    let body = app
        .gql(
            None,
            "mutation($input: SignupInput!) { signup(input: $input) { accessToken } }",
            json!({ "input": { "email": "eve@example.com", "password": PASSWORD, "name": "Eve", "workspaceName": "Eve Co" } }),
        )
        .await;
    body.get("errors").is_none() && body["data"]["signup"]["accessToken"].is_string()
}

// ------------------------------------------------------------ media types

#[tokio::test]
async fn a_post_without_accept_is_answered_as_application_json() {
    let app = sqlite_app().await;

    let (status, content_type, body) =
        parts(post_json(&app, None, &json!({ "query": PLANS })).await).await;

    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert_eq!(
        body["data"]["plans"].as_array().map(Vec::len),
        Some(6),
        "{body}"
    );
}

#[tokio::test]
async fn a_post_accepting_anything_is_answered_as_application_json() {
    let app = sqlite_app().await;

    let (status, content_type, body) =
        parts(post_json(&app, Some("*/*"), &json!({ "query": PLANS })).await).await;

    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert!(body["data"]["plans"].is_array(), "{body}");
}

#[tokio::test]
async fn a_post_accepting_graphql_response_json_is_answered_in_that_type() {
    let app = sqlite_app().await;

    let (status, content_type, body) =
        parts(post_json(&app, Some(GRAPHQL_RESPONSE), &json!({ "query": PLANS })).await).await;

    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with(GRAPHQL_RESPONSE), "{content_type}");
    assert!(body["data"]["plans"].is_array(), "{body}");
}

#[tokio::test]
async fn a_post_preferring_application_json_by_quality_is_answered_as_application_json() {
    let app = sqlite_app().await;
    let accept = "application/graphql-response+json;q=0.5, application/json";

    let (status, content_type, _) =
        parts(post_json(&app, Some(accept), &json!({ "query": PLANS })).await).await;

    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
}

#[tokio::test]
async fn a_post_accepting_only_html_is_refused_with_406() {
    let app = sqlite_app().await;

    let response = post_json(&app, Some("text/html"), &json!({ "query": PLANS })).await;

    assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn a_get_accepting_only_html_is_refused_with_406() {
    let app = sqlite_app().await;

    let response = app
        .client
        .get(&app.url)
        .query(&[("query", PLANS)])
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn an_accept_refusing_application_json_but_allowing_anything_gets_graphql_response_json() {
    let app = sqlite_app().await;

    // The specific `application/json;q=0` overrides `*/*` for that type only
    // (RFC 9110, 12.5.1), so the other GraphQL type is the acceptable one.
    let response = post_json(
        &app,
        Some("application/json;q=0, */*"),
        &json!({ "query": PLANS }),
    )
    .await;

    assert_eq!(response.status(), StatusCode::OK);
    let content_type = content_type(&response);
    assert!(
        content_type.starts_with(GRAPHQL_RESPONSE),
        "answered with a refused type: {content_type}"
    );
}

#[tokio::test]
async fn a_text_plain_body_is_refused_with_415() {
    let app = sqlite_app().await;

    let response = post_raw(
        &app,
        "text/plain",
        None,
        json!({ "query": PLANS }).to_string(),
    )
    .await;

    let (status, _, body) = parts(response).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(body["errors"][0]["message"].is_string(), "{body}");
    assert!(body.get("data").is_none(), "{body}");
}

#[tokio::test]
async fn a_form_urlencoded_body_is_refused_with_415() {
    let app = sqlite_app().await;

    let response = post_raw(
        &app,
        "application/x-www-form-urlencoded",
        None,
        "query=%7B+plans+%7B+plan+%7D+%7D",
    )
    .await;

    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn a_multipart_body_is_refused_with_415() {
    let app = sqlite_app().await;
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{\"query\":\"{ plans { plan } }\"}\r\n--XyZ--\r\n";

    let response = post_raw(&app, "multipart/form-data; boundary=XyZ", None, body).await;

    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn a_post_without_content_type_is_refused_with_415() {
    let app = sqlite_app().await;

    let response = app
        .client
        .post(&app.url)
        .body(json!({ "query": PLANS }).to_string())
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

db_test! {
    async fn a_signup_sent_as_a_form_does_not_create_the_account(app);
    {
        let form = format!("query={}", urlencode(SIGNUP));

        let response = post_raw(&app, "application/x-www-form-urlencoded", None, form).await;

        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(eve_can_still_sign_up(&app).await, "the form-encoded signup created the account");
    }
}

db_test! {
    async fn a_signup_sent_as_text_plain_does_not_create_the_account(app);
    {
        let response = post_raw(&app, "text/plain", None, json!({ "query": SIGNUP }).to_string()).await;

        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(eve_can_still_sign_up(&app).await, "the text/plain signup created the account");
    }
}

/// Percent-encodes everything but unreserved characters.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ------------------------------------------------------------ request errors

#[tokio::test]
async fn malformed_json_is_a_400_with_a_graphql_parse_error_under_either_media_type() {
    let app = sqlite_app().await;

    for accept in [None, Some(GRAPHQL_RESPONSE)] {
        let response = post_raw(
            &app,
            "application/json",
            accept,
            "{\"query\": \"{ plans { plan } }\"",
        )
        .await;

        let (status, _, body) = parts(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "accept {accept:?}: {body}");
        assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED");
        assert!(body.get("data").is_none(), "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            !message.contains("Error(") && !message.contains("{ "),
            "a debug string: {message}"
        );
    }
}

#[tokio::test]
async fn a_json_body_that_is_not_an_object_is_a_400() {
    let app = sqlite_app().await;

    let (status, _, body) =
        parts(post_raw(&app, "application/json", None, "\"{ plans { plan } }\"").await).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED");
}

#[tokio::test]
async fn a_body_without_query_is_refused_with_400() {
    let app = sqlite_app().await;

    let (status, _, body) =
        parts(post_json(&app, Some(GRAPHQL_RESPONSE), &json!({ "variables": {} })).await).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED");
}

#[tokio::test]
async fn a_query_that_is_not_a_string_is_refused_with_400() {
    let app = sqlite_app().await;

    let (status, _, body) = parts(post_json(&app, None, &json!({ "query": 42 })).await).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED");
}

#[tokio::test]
async fn a_document_that_does_not_parse_is_a_400_without_data_under_graphql_response_json() {
    let app = sqlite_app().await;

    let response = post_json(
        &app,
        Some(GRAPHQL_RESPONSE),
        &json!({ "query": "{ plans { plan }" }),
    )
    .await;

    let (status, content_type, body) = parts(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(content_type.starts_with(GRAPHQL_RESPONSE), "{content_type}");
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        !message.contains('\n'),
        "the syntax error is one readable line: {message:?}"
    );
}

#[tokio::test]
async fn a_document_that_does_not_parse_is_a_200_with_the_error_under_application_json() {
    let app = sqlite_app().await;

    let response = post_json(
        &app,
        Some("application/json"),
        &json!({ "query": "{ plans { plan }" }),
    )
    .await;

    let (status, content_type, body) = parts(response).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED");
}

#[tokio::test]
async fn an_unknown_field_is_a_400_without_data_under_graphql_response_json() {
    let app = sqlite_app().await;

    let response = post_json(
        &app,
        Some(GRAPHQL_RESPONSE),
        &json!({ "query": "{ plans { plan price } }" }),
    )
    .await;

    let (status, _, body) = parts(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED");
}

#[tokio::test]
async fn an_unknown_field_is_a_200_with_the_error_under_application_json() {
    let app = sqlite_app().await;

    let response = post_json(&app, None, &json!({ "query": "{ plans { plan price } }" })).await;

    let (status, _, body) = parts(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED");
}

#[tokio::test]
async fn an_unknown_operation_name_is_a_validation_failure() {
    let app = sqlite_app().await;
    let request = json!({ "query": "query A { plans { plan } }", "operationName": "B" });

    let (status, _, body) = parts(post_json(&app, Some(GRAPHQL_RESPONSE), &request).await).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED");
}

#[tokio::test]
async fn a_variable_of_the_wrong_type_is_a_400_request_error_under_graphql_response_json() {
    let app = sqlite_app().await;
    let request = json!({ "query": "query($n: String!) { __type(name: $n) { name } }", "variables": { "n": 5 } });

    let (status, _, body) = parts(post_json(&app, Some(GRAPHQL_RESPONSE), &request).await).await;

    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_missing_required_variable_is_a_400_request_error_under_graphql_response_json() {
    let app = sqlite_app().await;
    let request = json!({ "query": "query($n: String!) { __type(name: $n) { name } }" });

    let (status, _, body) = parts(post_json(&app, Some(GRAPHQL_RESPONSE), &request).await).await;

    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_field_error_during_execution_is_a_200_with_data_under_graphql_response_json() {
    let app = sqlite_app().await;

    let (status, _, body) = parts(
        post_json(
            &app,
            Some(GRAPHQL_RESPONSE),
            &json!({ "query": "{ viewer { user { id } } }" }),
        )
        .await,
    )
    .await;

    assert_eq!(
        status,
        StatusCode::OK,
        "an executed request is not a request error: {body}"
    );
    assert!(body.get("data").is_some(), "{body}");
    assert_eq!(code(&body), "UNAUTHENTICATED");
}

/// The codes `contract/schema.graphql` allows in `extensions.code`.
const CONTRACT_CODES: [&str; 11] = [
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "CONFLICT",
    "SEAT_LIMIT_REACHED",
    "INSUFFICIENT_CREDITS",
    "RATE_LIMITED",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "INTERNAL",
];

#[tokio::test]
async fn every_refused_request_carries_an_error_code_of_the_contract() {
    let app = spawn_app(
        Backend::Sqlite,
        Box::new(|c| c.limits.max_body_bytes = 2048),
    )
    .await;
    let refused = [
        (
            "406",
            post_json(&app, Some("text/html"), &json!({ "query": PLANS })).await,
        ),
        ("415", post_raw(&app, "text/plain", None, "{}").await),
        (
            "400 JSON",
            post_raw(&app, "application/json", None, "{").await,
        ),
        (
            "413",
            post_raw(
                &app,
                "application/json",
                None,
                format!("{{\"query\":\"{}\"}}", " ".repeat(4096)),
            )
            .await,
        ),
        (
            "405",
            get(
                &app,
                &[("query", "mutation { logout(refreshToken: \"x\") }")],
            )
            .await,
        ),
    ];

    let mut outside = Vec::new();
    for (what, response) in refused {
        let (status, _, body) = parts(response).await;
        let code = body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("(none)")
            .to_owned();
        if !CONTRACT_CODES.contains(&code.as_str()) {
            outside.push(format!("{what} (status {status}): {code}"));
        }
    }

    assert!(
        outside.is_empty(),
        "error codes outside the contract: {outside:?}"
    );
}

// ------------------------------------------------------------ GET

#[tokio::test]
async fn a_query_over_get_runs() {
    let app = sqlite_app().await;

    let (status, content_type, body) = parts(get(&app, &[("query", PLANS)]).await).await;

    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert_eq!(body["data"]["plans"][0]["plan"], "FREE_TRIAL", "{body}");
}

#[tokio::test]
async fn only_an_anonymous_get_of_fields_that_say_so_may_be_cached_by_others() {
    let app = sqlite_app().await;
    let cache_control = |response: &Response| {
        let headers = response.headers();
        assert_eq!(headers[header::VARY], "Accept, Authorization");
        headers[header::CACHE_CONTROL].to_str().unwrap().to_owned()
    };

    // `plans` stays fresh for five minutes, for anyone.
    let response = get(&app, &[("query", PLANS)]).await;
    assert_eq!(cache_control(&response), "public, max-age=300");
    // Fields that say nothing are not kept, nor is an answer with errors.
    let response = get(&app, &[("query", "{ __typename }")]).await;
    assert_eq!(cache_control(&response), "no-store");
    let response = get(
        &app,
        &[("query", "{ plans { plan } viewer { user { id } } }")],
    )
    .await;
    assert_eq!(cache_control(&response), "no-store");
    // What a token asked for is private, even the plans.
    let token = app.signup("ann@example.com", "Acme").await.token;
    let response = app
        .client
        .get(&app.url)
        .bearer_auth(&token)
        .query(&[("query", PLANS)])
        .send()
        .await
        .unwrap();
    assert_eq!(cache_control(&response), "private, no-store");
    // POST answers are not cached by anyone, and say nothing.
    let response = post_json(&app, None, &json!({ "query": PLANS })).await;
    assert!(response.headers().get(header::CACHE_CONTROL).is_none());
}

#[tokio::test]
async fn a_query_over_get_takes_variables_and_an_operation_name() {
    let app = sqlite_app().await;
    let document = "query A { plans { plan } } query B($n: String!) { __type(name: $n) { name } }";

    let response = get(
        &app,
        &[
            ("query", document),
            ("operationName", "B"),
            ("variables", "{\"n\":\"PlanInfo\"}"),
        ],
    )
    .await;

    let (status, _, body) = parts(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"],
        json!({ "__type": { "name": "PlanInfo" } }),
        "{body}"
    );
}

#[tokio::test]
async fn a_get_without_a_query_parameter_is_refused_with_400() {
    let app = sqlite_app().await;

    let (status, _, body) = parts(get(&app, &[("operationName", "A")]).await).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED");
}

db_test! {
    async fn a_mutation_over_get_is_refused_with_405_and_changes_nothing(app);
    {
        let response = get(&app, &[("query", SIGNUP)]).await;

        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers().get(header::ALLOW).and_then(|v| v.to_str().ok()), Some("POST"));
        assert!(eve_can_still_sign_up(&app).await, "the mutation sent over GET created the account");
    }
}

db_test! {
    async fn a_named_mutation_over_get_is_refused_with_405_without_an_operation_name(app);
    {
        let response = get(&app, &[("query", &SIGNUP.replacen("mutation", "mutation Join", 1))]).await;

        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(eve_can_still_sign_up(&app).await, "the mutation sent over GET created the account");
    }
}

db_test! {
    async fn a_get_selecting_the_mutation_of_a_two_operation_document_is_refused_with_405(app);
    {
        let document = format!("query Plans {{ plans {{ plan }} }} {}", SIGNUP.replacen("mutation", "mutation Join", 1));

        let response = get(&app, &[("query", &document), ("operationName", "Join")]).await;

        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(eve_can_still_sign_up(&app).await, "the mutation sent over GET created the account");
    }
}

#[tokio::test]
async fn a_get_selecting_the_query_of_a_document_that_also_holds_a_mutation_runs() {
    let app = sqlite_app().await;
    let document = format!(
        "query Plans {{ plans {{ plan }} }} {}",
        SIGNUP.replacen("mutation", "mutation Join", 1)
    );

    let (status, _, body) =
        parts(get(&app, &[("query", &document), ("operationName", "Plans")]).await).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["data"]["plans"].is_array(), "{body}");
}

// ------------------------------------------------------------ batching

db_test! {
    async fn a_batch_is_refused_with_400_by_default_and_runs_nothing(app);
    {
        let batch = json!([{ "query": SIGNUP }]);

        let (status, _, body) = parts(post_json(&app, None, &batch).await).await;

        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["errors"][0]["message"].is_string(), "{body}");
        assert!(eve_can_still_sign_up(&app).await, "the refused batch created the account");
    }
}

#[tokio::test]
async fn a_batch_of_two_runs_when_batches_of_two_are_allowed() {
    let app = spawn_app(Backend::Sqlite, Box::new(|c| c.limits.max_batch = 2)).await;
    let batch = json!([{ "query": PLANS }, { "query": "{ __typename }" }]);

    let (status, _, body) = parts(post_json(&app, None, &batch).await).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body[0]["data"]["plans"].as_array().map(Vec::len),
        Some(6),
        "{body}"
    );
    assert_eq!(body[1]["data"]["__typename"], "Query", "{body}");
}

db_test! {
    async fn a_batch_of_three_is_refused_when_batches_of_two_are_allowed(app) with |c| c.limits.max_batch = 2;
    {
        let batch = json!([{ "query": PLANS }, { "query": PLANS }, { "query": SIGNUP }]);

        let (status, _, body) = parts(post_json(&app, None, &batch).await).await;

        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.get("data").is_none() && !body.is_array(), "{body}");
        assert!(eve_can_still_sign_up(&app).await, "the refused batch created the account");
    }
}

#[tokio::test]
async fn an_empty_batch_is_refused_with_400_even_when_batches_are_allowed() {
    let app = spawn_app(Backend::Sqlite, Box::new(|c| c.limits.max_batch = 2)).await;

    let response = post_json(&app, None, &json!([])).await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

// ------------------------------------------------------------ health

#[tokio::test]
async fn healthz_answers_200() {
    let app = sqlite_app().await;

    let response = app
        .client
        .get(format!("http://{}/healthz", app.addr))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}

db_test! {
    async fn readyz_answers_200_when_the_database_answers(app);
    {
        let response = app.client.get(format!("http://{}/readyz", app.addr)).send().await.unwrap();

        assert_eq!(response.status(), StatusCode::OK);
    }
}

// ------------------------------------------------------------ production mode

fn production(config: &mut atelya::config::Config) {
    config.env = "production".into();
    config.secret_key = Some(atelya::config::Secret("ab".repeat(32)));
}

const INTROSPECTION: &str = "{ __schema { types { name } } }";
/// One letter short of `monthlyCredits`: close enough for a suggestion.
const TYPO: &str = "{ plans { monthlyCredit } }";

#[tokio::test]
async fn production_mode_disables_introspection() {
    let app = spawn_app(Backend::Sqlite, Box::new(production)).await;

    let body = app.gql(None, INTROSPECTION, json!({})).await;

    assert!(
        body["data"]["__schema"]["types"].is_null(),
        "introspection answered in production: {body}"
    );
}

/// `__schema` is non-null (`__Schema!`), so when it cannot be answered the
/// response must say why: a bare `null` breaks the GraphQL non-null guarantee.
#[tokio::test]
async fn introspecting_the_schema_in_production_is_an_error() {
    let app = spawn_app(Backend::Sqlite, Box::new(production)).await;

    let body = app.gql(None, INTROSPECTION, json!({})).await;

    assert!(
        body["errors"].as_array().is_some_and(|e| !e.is_empty()),
        "no error for a refused introspection: {body}"
    );
}

#[tokio::test]
async fn production_mode_disables_type_introspection() {
    let app = spawn_app(Backend::Sqlite, Box::new(production)).await;

    let body = app
        .gql(
            None,
            "{ __type(name: \"Query\") { fields { name } } }",
            json!({}),
        )
        .await;

    assert!(
        body["data"]["__type"].is_null(),
        "introspection answered in production: {body}"
    );
}

#[tokio::test]
async fn outside_production_introspection_answers() {
    let app = sqlite_app().await;

    let data = app
        .ok(
            None,
            "{ __schema { types { name } } __type(name: \"Query\") { fields { name } } }",
            json!({}),
        )
        .await;

    let types = data["__schema"]["types"].as_array().expect("types");
    assert!(types.iter().any(|t| t["name"] == "Workspace"), "{data}");
    let fields = data["__type"]["fields"].as_array().expect("fields");
    assert!(fields.iter().any(|f| f["name"] == "plans"), "{data}");
}

#[tokio::test]
async fn production_mode_gives_no_field_suggestions() {
    let app = spawn_app(Backend::Sqlite, Box::new(production)).await;

    let body = app.gql(None, TYPO, json!({})).await;

    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("monthlyCredit"), "{message}");
    assert!(
        !message.contains("Did you mean"),
        "a suggestion in production: {message}"
    );
}

#[tokio::test]
async fn development_mode_keeps_field_suggestions() {
    let app = spawn_app(Backend::Sqlite, Box::new(|c| c.env = "development".into())).await;

    let body = app.gql(None, TYPO, json!({})).await;

    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("Did you mean"),
        "no suggestion in development: {message}"
    );
}

/// Builds (without serving) an app with this configuration on a throwaway SQLite file.
async fn builds(tweak: impl FnOnce(&mut atelya::config::Config)) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("atelya.db").display()
    );
    let mut config = test_config(&url);
    tweak(&mut config);
    atelya::startup::App::build(config, atelya::clock::Clock::default())
        .await
        .is_ok()
}

#[tokio::test]
async fn production_builds_with_a_real_jwt_secret_and_secret_key() {
    assert!(builds(production).await);
}

#[tokio::test]
async fn production_refuses_to_start_without_a_jwt_secret() {
    assert!(
        !builds(|c| {
            production(c);
            c.jwt_secret = None;
        })
        .await
    );
}

#[tokio::test]
async fn production_refuses_to_start_with_a_jwt_secret_shorter_than_32_bytes() {
    assert!(
        !builds(|c| {
            production(c);
            c.jwt_secret = Some(atelya::config::Secret("x".repeat(31)));
        })
        .await
    );
}

#[tokio::test]
async fn production_refuses_to_start_with_the_development_jwt_secret() {
    assert!(
        !builds(|c| {
            production(c);
            c.jwt_secret = Some(atelya::config::Secret(
                atelya::config::DEVELOPMENT_JWT_SECRET.into(),
            ));
        })
        .await
    );
}

#[tokio::test]
async fn production_refuses_to_start_without_a_secret_key() {
    assert!(
        !builds(|c| {
            production(c);
            c.secret_key = None;
        })
        .await
    );
}

#[tokio::test]
async fn a_secret_key_that_is_not_64_hex_characters_is_refused() {
    assert!(
        !builds(|c| {
            production(c);
            c.secret_key = Some(atelya::config::Secret("zz".repeat(32)));
        })
        .await
    );
}
