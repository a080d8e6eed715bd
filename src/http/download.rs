//! `GET /exports/{id}`: an export's file for any member of its workspace,
//! with the same bearer token as the API. No token (or a bad one) is 401, an
//! export of another workspace, or none, is 404. Each GET is recorded in the
//! activity log (`export.downloaded`); a HEAD only describes the file. GETs
//! are capped per member and per client address (`export::caps`): over a cap
//! it is 429 with `Retry-After`, and nothing is recorded.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, Path, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
    Extension,
};
use serde_json::json;

use super::HttpState;
use crate::{
    auth::{jwt::LEEWAY_SECS, Authn},
    error::AppError,
    export::{caps, service},
    graphql::context::RequestId,
    ids::{self, Kind},
    ratelimit::Refused,
};

pub async fn export(
    State(state): State<Arc<HttpState>>,
    Extension(request_id): Extension<RequestId>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let app = &state.app;
    let authorization = super::graphql::header_str(&headers, header::AUTHORIZATION);
    let authn = Authn::from_header(app, authorization, LEEWAY_SECS).await;
    let session = match authn.session() {
        Ok(session) => session,
        Err(err) => return refused(err, &request_id),
    };
    if method == Method::GET {
        let client_ip = super::client_ip(peer, &headers, app.config.trust_proxy);
        if let Err(over) = caps::download(app, session, &client_ip).await {
            return too_many(over, &request_id);
        }
    }
    let result = async {
        let id = ids::decode(Kind::Export, &id, "export")?;
        if method == Method::HEAD {
            let row = service::find(app.db.conn(), session.workspace_id, id).await?;
            return Ok((row, Vec::new()));
        }
        service::download(app, session, id).await
    }
    .await;
    let (row, bytes) = match result {
        Ok(found) => found,
        Err(err) => return refused(err, &request_id),
    };
    let disposition = format!("attachment; filename=\"{}\"", row.filename);
    let mut response = (
        [
            (header::CONTENT_TYPE, row.content_type.clone()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
            (header::ETAG, format!("\"{}\"", row.sha256)),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    )
        .into_response();
    if method == Method::HEAD {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(row.byte_size));
    }
    response
}

/// 429 for a download over its cap, with when to try again.
fn too_many(over: Refused, request_id: &RequestId) -> Response {
    let mut response = refused(over.error("downloads"), request_id);
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(over.retry_after_secs),
    );
    response
}

/// An error as the API words it (a GraphQL-style error body), with the
/// HTTP status its code means here.
fn refused(err: AppError, request_id: &RequestId) -> Response {
    let status = match &err {
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        AppError::Internal(detail) => {
            tracing::error!(error = %detail, "download failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::BAD_REQUEST,
    };
    let mut extensions = json!({ "code": err.code() });
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        extensions["requestId"] = json!(request_id.0);
    }
    let body = json!({ "errors": [{ "message": err.client_message(), "extensions": extensions }] });
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}
