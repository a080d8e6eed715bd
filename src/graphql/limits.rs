//! The document limits of DESIGN.md, and the error codes of requests that
//! never reach a resolver.
//!
//! Runs as an async-graphql extension, so HTTP, websockets and SSE share it.
//! A document over a limit gets exactly one error and goes no further: what
//! depends on its text alone is checked once (see [`super::admission`]: the
//! tokens, the syntax, the counts, the fragments' expansion, validation), and
//! a document that passed is kept by its text; then, on every request, its
//! cost with the variables (see [`super::cost`]), U+0000, introspection, the
//! variables' coercion (see [`super::variables`]), and only once nothing
//! refused it is the caller's cost budget charged.

use std::sync::Arc;

use async_graphql::{
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
        NextPrepareRequest, NextRequest, NextResolve, NextSubscribe, NextValidation, ResolveInfo,
    },
    futures_util::stream::{BoxStream, StreamExt},
    parser::types::{ExecutableDocument, OperationType},
    registry::MetaTypeName,
    ErrorExtensionValues, Request, Response, ServerError, ServerResult, ValidationResult,
    Variables,
};

pub use super::shape::check_shape;
use super::{
    context::{Registration, RequestId},
    documents::Parsed,
    response_size::ResponseBytes,
    shape::{refuse_nul_variables, selects_introspection},
    validate::Validator,
};
use crate::{auth::Authn, budget::Charge, config::Limits, error::INTERNAL_MESSAGE};

pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
pub(super) const BAD_USER_INPUT: &str = "BAD_USER_INPUT";

/// A request-level error with its code.
pub fn request_error(message: impl Into<String>, code: &str) -> ServerError {
    tag(ServerError::new(message, None), code)
}

/// Gives `err` a code unless it has one.
fn tag(mut err: ServerError, code: &str) -> ServerError {
    let ext = err
        .extensions
        .get_or_insert_with(ErrorExtensionValues::default);
    if ext.get("code").is_none() {
        ext.set("code", code);
    }
    err
}

pub fn code_of(err: &ServerError) -> Option<String> {
    match err.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

impl DocumentLimitsExtension {
    /// The checks of a kept document that depend on this request: its cost
    /// within the limit, no introspection where it is off, and variables
    /// that coerce to their types.
    fn admit_request(
        &self,
        ctx: &ExtensionContext<'_>,
        doc: &Parsed,
        variables: &Variables,
    ) -> ServerResult<()> {
        let cost = self.cost_of(ctx, doc, variables);
        if cost > self.limits.max_complexity {
            let message = format!(
                "the query is too complex: it costs {cost} and at most {} is allowed",
                self.limits.max_complexity
            );
            return Err(request_error(message, VALIDATION_FAILED));
        }
        if !self.introspection && selects_introspection(&doc.document) {
            // Refused outright: async-graphql would answer `__schema` (non-null) with null.
            return Err(request_error(
                "introspection is disabled",
                VALIDATION_FAILED,
            ));
        }
        let name = self
            .operation_name
            .lock()
            .expect("operation name lock")
            .clone();
        super::variables::coerce(
            &ctx.schema_env.registry,
            &doc.document,
            name.as_deref(),
            variables,
        )
    }

    /// The document's cost with these variables (kept, when it has none).
    fn cost_of(&self, ctx: &ExtensionContext<'_>, doc: &Parsed, variables: &Variables) -> usize {
        doc.cost(|| super::cost::of_document(&ctx.schema_env.registry, &doc.document, variables))
    }

    /// Charges a signed-in caller's cost budget; RATE_LIMITED when it is spent.
    async fn charge_budget(&self, ctx: &ExtensionContext<'_>, cost: usize) -> ServerResult<()> {
        let (Some(state), Some(Authn::Signed(session))) = (
            ctx.data_opt::<crate::state::SharedState>(),
            ctx.data_opt::<Authn>(),
        ) else {
            return Ok(());
        };
        if !state.budget.enabled() {
            return Ok(());
        }
        let charge = state
            .budget
            .charge(session.workspace_id, session.principal(), cost as u64)
            .await;
        *self.charge.lock().expect("charge lock") = Some(charge);
        if charge.allowed {
            return Ok(());
        }
        crate::telemetry::rate_limited("cost");
        let reset_at = charge
            .reset_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut err = request_error(
            format!(
                "this document costs {} and {} of your hourly budget of {} is left; it resets at {reset_at}",
                charge.requested, charge.remaining, charge.limit
            ),
            "RATE_LIMITED",
        );
        if let Some(ext) = err.extensions.as_mut() {
            ext.set("resetAt", reset_at);
        }
        Err(err)
    }
}

/// `extensions.cost` of a response: `{ requested, remaining, limit, resetAt }`.
fn cost_extension(charge: &Charge) -> async_graphql::Value {
    let mut cost = async_graphql::indexmap::IndexMap::new();
    cost.insert(
        async_graphql::Name::new("requested"),
        charge.requested.into(),
    );
    cost.insert(
        async_graphql::Name::new("remaining"),
        charge.remaining.into(),
    );
    cost.insert(async_graphql::Name::new("limit"), charge.limit.into());
    cost.insert(
        async_graphql::Name::new("resetAt"),
        charge
            .reset_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            .into(),
    );
    async_graphql::Value::Object(cost)
}

/// The limits, and whether introspection is allowed (it is not in production).
pub struct DocumentLimits {
    pub limits: Limits,
    pub introspection: bool,
    /// The spec's validation of this schema, built on the first request.
    pub validator: Arc<std::sync::OnceLock<Result<Validator, String>>>,
}

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DocumentLimitsExtension {
            limits: self.limits.clone(),
            introspection: self.introspection,
            validator: self.validator.clone(),
            response: ResponseBytes::new(self.limits.max_answer_bytes),
            document: Default::default(),
            operation_name: Default::default(),
            request_id: std::sync::Mutex::new(None),
            charge: std::sync::Mutex::new(None),
        })
    }
}

