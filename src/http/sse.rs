//! GraphQL over Server-Sent Events, for clients behind proxies that drop
//! websockets: the graphql-sse protocol's distinct connections mode on
//! `/graphql` (GET or POST with `Accept: text/event-stream`).
//!
//! - Each result is a `next` event holding the execution result, and the
//!   end of the operation a `complete` event (with empty data, so a
//!   browser's `EventSource` reads it). Errors found before execution
//!   (syntax, validation, limits, budget) come the same way, on a stream
//!   that was accepted, as the protocol asks.
//! - Subscriptions run through the same schema, authorization and gap-free
//!   `afterSeq` replay as over websockets.
//! - A signed-in stream is registered like a socket: it ends with an
//!   UNAUTHENTICATED `next` event, then `complete`, when its token expires
//!   or its member's access is lost (a removal, an ended sign-in, a revoked
//!   API key, on any instance). At shutdown it ends without `complete`, so
//!   the client connects again.
//! - A comment keeps the connection alive every [`KEEP_ALIVE`].

use std::{convert::Infallible, time::Duration};

use axum::{
    http::{header, HeaderMap, HeaderValue},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
};
use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::mpsc;

use super::{graphql::header_str, HttpState};
use crate::{
    auth::{session, Authn},
    error::AppError,
    graphql::context::RequestId,
    realtime::sockets::{flag, Registration},
};

/// How often an idle stream sends a comment, well under common proxy timeouts.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Whether the client asks for an event stream.
pub fn wanted(headers: &HeaderMap) -> bool {
    header_str(headers, header::ACCEPT).is_some_and(|accept| {
        accept
            .split(',')
            .any(|part| part.split(';').next().map(str::trim) == Some("text/event-stream"))
    })
}

/// Runs `request` (already given its context) and streams its results.
pub async fn stream(
    state: &HttpState,
    headers: &HeaderMap,
    request: async_graphql::Request,
) -> Response {
    let app = state.app.clone();
    let authorization = header_str(headers, header::AUTHORIZATION).map(str::to_owned);
    // Open streams get no leeway, as open sockets do: a token is good until its `exp`.
    let authn = Authn::from_header(&app, authorization.as_deref(), 0).await;
    if let Some(fault) = authn.fault(&request_id_of(&request)) {
        // The token could not be checked: the operation does not run at all.
        return one_result(&json!({ "errors": [fault] }));
    }
    let registration = match &authn {
        Authn::Signed(session) => Some(app.realtime.sockets.register(
            session.workspace_id,
            session.user.id,
            session.token_expires_at,
        )),
        _ => None,
    };
    let mut results = state.schema.execute_stream(request.data(authn));
    let (events, received) = mpsc::channel::<Event>(16);
    tokio::spawn(async move {
        let watch = Watch {
            app,
            authorization,
            registration,
        };
        loop {
            tokio::select! {
                result = results.next() => match result {
                    Some(result) => {
                        let (_, body) = super::graphql::body_of(result);
                        if events.send(next(&body)).await.is_err() {
                            return;
                        }
                    }
                    None => break,
                },
                ended = watch.ended() => match ended {
                    // Ended without `complete`, so the client connects again (to another instance).
                    Ended::Shutdown => return,
                    Ended::AccessLost(reason) => {
                        let body = json!({ "errors": [{ "message": reason, "extensions": { "code": "UNAUTHENTICATED" } }] });
                        let _ = events.send(next(&body)).await;
                        break;
                    }
                },
                () = events.closed() => return,
            }
        }
        let _ = events
            .send(Event::default().event("complete").data(""))
            .await;
    });
    respond(received)
}

/// A refusal found before there was anything to run, as one `next` event.
pub fn refused(code: &str, message: &str) -> Response {
    one_result(&json!({ "errors": [{ "message": message, "extensions": { "code": code } }] }))
}

/// One result as a `next` event, then `complete`.
fn one_result(body: &serde_json::Value) -> Response {
    let (events, received) = mpsc::channel(2);
    let _ = events.try_send(next(body));
    let _ = events.try_send(Event::default().event("complete").data(""));
    respond(received)
}

/// The request id the request was given (for its INTERNAL errors).
fn request_id_of(request: &async_graphql::Request) -> String {
    request
        .data
        .get(&std::any::TypeId::of::<RequestId>())
        .and_then(|data| data.downcast_ref::<RequestId>())
        .map(|id| id.0.clone())
        .unwrap_or_default()
}

fn next(body: &serde_json::Value) -> Event {
    Event::default().event("next").data(body.to_string())
}

fn respond(received: mpsc::Receiver<Event>) -> Response {
    let events = futures_util::stream::unfold(received, |mut received| async move {
        let event = received.recv().await?;
        Some((Ok::<_, Infallible>(event), received))
    });
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    // Reverse proxies (nginx) would otherwise hold events back in a buffer.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// Why a signed-in stream ends early.
enum Ended {
    Shutdown,
    /// The token expired, or the member's access or the key is gone.
    AccessLost(String),
}

/// What ends a signed-in stream early.
struct Watch {
    app: crate::state::SharedState,
    authorization: Option<String>,
    registration: Option<Registration>,
}

impl Watch {
    /// Resolves when the stream must end; never for an anonymous one.
    async fn ended(&self) -> Ended {
        let Some(registration) = &self.registration else {
            return std::future::pending().await;
        };
        loop {
            let flags = registration.signals.wait().await;
            if flags & flag::SHUTDOWN != 0 {
                return Ended::Shutdown;
            }
            if flags & flag::EXPIRED != 0 {
                return Ended::AccessLost("token expired".into());
            }
            if flags & (flag::RECHECK | flag::RECHECK_SOON) != 0 {
                let header = self.authorization.as_deref().unwrap_or_default();
                match session::check(&self.app, header, 0).await {
                    Ok(_) => {}
                    Err(AppError::Unauthenticated(reason)) => return Ended::AccessLost(reason),
                    Err(err) => tracing::warn!(error = %err, "checking a stream's access failed"),
                }
            }
        }
    }
}
