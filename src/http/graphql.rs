//! GraphQL over HTTP, as the GraphQL-over-HTTP spec and DESIGN.md say.
//!
//! async-graphql's stock axum service accepts form bodies, answers malformed
//! requests with debug strings and runs mutations over GET, so this handler
//! owns the protocol: JSON bodies only (415 otherwise), Accept negotiation
//! (406 when nothing fits), request errors as GraphQL error bodies (400 under
//! `application/graphql-response+json`, 200 under `application/json`),
//! mutations over GET refused with 405, and batching off unless configured.

use std::{net::SocketAddr, sync::Arc};

use async_graphql::{BatchRequest, BatchResponse};
use axum::{
    body::Bytes,
    extract::{
        rejection::BytesRejection, ws::WebSocketUpgrade, ConnectInfo, FromRequestParts, Query,
        State,
    },
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Extension,
};
use serde_json::{json, Value};

use super::{
    client_ip,
    negotiate::{is_json, negotiate, ResponseType},
    persisted::Refusal,
    request::{is_mutation, request_from_json, request_from_params},
    HttpState,
};
use crate::{
    auth::{jwt::LEEWAY_SECS, Authn},
    graphql::{
        context::{ClientIp, Loaders, PublicBase, RequestId},
        limits::{code_of, PARSE_FAILED, VALIDATION_FAILED},
    },
};

pub async fn post(
    State(state): State<Arc<HttpState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if super::sse::wanted(&headers) {
        return post_stream(&state, peer, request_id, &headers, body).await;
    }
    let Some(rt) = negotiate(header_str(&headers, header::ACCEPT)) else {
        return not_acceptable();
    };
    if !is_json(header_str(&headers, header::CONTENT_TYPE)) {
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            rt,
            PARSE_FAILED,
            "requests must be application/json",
        );
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let limit = state.app.config.limits.max_body_bytes;
            let message = format!("the request body is larger than {limit} bytes");
            return request_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                rt,
                "BAD_USER_INPUT",
                &message,
            );
        }
        Err(rejection) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                rt,
                PARSE_FAILED,
                &rejection.body_text(),
            )
        }
    };
    let json: Value = match serde_json::from_slice(&body) {
        Ok(json) => json,
        Err(err) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                rt,
                PARSE_FAILED,
                &format!("the body is not valid JSON: {err}"),
            )
        }
    };
    // A batch is checked as a whole before any of its items is looked at.
    let (items, batched) = match json {
        Value::Array(items) => {
            let max = state.app.config.limits.max_batch;
            if max == 0 {
                return request_error(
                    StatusCode::BAD_REQUEST,
                    rt,
                    PARSE_FAILED,
                    "batched requests are not enabled",
                );
            }
            if items.len() > max || items.is_empty() {
                let message = format!("a batch holds 1 to {max} operations");
                return request_error(StatusCode::BAD_REQUEST, rt, PARSE_FAILED, &message);
            }
            (items, true)
        }
        single => (vec![single], false),
    };
    let mut requests = Vec::with_capacity(items.len());
    for mut item in items {
        let registration = match &mut item {
            Value::Object(map) => match state.persisted.resolve(map).await {
                Ok(registration) => registration,
                Err(refusal) => return refused(rt, &refusal),
            },
            _ => None,
        };
        match request_from_json(item) {
            Ok(request) => requests.push(registered(request, registration)),
            Err(message) => {
                return request_error(StatusCode::BAD_REQUEST, rt, PARSE_FAILED, &message)
            }
        }
    }
    let batch = match (batched, requests.pop()) {
        (false, Some(request)) => BatchRequest::Single(request),
        (_, last) => {
            requests.extend(last);
            BatchRequest::Batch(requests)
        }
    };
    execute(&state, peer, request_id, &headers, batch, rt, false).await
}

pub async fn get(
    State(state): State<Arc<HttpState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(request_id): Extension<RequestId>,
    request: axum::extract::Request,
) -> Response {
    let (mut parts, _) = request.into_parts();
    let headers = parts.headers.clone();
    if super::ws::is_upgrade(&headers) {
        let ip = client_ip(peer, &headers, state.app.config.trust_proxy);
        return match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
            Ok(ws) => super::ws::upgrade(state, &headers, ws, ip, request_id),
            Err(rejection) => rejection.into_response(),
        };
    }
    if super::sse::wanted(&headers) {
        return get_stream(&state, peer, request_id, &headers, &parts.uri).await;
    }
    let Some(rt) = negotiate(header_str(&headers, header::ACCEPT)) else {
        return not_acceptable();
    };
    let mut params = match Query::<Vec<(String, String)>>::try_from_uri(&parts.uri) {
        Ok(Query(params)) => params,
        Err(e) => return request_error(StatusCode::BAD_REQUEST, rt, PARSE_FAILED, &e.body_text()),
    };
    let registration = match state.persisted.resolve_params(&mut params).await {
        Ok(registration) => registration,
        Err(refusal) => return refused(rt, &refusal),
    };
    let request = match request_from_params(params) {
        Ok(request) => registered(request, registration),
        Err(message) => return request_error(StatusCode::BAD_REQUEST, rt, PARSE_FAILED, &message),
    };
    if is_mutation(
        &request,
        state.app.config.limits.max_tokens,
        &state.app.documents,
    ) {
        return mutation_over_get(rt);
    }
    let single = BatchRequest::Single(request);
    execute(&state, peer, request_id, &headers, single, rt, true).await
}