struct DocumentLimitsExtension {
    limits: Limits,
    introspection: bool,
    validator: Arc<std::sync::OnceLock<Result<Validator, String>>>,
    /// The bytes of the answer built so far.
    response: ResponseBytes,
    /// The parsed document, for null propagation and the order of fields.
    document: Arc<std::sync::Mutex<Option<Arc<Parsed>>>>,
    /// The request's `operationName`, for a subscription's events.
    operation_name: Arc<std::sync::Mutex<Option<String>>>,
    /// The request's id (request data is not readable from the request hook).
    request_id: std::sync::Mutex<Option<String>>,
    /// What the document drew from the caller's cost budget.
    charge: std::sync::Mutex<Option<Charge>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for DocumentLimitsExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        let request_id = self.request_id.lock().expect("request id lock").take();
        // Errors without a path come from before execution (such as an unknown
        // operation name): they are about the request, not a field.
        for err in &mut response.errors {
            if code_of(err).is_some() {
                continue;
            }
            *err = if err.path.is_empty() {
                tag(err.clone(), VALIDATION_FAILED)
            } else if err.message.starts_with("Failed to parse")
                || err.message.starts_with("Invalid value")
                || err.message.starts_with("Expected input type")
            {
                // An argument async-graphql could not coerce (a variable
                // given null for a non-null argument, as the spec lets a
                // variable with a default be): the caller's input, refused
                // before the resolver ran, a field error.
                tag(err.clone(), BAD_USER_INPUT)
            } else {
                tracing::error!(message = %err.message, path = ?err.path, "a field failed without a code");
                let mut internal = err.clone();
                internal.message = INTERNAL_MESSAGE.into();
                tag(internal, "INTERNAL")
            };
        }
        if let Some(charge) = self.charge.lock().expect("charge lock").take() {
            response
                .extensions
                .insert("cost".into(), cost_extension(&charge));
        }
        if let Some(id) = request_id {
            for err in &mut response.errors {
                if code_of(err).as_deref() == Some("INTERNAL") {
                    let ext = err.extensions.get_or_insert_with(Default::default);
                    ext.set("requestId", id.as_str());
                }
            }
        }
        response
    }

    /// A subscription's events (and a query's one response over a socket,
    /// unless [`execute`](Self::execute) ordered it) in the selection's order.
    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let document = self.document.clone();
        let operation_name = self.operation_name.clone();
        next.run(ctx, stream)
            .map(move |mut response| {
                let doc = document.lock().expect("document").clone();
                if let Some(doc) = doc {
                    let name = operation_name.lock().expect("operation name lock");
                    super::order::order(&mut response.data, &doc.document, name.as_deref());
                }
                response
            })
            .boxed()
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let id = request
            .data
            .get(&std::any::TypeId::of::<RequestId>())
            .and_then(|d| d.downcast_ref::<RequestId>());
        *self.request_id.lock().expect("request id lock") = id.map(|id| id.0.clone());
        *self.operation_name.lock().expect("operation name lock") = request.operation_name.clone();
        let mut request = request;
        super::variables::integral_numbers(&mut request.variables);
        next.run(ctx, request).await
    }

    /// Takes the document from the cache of those that passed, or admits it
    /// (see [`super::admission`]); then what depends on this request: the
    /// cost with its variables, the variables themselves, introspection in
    /// production, and last, only once nothing refused it, the budget (and
    /// the registration of a persisted query). async-graphql's own parse
    /// never runs: it walks every fragment expansion.
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        _next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // Like a limit, before validation: U+0000 is refused whatever else is wrong.
        refuse_nul_variables(variables)?;
        let state = ctx.data_opt::<crate::state::SharedState>();
        let doc = match state.and_then(|state| state.documents.get(query)) {
            Some(doc) => doc,
            None => {
                let validator =
                    super::validate::of_schema(&self.validator, self.introspection, || ctx.sdl())?;
                let doc = super::admission::admit(query, &self.limits, validator)?;
                if let Some(state) = state {
                    state.documents.put(query, doc.clone());
                }
                doc
            }
        };
        self.admit_request(ctx, &doc, variables)?;
        if let Some(registration) = ctx.data_opt::<Registration>() {
            registration.register(query).await;
        }
        let cost = self.cost_of(ctx, &doc, variables);
        self.charge_budget(ctx, cost).await?;
        let name = self
            .operation_name
            .lock()
            .expect("operation name lock")
            .clone();
        let operation = super::variables::chosen(&doc.document, name.as_deref());
        if operation.is_some_and(|op| op.node.ty != OperationType::Subscription) {
            self.response.count();
        }
        *self.document.lock().expect("document") = Some(doc.clone());
        Ok(doc.document.clone())
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        let document = self.document.lock().expect("document").take();
        if let Some(doc) = document {
            distinct_errors(&mut response.errors);
            super::response_size::one_refusal(&mut response.errors, &self.response.message());
            if !response.errors.is_empty() {
                super::nulls::propagate(
                    &mut response,
                    &doc.document,
                    operation_name,
                    &ctx.schema_env.registry,
                );
            }
            super::order::order(&mut response.data, &doc.document, operation_name);
        }
        response
    }

    /// Counts the answer's bytes as each field resolves (see [`ResponseBytes`]).
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<async_graphql::Value>> {
        self.response.before()?;
        let named = MetaTypeName::concrete_typename(info.return_type);
        let leaf = ctx
            .schema_env
            .registry
            .types
            .get(named)
            .is_some_and(|ty| ty.is_leaf());
        let value = next.run(ctx, info).await?;
        if let Some(value) = &value {
            self.response.after(value, leaf)?;
        }
        Ok(value)
    }

    /// The schema's own validation, in its fast mode, only gives the
    /// cache control (the spec's rules were applied on admission); kept
    /// with the document.
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let document = self.document.lock().expect("document").clone();
        if let Some(result) = document.as_ref().and_then(|doc| doc.validated()) {
            return Ok(result);
        }
        let result = next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| tag(e, VALIDATION_FAILED))
                .collect::<Vec<_>>()
        })?;
        if let Some(doc) = document {
            doc.passed(result);
        }
        Ok(result)
    }
}

/// The errors, each once: async-graphql resolves a field once per place it
/// is selected (a fragment spread twice selects it twice), where the spec
/// merges them into one field, which fails once.
fn distinct_errors(errors: &mut Vec<ServerError>) {
    if errors.len() < 2 {
        return;
    }
    let mut seen = std::collections::HashSet::new();
    errors.retain(|e| seen.insert(format!("{:?}{:?}{}", e.path, e.locations, e.message)));
}
