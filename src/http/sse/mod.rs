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
//!   API key, on any instance), checked as an open websocket is (`watch`),
//!   however fast its events come. At shutdown it ends without `complete`,
//!   so the client connects again.
//! - One client address, and one user, hold at most
//!   `ATELYA_SSE_MAX_PER_ADDRESS` and `ATELYA_SSE_MAX_PER_USER` streams open
//!   on an instance (`http::caps`); one more is answered 429 RATE_LIMITED.
//! - A comment keeps the connection alive every [`KEEP_ALIVE`].

mod watch;

use std::{convert::Infallible, time::Duration};

use axum::{
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
};
use futures_util::{stream::BoxStream, StreamExt};
use serde_json::json;
use tokio::sync::mpsc;
use uuid::Uuid;

use self::watch::{signalled, until, Ended, Watch};
use super::{
    caps::{Live, Place, Refused},
    graphql::header_str,
    HttpState,
};
use crate::{
    auth::Authn,
    graphql::context::{ClientIp, RequestId},
    state::SharedState,
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

/// Runs `request` (already given its context) and streams its results;
/// 429 when the client address or the user holds as many streams as it may.
pub async fn stream(
    state: &HttpState,
    headers: &HeaderMap,
    request: async_graphql::Request,
) -> Response {
    let app = state.app.clone();
    let client_ip = context_of::<ClientIp>(&request).map(|ip| ip.0);
    let address = match app
        .live
        .admit_address(Live::Stream, &client_ip.unwrap_or_default())
    {
        Ok(place) => place,
        Err(refused) => return too_many(&refused),
    };
    let authorization = header_str(headers, header::AUTHORIZATION).map(str::to_owned);
    // Open streams get no leeway, as open sockets do: a token is good until its `exp`.
    let authn = Authn::from_header(&app, authorization.as_deref(), 0).await;
    let request_id = context_of::<RequestId>(&request).map(|id| id.0);
    if let Some(fault) = authn.fault(&request_id.unwrap_or_default()) {
        // The token could not be checked: the operation does not run at all.
        return one_result(&json!({ "errors": [fault] }));
    }
    let (watch, user) = match watched(&app, authorization, &authn) {
        Ok(watched) => watched,
        Err(refused) => return too_many(&refused),
    };
    let results = state.schema.execute_stream(request.data(authn));
    let (events, received) = mpsc::channel::<Event>(16);
    tokio::spawn(forward(results, events, watch, (address, user)));
    respond(received)
}

/// A signed-in stream's watch, registered like a socket, and its place
/// under its user's cap; neither for an anonymous stream.
fn watched(
    app: &SharedState,
    authorization: Option<String>,
    authn: &Authn,
) -> Result<(Option<Watch>, Place<Uuid>), Refused> {
    let Authn::Signed(session) = authn else {
        return Ok((None, None));
    };
    let user = app.live.admit_user(Live::Stream, session.principal())?;
    let registration = app.realtime.sockets.register(
        session.workspace_id,
        session.user.id,
        session.token_expires_at,
    );
    let authorization = authorization.unwrap_or_default();
    Ok((
        Some(Watch::new(app.clone(), authorization, registration)),
        user,
    ))
}

/// Sends each result as a `next` event until the results end (then
/// `complete`), the client goes, or the watch ends the stream. `_places`
/// are the stream's places under the caps: they go when this task ends,
/// however it ends.
async fn forward(
    mut results: BoxStream<'static, async_graphql::Response>,
    events: mpsc::Sender<Event>,
    mut watch: Option<Watch>,
    _places: (Place<String>, Place<Uuid>),
) {
    let ended = loop {
        let signals = watch.as_ref().map(Watch::signals);
        let due = watch.as_ref().and_then(Watch::due);
        let end = tokio::select! {
            // The watch comes before the results, so that no flood of events
            // keeps a stream from hearing that its access is gone; and its
            // checks run here, in the branch, where an event cannot cut them short.
            biased;
            () = events.closed() => return,
            flags = signalled(signals) => match watch.as_mut() {
                Some(watch) => watch.on_signals(flags).await,
                None => None,
            },
            () = until(due) => match watch.as_mut() {
                Some(watch) => watch.recheck().await,
                None => None,
            },
            result = results.next() => match result {
                Some(result) => {
                    let (_, body) = super::graphql::body_of(result);
                    if events.send(next(&body)).await.is_err() {
                        return;
                    }
                    None
                }
                None => break None,
            },
        };
        if end.is_some() {
            break end;
        }
    };
    match ended {
        // Ended without `complete`, so the client connects again (to another instance).
        Some(Ended::Shutdown) => return,
        Some(Ended::AccessLost(reason)) => {
            let body = json!({ "errors": [{ "message": reason, "extensions": { "code": "UNAUTHENTICATED" } }] });
            let _ = events.send(next(&body)).await;
        }
        None => {}
    }
    let _ = events
        .send(Event::default().event("complete").data(""))
        .await;
}

/// 429 with the RATE_LIMITED error, before any stream: a graphql-sse
/// client reads a refusal from the status, as it does a 401.
fn too_many(refused: &Refused) -> Response {
    crate::telemetry::rate_limited(refused.limit());
    let body = json!({ "errors": [refused.error()] });
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
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

/// What the request was given in its context: its request id (for its
/// INTERNAL errors), the client's address (for the caps).
fn context_of<T: Clone + Send + Sync + 'static>(request: &async_graphql::Request) -> Option<T> {
    request
        .data
        .get(&std::any::TypeId::of::<T>())
        .and_then(|data| data.downcast_ref::<T>())
        .cloned()
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
