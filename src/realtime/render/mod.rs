//! Rendering a workroom's events once per subscription shape.
//!
//! Thousands of watchers of one workroom usually send the same subscription
//! document. Resolving and serializing each event for each of them would cost
//! the server more than writing the bytes to their sockets, so a transport
//! that can (the websocket layer) takes a watcher's stream over
//! ([`Takeover`]) and asks the feed's [`Shapes`] for each event's payload:
//! the first watcher of a shape renders it through the schema (with the
//! event as [`RenderEvents`] request data), every other one reuses the bytes.
//!
//! A shape is the document, its operation and the values of the variables
//! its selection uses (the root field's own arguments, such as `afterSeq`,
//! do not change how an event renders). Nothing a watcher's identity could
//! change is in a rendered event: its fields (and the actor's) read the same
//! for every member of the workspace.

use std::{
    hash::{Hash, Hasher},
    sync::{Arc, Mutex},
};

use async_graphql::{Request, Variables};
use entity::workroom_event;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::Notify;

use self::variables::used_variables;
use super::watch::EventWatch;
use crate::{
    auth::Authn,
    graphql::{
        context::{ClientIp, Loaders},
        AppSchema,
    },
    http::graphql::body_of,
    state::SharedState,
};

mod shapes;
mod variables;

pub use shapes::{Shape, Shapes};

/// Request data: resolve `workroomEvents` as exactly these events, already
/// authorized by the transport that asks.
pub struct RenderEvents(pub Vec<Arc<workroom_event::Model>>);

/// Request data: the transport takes over the `workroomEvents` stream the
/// resolver authorized, to render it once per shape.
#[derive(Default)]
pub struct Takeover {
    watch: Mutex<Option<EventWatch>>,
    given: Notify,
}

impl Takeover {
    /// Called by the resolver in place of returning the stream.
    pub fn give(&self, watch: EventWatch) {
        *self.watch.lock().expect("takeover lock") = Some(watch);
        self.given.notify_one();
    }

    /// Waits until the resolver gave the stream.
    pub async fn taken(&self) -> EventWatch {
        loop {
            if let Some(watch) = self.watch.lock().expect("takeover lock").take() {
                return watch;
            }
            self.given.notified().await;
        }
    }
}

/// How to render events the way one subscription asked for them.
pub struct Template {
    pub schema: AppSchema,
    pub state: SharedState,
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: Value,
    /// A subscriber's credentials: rendering passes the same field guards.
    pub authn: Authn,
    pub client_ip: String,
}

impl Template {
    /// The shape's identity (see the module's documentation).
    pub fn key(&self) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.query.hash(&mut hasher);
        self.operation_name.hash(&mut hasher);
        match used_variables(&self.query, self.operation_name.as_deref()) {
            Some(names) => {
                let mut names: Vec<_> = names.into_iter().collect();
                names.sort();
                for name in names {
                    name.hash(&mut hasher);
                    self.variables
                        .get(&name)
                        .map(Value::to_string)
                        .hash(&mut hasher);
                }
            }
            None => self.variables.to_string().hash(&mut hasher),
        }
        hasher.finish()
    }

    /// Renders `rows` as `next` payloads, one each, in order; or the
    /// payload of the error that stopped it.
    async fn render(&self, rows: Vec<Arc<workroom_event::Model>>) -> Result<Vec<Arc<str>>, Value> {
        let count = rows.len();
        let request = Request::new(self.query.clone())
            .variables(Variables::from_json(self.variables.clone()))
            .data(RenderEvents(rows))
            .data(self.authn.clone())
            .data(Arc::new(Loaders::new(&self.state)))
            .data(ClientIp(self.client_ip.clone()));
        let request = match &self.operation_name {
            Some(name) => request.operation_name(name),
            None => request,
        };
        let responses: Vec<_> = self.schema.execute_stream(request).collect().await;
        let mut payloads = Vec::with_capacity(count);
        for response in responses {
            let (failed, body) = body_of(response);
            if failed {
                return Err(body);
            }
            payloads.push(Arc::from(body.to_string()));
        }
        if payloads.len() != count {
            return Err(
                serde_json::json!({ "errors": [{ "message": "internal error", "extensions": { "code": "INTERNAL" } }] }),
            );
        }
        Ok(payloads)
    }
}
