//! Rendering a workroom's events once per subscription shape.
//!
//! Thousands of watchers of one workroom usually send the same subscription
//! document. Resolving and serializing each event for each of them would cost
//! the server more than writing the bytes to their sockets, so a transport
//! that can (the websocket layer) takes a watcher's stream over
//! ([`Takeover`]) and asks the feed's [`Shapes`] for each event's payload:
//! whichever watcher of a shape first needs an event has it rendered
//! through the schema (with the event as [`RenderEvents`] request data),
//! every other one reuses the bytes.
//!
//! A shape is the document, its operation and the values of the variables
//! its selection uses (the root field's own arguments, such as `afterSeq`,
//! do not change how an event renders). A render is nobody's request: the
//! watchers share it, so it runs without a session ([`Rendering`] admits it
//! to the root field, whose events each watcher's own subscription
//! authorized) and draws on no one's cost budget (each subscription was
//! charged when it began). So nothing a watcher's identity could change may
//! be in a rendered event: its fields (and the actor's) read the same for
//! every member of the workspace, and one that needed a viewer would fail
//! the render rather than show one watcher's view to the others.
//!
//! A render that fails is tried again a few times; what still fails is
//! never kept nor sent as an event: its watchers are told INTERNAL (see
//! [`Shape::payloads`]).

use std::{
    hash::{Hash, Hasher},
    sync::{Arc, Mutex},
};

use async_graphql::{Context, Guard, Request, Variables};
use entity::workroom_event;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::Notify;

use self::variables::used_variables;
use super::watch::EventWatch;
use crate::{
    auth::Authn,
    graphql::{context::Loaders, AppSchema},
    http::graphql::body_of,
    state::SharedState,
};

mod shapes;
mod variables;

pub use shapes::{Shape, Shapes};

/// Request data: resolve `workroomEvents` as exactly these events, already
/// authorized by the transport that asks.
pub struct RenderEvents(pub Vec<Arc<workroom_event::Model>>);

/// The guard that admits a render of events (and nothing else) without a
/// session: only the server can put [`RenderEvents`] in a request, and it
/// does so with events each of their watchers was authorized to follow.
/// Written first in an `or`, so a request that is no render gets the other
/// guard's error.
pub struct Rendering;

impl Guard for Rendering {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        match ctx.data_opt::<RenderEvents>() {
            Some(_) => Ok(()),
            None => Err("not a render of events".into()),
        }
    }
}

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

/// How to render events the way one subscription asked for them. It holds
/// no credentials: see the module's documentation.
pub struct Template {
    pub schema: AppSchema,
    pub state: SharedState,
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: Value,
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

    /// Renders `rows` as `next` payloads, one each, in order; or why it
    /// could not (for the log: a client never sees it). A result with any
    /// error is a failure too: a field that failed once (the database
    /// erred) may not fail again, and no watcher may keep its error.
    async fn render(&self, rows: Vec<Arc<workroom_event::Model>>) -> Result<Vec<Arc<str>>, String> {
        let count = rows.len();
        // No session, no client address: a render is nobody's request.
        let request = Request::new(self.query.clone())
            .variables(Variables::from_json(self.variables.clone()))
            .data(RenderEvents(rows))
            .data(Authn::Anonymous)
            .data(Arc::new(Loaders::new(&self.state)));
        let request = match &self.operation_name {
            Some(name) => request.operation_name(name),
            None => request,
        };
        let responses: Vec<_> = self.schema.execute_stream(request).collect().await;
        let mut payloads = Vec::with_capacity(count);
        for response in responses {
            if let Some(error) = response.errors.first() {
                return Err(format!(
                    "{} (code {}, path {:?})",
                    error.message,
                    crate::graphql::limits::code_of(error).unwrap_or_default(),
                    error.path
                ));
            }
            let (_, body) = body_of(response);
            payloads.push(Arc::from(body.to_string()));
        }
        if payloads.len() != count {
            return Err(format!("{} results for {count} events", payloads.len()));
        }
        Ok(payloads)
    }
}
