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
    collections::{BTreeMap, HashMap, HashSet},
    hash::{Hash, Hasher},
    sync::{Arc, Mutex, Weak},
};

use async_graphql::{
    parser::types::{DocumentOperations, FragmentDefinition, Selection, SelectionSet},
    Name, Positioned, Request, Variables,
};
use entity::workroom_event;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::Notify;

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

/// Rendered payloads a shape keeps, newest first out.
const KEEP: usize = 512;

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

/// The shapes of one workroom's live watchers.
#[derive(Default)]
pub struct Shapes {
    shapes: Mutex<HashMap<u64, Weak<Shape>>>,
}

impl Shapes {
    /// The shape of `template`, shared with every watcher that has the same.
    pub fn shape(&self, template: Template) -> Arc<Shape> {
        let key = template.key();
        let mut shapes = self.shapes.lock().expect("shapes lock");
        if let Some(shape) = shapes.get(&key).and_then(Weak::upgrade) {
            return shape;
        }
        shapes.retain(|_, shape| shape.strong_count() > 0);
        let shape = Arc::new(Shape {
            template,
            rendered: Default::default(),
        });
        shapes.insert(key, Arc::downgrade(&shape));
        shape
    }

    /// How many distinct shapes are live.
    pub fn live(&self) -> usize {
        let shapes = self.shapes.lock().expect("shapes lock");
        shapes.values().filter(|s| s.strong_count() > 0).count()
    }
}

/// One way of rendering events, and the payloads rendered so far.
pub struct Shape {
    template: Template,
    /// Held while rendering, so watchers asking for one event render it once.
    rendered: tokio::sync::Mutex<Rendered>,
}

impl Shape {
    /// The payloads of `rows`, rendering those no watcher of this shape rendered yet.
    pub async fn payloads(
        &self,
        rows: &[Arc<workroom_event::Model>],
    ) -> Result<Vec<Arc<str>>, Value> {
        let mut rendered = self.rendered.lock().await;
        let missing: Vec<_> = rows
            .iter()
            .filter(|row| !rendered.has(row.seq))
            .cloned()
            .collect();
        let mut fresh = Vec::new();
        if !missing.is_empty() {
            let seqs: Vec<i64> = missing.iter().map(|row| row.seq).collect();
            // Boxed: a watcher's future stays small; rendering happens once per event and shape.
            let payloads = Box::pin(self.template.render(missing)).await?;
            fresh = seqs.into_iter().zip(payloads).collect();
        }
        let seqs: Vec<i64> = rows.iter().map(|row| row.seq).collect();
        Ok(rendered.answer(&seqs, fresh))
    }
}

/// The most recent payloads of a shape, by seq.
#[derive(Default)]
struct Rendered {
    payloads: BTreeMap<i64, Arc<str>>,
}

impl Rendered {
    fn has(&self, seq: i64) -> bool {
        self.payloads.contains_key(&seq)
    }

    /// The payloads of `seqs`, once `fresh` ones are added; then keeps the newest [`KEEP`].
    fn answer(&mut self, seqs: &[i64], fresh: Vec<(i64, Arc<str>)>) -> Vec<Arc<str>> {
        self.payloads.extend(fresh);
        // Taken before the trim, which may drop some of them.
        let answer = seqs.iter().map(|seq| self.payloads[seq].clone()).collect();
        while self.payloads.len() > KEEP {
            self.payloads.pop_first();
        }
        answer
    }
}

