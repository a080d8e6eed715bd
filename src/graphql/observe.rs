//! What every GraphQL operation leaves behind: its name on the request's
//! span (so every log line of it names the operation), its count and latency
//! by name and type, and its errors by code.
//!
//! An async-graphql extension, so HTTP and websockets share it. It is the
//! outermost extension: the error codes it counts are the final ones.

use std::{
    collections::HashSet,
    sync::{Arc, LazyLock, Mutex},
    time::Instant,
};

use async_graphql::{
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
        NextPrepareRequest, NextRequest,
    },
    parser::types::{DocumentOperations, ExecutableDocument, OperationType},
    Request, Response, ServerResult, Variables,
};
use metrics::{counter, histogram};

use super::limits::code_of;
use crate::telemetry::{
    Live, GRAPHQL_DURATION, GRAPHQL_ERRORS, GRAPHQL_OPERATIONS, SUBSCRIPTIONS_LIVE,
};

/// Longest operation name kept as a label; clients choose names, so a
/// longer or odd one is counted as `other` to bound the label's values.
const NAME_MAX: usize = 64;
/// Distinct operation names kept as labels: each is a counter and a
/// histogram for the process's life, so names past these are `other`.
const NAMES_KEPT: usize = 500;

/// The operation names already labelled, process-wide like the recorder.
static NAMES: LazyLock<Labels> = LazyLock::new(|| Labels::new(NAMES_KEPT));

pub struct Observe;

impl ExtensionFactory for Observe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ObserveExtension {
            wanted: Mutex::new(None),
            operation: Mutex::new(None),
            live: Mutex::new(None),
        })
    }
}

struct ObserveExtension {
    /// The request's `operationName`.
    wanted: Mutex<Option<String>>,
    /// The name and type of the operation the document selects.
    operation: Mutex<Option<(String, &'static str)>>,
    /// A subscription counts as live while its stream (and so this) lives.
    live: Mutex<Option<Live>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for ObserveExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let response = next.run(ctx).await;
        for err in &response.errors {
            let code = code_of(err).unwrap_or_else(|| "UNKNOWN".into());
            counter!(GRAPHQL_ERRORS, "code" => code).increment(1);
        }
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        *self.wanted.lock().expect("operation lock") = request.operation_name.clone();
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let wanted = self.wanted.lock().expect("operation lock").clone();
        let (name, ty) = selected(&document, query, wanted.as_deref());
        tracing::Span::current().record("operation", name.as_str());
        if ty == "subscription" {
            // A subscription is not executed, it streams: count it once here.
            counter!(GRAPHQL_OPERATIONS, "operation" => name.clone(), "type" => ty).increment(1);
            *self.live.lock().expect("live lock") = Some(Live::new(SUBSCRIPTIONS_LIVE));
        }
        *self.operation.lock().expect("operation lock") = Some((name, ty));
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let started = Instant::now();
        let response = next.run(ctx, operation_name).await;
        let (name, ty) = self
            .operation
            .lock()
            .expect("operation lock")
            .clone()
            .unwrap_or_else(|| (label(operation_name), "query"));
        histogram!(GRAPHQL_DURATION, "operation" => name.clone(), "type" => ty)
            .record(started.elapsed().as_secs_f64());
        counter!(GRAPHQL_OPERATIONS, "operation" => name, "type" => ty).increment(1);
        response
    }
}

/// The label and type of the operation `document` (the text `query`) runs:
/// the one named `wanted`, or its only one.
fn selected<'a>(
    document: &'a ExecutableDocument,
    query: &'a str,
    wanted: Option<&'a str>,
) -> (String, &'static str) {
    let (name, ty) = match (&document.operations, wanted) {
        // The parser keeps no name for a lone operation: read it off the text.
        (DocumentOperations::Single(op), _) => (leading_name(query), op.node.ty),
        (DocumentOperations::Multiple(ops), Some(wanted)) => {
            match ops.iter().find(|(n, _)| n.as_str() == wanted) {
                Some((n, op)) => (Some(n.as_str()), op.node.ty),
                None => (Some(wanted), OperationType::Query),
            }
        }
        (DocumentOperations::Multiple(ops), None) => match ops.iter().next() {
            Some((n, op)) => (Some(n.as_str()), op.node.ty),
            None => (None, OperationType::Query),
        },
    };
    let name = name.or(wanted);
    let ty = match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    (label(name), ty)
}

/// The name of a document that starts with its operation (`query Name …`).
fn leading_name(query: &str) -> Option<&str> {
    let mut rest = query.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
    while rest.starts_with('#') {
        rest = rest.split_once('\n').map_or("", |(_, r)| r).trim_start();
    }
    let rest = ["query", "mutation", "subscription"]
        .iter()
        .find_map(|keyword| rest.strip_prefix(keyword))?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let rest = rest.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

fn label(name: Option<&str>) -> String {
    NAMES.label(name)
}

/// The operation names in use as labels, at most `kept`: the first ones
/// seen, which for a real client are its few operations.
struct Labels {
    names: Mutex<HashSet<String>>,
    kept: usize,
}

impl Labels {
    fn new(kept: usize) -> Labels {
        Labels {
            names: Mutex::new(HashSet::new()),
            kept,
        }
    }

    fn label(&self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return "anonymous".into();
        };
        let plain =
            name.len() <= NAME_MAX && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !plain {
            return "other".into();
        }
        let mut names = self.names.lock().expect("labels lock");
        if !names.contains(name) {
            if names.len() == self.kept {
                return "other".into();
            }
            names.insert(name.to_owned());
        }
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(query: &str, wanted: Option<&str>) -> (String, &'static str) {
        let document = async_graphql::parser::parse_query(query).unwrap();
        selected(&document, query, wanted)
    }

    #[test]
    fn the_label_is_the_selected_operations_name_and_type() {
        assert_eq!(
            of("{ viewer { user { id } } }", None),
            ("anonymous".into(), "query")
        );
        assert_eq!(
            of("# me\nquery Me($x: Int) { viewer { user { id } } }", None),
            ("Me".into(), "query")
        );
        assert_eq!(
            of("mutation{ logout }", None),
            ("anonymous".into(), "mutation")
        );
        assert_eq!(
            of("query A { a } mutation B { b }", Some("B")),
            ("B".into(), "mutation")
        );
        assert_eq!(
            of("subscription Live { activity { id } }", Some("Live")),
            ("Live".into(), "subscription")
        );
        assert_eq!(label(Some("has-dash")), "other");
        assert_eq!(label(Some(&"x".repeat(65))), "other");
    }

    #[test]
    fn names_past_the_kept_ones_are_other_so_labels_stay_bounded() {
        let labels = Labels::new(3);
        for name in ["A", "B", "C"] {
            assert_eq!(labels.label(Some(name)), name);
        }
        assert_eq!(labels.label(Some("D")), "other");
        assert_eq!(labels.label(Some("B")), "B", "a kept name stays itself");
        assert_eq!(labels.label(None), "anonymous");
        assert_eq!(labels.names.lock().unwrap().len(), 3);
    }
}
