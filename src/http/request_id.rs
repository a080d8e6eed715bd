//! Request ids: every request gets one (a client's own `x-request-id` is
//! kept when it is reasonable), returned in the `x-request-id` response
//! header, recorded on the request's span so it is on every log line of that
//! request, and handed to GraphQL for its INTERNAL errors. The span also
//! gets the GraphQL operation's name once it is known, and a DEBUG line
//! closes each request with its status and duration.

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use tracing::Instrument;
use uuid::Uuid;

use crate::graphql::context::RequestId;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-sent id kept; a longer or non-printable one is replaced.
const MAX_LEN: usize = 128;

/// Middleware: assigns the id, runs the request in its span, returns the id.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map_or_else(|| Uuid::now_v7().simple().to_string(), str::to_owned);
    // At ERROR level so that the span (and its id) is there whenever
    // anything is logged at all: a filter of `warn` would drop an INFO span.
    // Only the id and the operation: the span's fields are formatted when it
    // is made, on every request, so the method and path are on the closing line.
    let span = tracing::error_span!(
        "request",
        request_id = %id,
        operation = tracing::field::Empty,
    );
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    request.extensions_mut().insert(RequestId(id.clone()));
    let started = std::time::Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::debug!(
            %method,
            path,
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request finished"
        )
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    response
}

fn acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::acceptable;

    #[test]
    fn a_client_id_is_kept_only_when_short_and_printable() {
        assert!(acceptable("req-42_abc.def"));
        assert!(!acceptable(""));
        assert!(!acceptable("has space"));
        assert!(!acceptable("new\nline"));
        assert!(!acceptable(&"x".repeat(129)));
    }
}