/// A POST asking for an event stream: one operation (no batches), its
/// errors before execution reported on the stream.
async fn post_stream(
    state: &HttpState,
    peer: SocketAddr,
    request_id: RequestId,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !is_json(header_str(headers, header::CONTENT_TYPE)) {
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ResponseType::Json,
            PARSE_FAILED,
            "requests must be application/json",
        );
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return super::sse::refused("BAD_USER_INPUT", &rejection.body_text()),
    };
    let mut json: Value = match serde_json::from_slice(&body) {
        Ok(json) => json,
        Err(err) => {
            let message = format!("the body is not valid JSON: {err}");
            return super::sse::refused(PARSE_FAILED, &message);
        }
    };
    let registration = match &mut json {
        Value::Object(map) => match state.persisted.resolve(map).await {
            Ok(registration) => registration,
            Err(refusal) => return super::sse::refused(refusal.code(), &refusal.message()),
        },
        _ => None,
    };
    match request_from_json(json) {
        Ok(request) => {
            let request = registered(request, registration);
            let request = with_context(&state.app, peer, headers, &request_id, request);
            super::sse::stream(state, headers, request).await
        }
        Err(message) => super::sse::refused(PARSE_FAILED, &message),
    }
}

/// A GET asking for an event stream; a mutation is still 405.
async fn get_stream(
    state: &HttpState,
    peer: SocketAddr,
    request_id: RequestId,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
) -> Response {
    let mut params = match Query::<Vec<(String, String)>>::try_from_uri(uri) {
        Ok(Query(params)) => params,
        Err(e) => return super::sse::refused(PARSE_FAILED, &e.body_text()),
    };
    let registration = match state.persisted.resolve_params(&mut params).await {
        Ok(registration) => registration,
        Err(refusal) => return super::sse::refused(refusal.code(), &refusal.message()),
    };
    let request = match request_from_params(params) {
        Ok(request) => registered(request, registration),
        Err(message) => return super::sse::refused(PARSE_FAILED, &message),
    };
    if is_mutation(
        &request,
        state.app.config.limits.max_tokens,
        &state.app.documents,
    ) {
        return mutation_over_get(ResponseType::Json);
    }
    let request = with_context(&state.app, peer, headers, &request_id, request);
    super::sse::stream(state, headers, request).await
}

/// Runs the request with its session, loaders, client address and request
/// id; a GET's answer says how it may be cached.
async fn execute(
    state: &HttpState,
    peer: SocketAddr,
    request_id: RequestId,
    headers: &HeaderMap,
    batch: BatchRequest,
    rt: ResponseType,
    get: bool,
) -> Response {
    let app = &state.app;
    let authn =
        Authn::from_header(app, header_str(headers, header::AUTHORIZATION), LEEWAY_SECS).await;
    let context = |request| with_context(app, peer, headers, &request_id, request);
    let batch = match batch {
        BatchRequest::Single(request) => BatchRequest::Single(context(request)),
        BatchRequest::Batch(requests) => {
            BatchRequest::Batch(requests.into_iter().map(context).collect())
        }
    };
    match state.schema.execute_batch(batch.data(authn)).await {
        BatchResponse::Single(response) if get => {
            let cache_control = cache_control(&response, headers);
            let mut response = render(response, rt);
            let out = response.headers_mut();
            out.insert(header::CACHE_CONTROL, cache_control);
            out.insert(
                header::VARY,
                HeaderValue::from_static("Accept, Authorization"),
            );
            response
        }
        BatchResponse::Single(response) => render(response, rt),
        BatchResponse::Batch(responses) => {
            let bodies: Vec<Value> = responses.into_iter().map(|r| body_of(r).1).collect();
            reply(StatusCode::OK, rt, encode(&bodies))
        }
    }
}

/// A response, as a request error (no `data`) when nothing was executed;
/// 429 when the caller's cost budget is spent. A signed-in caller's budget is
/// in the `RateLimit-*` headers too.
fn render(response: async_graphql::Response, rt: ResponseType) -> Response {
    let cost = response
        .extensions
        .get("cost")
        .and_then(|c| c.clone().into_json().ok());
    let limited = response.data == async_graphql::Value::Null
        && response
            .errors
            .iter()
            .any(|e| code_of(e).as_deref() == Some("RATE_LIMITED"));
    let (request_failed, body) = encoded_body_of(response);
    let status = if limited {
        StatusCode::TOO_MANY_REQUESTS
    } else if request_failed && rt == ResponseType::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut response = reply(status, rt, body);
    if let Some(cost) = cost {
        budget_headers(response.headers_mut(), &cost, limited);
    }
    response
}