/// The variables the root field's selection set uses (its own arguments
/// excluded); `None` when the document cannot be read that way.
fn used_variables(query: &str, operation: Option<&str>) -> Option<HashSet<String>> {
    let document = async_graphql::parser::parse_query(query).ok()?;
    let operation = match (&document.operations, operation) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(&Name::new(name))?,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?,
        _ => return None,
    };
    let root = operation
        .node
        .selection_set
        .node
        .items
        .iter()
        .find_map(|s| match &s.node {
            Selection::Field(field) => Some(field),
            _ => None,
        })?;
    let mut used = HashSet::new();
    let mut seen_fragments = HashSet::new();
    for directive in &root.node.directives {
        for (_, value) in &directive.node.arguments {
            collect(&value.node, &mut used);
        }
    }
    walk(
        &root.node.selection_set.node,
        &document.fragments,
        &mut used,
        &mut seen_fragments,
    );
    Some(used)
}

fn walk(
    set: &SelectionSet,
    fragments: &HashMap<Name, Positioned<FragmentDefinition>>,
    used: &mut HashSet<String>,
    seen: &mut HashSet<Name>,
) {
    for selection in &set.items {
        let (directives, inner) = match &selection.node {
            Selection::Field(field) => {
                for (_, value) in &field.node.arguments {
                    collect(&value.node, used);
                }
                (&field.node.directives, Some(&field.node.selection_set.node))
            }
            Selection::InlineFragment(fragment) => (
                &fragment.node.directives,
                Some(&fragment.node.selection_set.node),
            ),
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                let inner = if seen.insert(name.clone()) {
                    fragments.get(name).map(|f| &f.node.selection_set.node)
                } else {
                    None
                };
                if let Some(fragment) = fragments.get(name) {
                    for directive in &fragment.node.directives {
                        for (_, value) in &directive.node.arguments {
                            collect(&value.node, used);
                        }
                    }
                }
                (&spread.node.directives, inner)
            }
        };
        for directive in directives {
            for (_, value) in &directive.node.arguments {
                collect(&value.node, used);
            }
        }
        if let Some(inner) = inner {
            walk(inner, fragments, used, seen);
        }
    }
}

/// Adds the variables `value` names.
fn collect(value: &async_graphql_value::Value, used: &mut HashSet<String>) {
    let _ = value.clone().into_const_with(|name| {
        used.insert(name.to_string());
        Ok::<_, ()>(async_graphql::Value::Null)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn used(query: &str) -> Vec<String> {
        let mut names: Vec<_> = used_variables(query, None).unwrap().into_iter().collect();
        names.sort();
        names
    }

    #[test]
    fn a_batch_is_answered_whole_even_when_the_cache_trims_it() {
        let payload = |seq: i64| -> (i64, Arc<str>) { (seq, Arc::from(seq.to_string())) };
        let mut rendered = Rendered::default();
        // Live events, then a watcher's replay from the start.
        rendered.answer(&[], (1001..=1100).map(payload).collect());
        rendered.answer(&[], (1..=500).map(payload).collect());
        // Another replay from 51: most of it is cached, the rest is rendered,
        // and the trim that follows drops cached seqs of this very batch.
        let seqs: Vec<i64> = (51..=550).collect();
        let missing = seqs.iter().copied().filter(|seq| !rendered.has(*seq));
        let answer = rendered.answer(&seqs, missing.map(payload).collect());
        let expected: Vec<String> = seqs.iter().map(i64::to_string).collect();
        assert_eq!(
            answer.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            expected
        );
        assert_eq!(rendered.payloads.len(), KEEP);
        assert!(rendered.has(1100) && rendered.has(550));
    }

    #[test]
    fn the_root_fields_arguments_do_not_make_a_shape() {
        assert!(used("subscription($w: ID!, $a: Int) { workroomEvents(workroomId: $w, afterSeq: $a) { seq text } }").is_empty());
        assert_eq!(
            used("subscription($w: ID!, $t: Boolean!) { workroomEvents(workroomId: $w) { seq text @include(if: $t) } }"),
            vec!["t"]
        );
        assert_eq!(
            used("subscription($w: ID!, $x: Boolean!) { workroomEvents(workroomId: $w) { ...F } } fragment F on WorkroomEvent { kind @skip(if: $x) }"),
            vec!["x"]
        );
    }
}
