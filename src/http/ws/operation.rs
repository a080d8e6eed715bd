//! One operation of a socket: a query, a mutation or a subscription, run by
//! the schema, its results queued as frames for the connection's writer.
//!
//! A `workroomEvents` subscription is taken over once the schema has
//! authorized it ([`Takeover`]): its events are rendered once per
//! subscription shape for every watcher of the workroom on this instance
//! (`realtime::render`), and this task only frames the shared payloads.

use std::sync::Arc;

use async_graphql::Request;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::{
    protocol::{self, Protocol},
    writer::{Out, Results},
};
use crate::{
    error::AppError,
    graphql::context::RequestId,
    http::{graphql::body_of, HttpState},
    realtime::{
        render::{Takeover, Template},
        watch::EventWatch,
    },
};

pub(super) struct Operation {
    pub id: String,
    pub protocol: Protocol,
    pub out: Results,
    pub http: Arc<HttpState>,
    /// What a shared rendering needs; let go once the shape is found.
    pub template: Option<TemplateSource>,
    /// The socket's request id, for the INTERNAL errors this task sends itself.
    pub request_id: RequestId,
    /// A query's or mutation's turn to run, among the socket's few: its
    /// one result may be large, and it holds that result until the queue
    /// takes it, so only a few may be rendered and waiting at once.
    pub turns: Option<Arc<Semaphore>>,
}

/// The parts of a subscribe payload a shared rendering needs (no
/// credentials: a shared rendering runs as no one).
pub(super) struct TemplateSource {
    query: String,
    operation_name: Option<String>,
    variables: Value,
}

impl TemplateSource {
    pub fn of(payload: &Value) -> TemplateSource {
        TemplateSource {
            query: payload["query"].as_str().unwrap_or_default().to_owned(),
            operation_name: payload["operationName"].as_str().map(str::to_owned),
            variables: match &payload["variables"] {
                Value::Object(vars) => Value::Object(vars.clone()),
                _ => Value::Object(Default::default()),
            },
        }
    }
}

/// How an operation's stream ended.
enum Ended {
    /// Every result was sent: `complete` follows.
    Completed,
    /// The request was refused before it ran: its `error` was sent, no `complete`.
    Refused,
    /// The socket is going away.
    Gone,
    /// A watcher's stream, to render once per shape.
    TakenOver(Box<EventWatch>),
}

pub(super) async fn run(mut op: Operation, request: Request) {
    let _turn = match op.turns.take() {
        Some(turns) => match turns.acquire_owned().await {
            Ok(turn) => Some(turn),
            Err(_) => return,
        },
        None => None,
    };
    let takeover = Arc::new(Takeover::default());
    let ended = through_schema(&op, request.data(takeover.clone()), &takeover).await;
    drop(takeover);
    let ended = match ended {
        Ended::TakenOver(watch) => shared(&mut op, *watch).await,
        other => other,
    };
    if let Ended::Completed = ended {
        let _ = op.out.send(text(protocol::complete(&op.id))).await;
    }
}

fn text(value: Value) -> Out {
    Out::Text(value.to_string())
}

/// Runs the request through the schema until it ends or hands its stream over.
async fn through_schema(op: &Operation, request: Request, takeover: &Takeover) -> Ended {
    let mut responses = op.http.schema.execute_stream(request);
    let mut first = true;
    loop {
        tokio::select! {
            response = responses.next() => {
                let Some(response) = response else { return Ended::Completed };
                let (request_failed, body) = body_of(response);
                let frame = if first && request_failed {
                    protocol::error(op.protocol, &op.id, body["errors"].clone())
                } else {
                    protocol::next(op.protocol, &op.id, body)
                };
                if op.out.send(text(frame)).await.is_err() {
                    return Ended::Gone;
                }
                if first && request_failed {
                    return Ended::Refused;
                }
                first = false;
            }
            watch = takeover.taken() => return Ended::TakenOver(Box::new(watch)),
        }
    }
}

/// Delivers a watcher's events with payloads shared by its shape.
async fn shared(op: &mut Operation, mut watch: EventWatch) -> Ended {
    // The schema's stream (which counted this subscription) has ended: count it here.
    let _live = crate::telemetry::Live::new(crate::telemetry::SUBSCRIPTIONS_LIVE);
    let source = op
        .template
        .take()
        .expect("a template until the shape is found");
    let template = Template {
        schema: op.http.schema.clone(),
        state: op.http.app.clone(),
        query: source.query,
        operation_name: source.operation_name,
        variables: source.variables,
    };
    let shape = watch.feed.shapes.shape(template);
    loop {
        let rows = match watch.follower.next_batch().await {
            Ok(Some(rows)) => rows,
            Ok(None) => return Ended::Completed,
            Err(err) => return failed(op, err).await,
        };
        let payloads = match shape.payloads(&rows).await {
            Ok(payloads) => payloads,
            Err(err) => return failed(op, err).await,
        };
        for payload in payloads {
            let frame = protocol::next_text(op.protocol, &op.id, &payload);
            if op.out.send(Out::Text(frame)).await.is_err() {
                return Ended::Gone;
            }
        }
    }
}

/// Ends a stream on an error, sent as a result with its code (and, for
/// INTERNAL, the socket's request id, under which the cause is logged).
async fn failed(op: &Operation, err: AppError) -> Ended {
    let body = serde_json::json!({ "data": null, "errors": [err.client_error(&op.request_id.0)] });
    let _ = op
        .out
        .send(text(protocol::next(op.protocol, &op.id, body)))
        .await;
    Ended::Completed
}