/// A request with what its resolvers read besides the session: loaders,
/// the client's address, the public base URL and the request id.
fn with_context(
    app: &crate::state::SharedState,
    peer: SocketAddr,
    headers: &HeaderMap,
    request_id: &RequestId,
    request: async_graphql::Request,
) -> async_graphql::Request {
    request
        .data(Arc::new(Loaders::new(app)))
        .data(ClientIp(client_ip(peer, headers, app.config.trust_proxy)))
        .data(PublicBase::of_request(&app.config, headers))
        .data(request_id.clone())
}

/// A request that registers its persisted query once its document is admitted.
pub(crate) fn registered(
    request: async_graphql::Request,
    registration: Option<crate::graphql::context::Registration>,
) -> async_graphql::Request {
    match registration {
        Some(registration) => request.data(registration),
        None => request,
    }
}

/// How a GET's answer may be kept. Only an anonymous answer without errors,
/// of fields that all say how long they stay fresh (`cache_control` in the
/// schema, such as `plans`), may be shared by a CDN; anything a token
/// asked for is private and not stored.
fn cache_control(response: &async_graphql::Response, headers: &HeaderMap) -> HeaderValue {
    let signed =
        headers.contains_key(header::AUTHORIZATION) || headers.contains_key(header::COOKIE);
    let cache = response.cache_control;
    if signed {
        HeaderValue::from_static("private, no-store")
    } else if response.errors.is_empty() && cache.public && cache.max_age > 0 {
        HeaderValue::from_str(&format!("public, max-age={}", cache.max_age))
            .unwrap_or(HeaderValue::from_static("no-store"))
    } else {
        HeaderValue::from_static("no-store")
    }
}

/// `RateLimit-Limit`, `-Remaining` and `-Reset` (seconds to the window's
/// end), `RateLimit-Policy` (the budget per hour), and `Retry-After` on a refusal.
fn budget_headers(headers: &mut HeaderMap, cost: &Value, limited: bool) {
    let reset_in = cost["resetAt"]
        .as_str()
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
        .map(|at| (at.timestamp() - chrono::Utc::now().timestamp()).max(0))
        .unwrap_or(0);
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(header::HeaderName::from_static(name), value);
        }
    };
    set("ratelimit-limit", cost["limit"].to_string());
    set("ratelimit-remaining", cost["remaining"].to_string());
    set("ratelimit-reset", reset_in.to_string());
    set("ratelimit-policy", format!("{};w=3600", cost["limit"]));
    if limited {
        set("retry-after", reset_in.to_string());
    }
}

pub(crate) fn body_of(response: async_graphql::Response) -> (bool, Value) {
    if failed_before_execution(&response) {
        return (true, request_error_body(&response));
    }
    (
        false,
        serde_json::to_value(&response)
            .unwrap_or_else(|_| json!({ "errors": [{ "message": "internal error" }] })),
    )
}

/// [`body_of`], written straight to the bytes of the JSON body.
fn encoded_body_of(response: async_graphql::Response) -> (bool, Vec<u8>) {
    if failed_before_execution(&response) {
        return (true, encode(&request_error_body(&response)));
    }
    (false, encode(&response))
}

/// A request error's body: its errors, and its extensions (the cost budget
/// where it stands), without `data`.
fn request_error_body(response: &async_graphql::Response) -> Value {
    let mut body = json!({ "errors": response.errors });
    if !response.extensions.is_empty() {
        body["extensions"] = json!(response.extensions);
    }
    body
}

/// A request error: nothing was executed, because the document did not
/// parse, stayed over a limit, did not validate, its variables did not
/// coerce, or the budget was spent. Such errors are about the request, not
/// a field: none has a path, and there is no `data`.
fn failed_before_execution(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

fn encode(body: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(body)
        .unwrap_or_else(|_| br#"{"errors":[{"message":"internal error"}]}"#.to_vec())
}

pub(super) fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn request_error(status: StatusCode, rt: ResponseType, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    reply(status, rt, encode(&body))
}

/// A persisted query that cannot run. An unknown hash is not a bad request
/// (the client sends the document next), so it is a 200, as clients of the
/// Automatic Persisted Queries protocol expect.
fn refused(rt: ResponseType, refusal: &Refusal) -> Response {
    let status = match refusal {
        Refusal::NotFound => StatusCode::OK,
        _ => StatusCode::BAD_REQUEST,
    };
    request_error(status, rt, refusal.code(), &refusal.message())
}

/// 405: a GET never changes anything.
fn mutation_over_get(rt: ResponseType) -> Response {
    let mut response = request_error(
        StatusCode::METHOD_NOT_ALLOWED,
        rt,
        VALIDATION_FAILED,
        "mutations must use POST",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

fn not_acceptable() -> Response {
    let body = json!({ "errors": [{
        "message": "Accept must allow application/graphql-response+json or application/json",
        "extensions": { "code": "BAD_USER_INPUT" }
    }] });
    reply(
        StatusCode::NOT_ACCEPTABLE,
        ResponseType::Json,
        encode(&body),
    )
}

fn reply(status: StatusCode, rt: ResponseType, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, rt.content_type())], body).into_response()
}
