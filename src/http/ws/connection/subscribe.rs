//! Starting an operation: the socket's limits, a fresh read of the member's
//! roles, and the task that runs it.

use std::sync::Arc;

use async_graphql::parser::types::OperationType;
use serde_json::Value;
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

use super::{Connection, Step};
use crate::{
    auth::Authn,
    graphql::context::{ClientIp, Loaders},
    http::{
        request::{operation_type, request_from_json},
        ws::{
            operation::{self, Operation},
            protocol::{self, close},
        },
    },
};

impl Connection {
    pub(super) async fn on_subscribe(&mut self, id: String, payload: Value) -> Step {
        if !self.signed_in() {
            return Err((close::UNAUTHORIZED, "Unauthorized".into()));
        }
        // A finished operation's id may be used again.
        self.operations.retain(|_, task| !task.is_finished());
        if self.operations.contains_key(&id) {
            return Err((
                close::SUBSCRIBER_EXISTS,
                format!("Subscriber for {id} already exists"),
            ));
        }
        if self.operations.len() >= self.settings.max_operations {
            let message = format!(
                "a socket runs at most {} operations at once",
                self.settings.max_operations
            );
            self.refuse(&id, &message, "RATE_LIMITED");
            return Ok(());
        }
        let mut payload = payload;
        let mut registration = None;
        if let Value::Object(map) = &mut payload {
            match self.http.persisted.resolve(map).await {
                Ok(found) => registration = found,
                Err(refusal) => {
                    self.refuse(&id, &refusal.message(), refusal.code());
                    return Ok(());
                }
            }
        }
        let Some(held) = self.hold(&payload) else {
            let message = "the operations running on this socket hold too many bytes of documents and variables; complete some first";
            self.refuse(&id, message, "RATE_LIMITED");
            return Ok(());
        };
        let template = operation::TemplateSource::of(&payload);
        let request = match request_from_json(payload) {
            Ok(request) => request,
            Err(_) => return Err((close::INVALID_MESSAGE, "Invalid message received".into())),
        };
        // Roles are read fresh for every operation, as on HTTP.
        let authn = Authn::from_header(&self.http.app, self.authorization.as_deref(), 0).await;
        if let Some(fault) = authn.fault(&self.request_id.0) {
            // The server failed to read the access, not the client: this operation alone fails.
            self.send(protocol::error(
                self.protocol,
                &id,
                serde_json::json!([fault]),
            ));
            return Ok(());
        }
        if !matches!(authn, Authn::Signed(_)) {
            return Err((close::FORBIDDEN, "Forbidden".into()));
        }
        let request = crate::http::graphql::registered(request, registration)
            .data(authn)
            .data(Arc::new(Loaders::new(&self.http.app)))
            .data(ClientIp(self.client_ip.clone()))
            .data(self.request_id.clone());
        let limits = &self.http.app.config.limits;
        let single = operation_type(&request, limits.max_tokens, &self.http.app.documents)
            != Some(OperationType::Subscription);
        let op = Operation {
            id: id.clone(),
            protocol: self.protocol,
            out: self.out.clone(),
            http: self.http.clone(),
            template: Some(template),
            request_id: self.request_id.clone(),
            turns: single.then(|| self.turns.clone()),
        };
        let run = async move {
            // Given back when the operation ends, or is aborted.
            let _held = held;
            operation::run(op, request).await
        };
        // The operation's log lines carry the socket's span (and request id).
        let task = tokio::spawn(run.instrument(tracing::Span::current()));
        self.operations.insert(id, task);
        Ok(())
    }

    /// The operation's share of what the socket's operations may hold: its
    /// document and variables, in bytes; `None` when there is no room.
    fn hold(&self, payload: &Value) -> Option<OwnedSemaphorePermit> {
        let query = payload["query"].as_str().map_or(0, str::len);
        let variables = match &payload["variables"] {
            Value::Null => 0,
            variables => variables.to_string().len(),
        };
        let size = u32::try_from(query + variables).unwrap_or(u32::MAX).max(1);
        self.held.clone().try_acquire_many_owned(size).ok()
    }

    fn refuse(&self, id: &str, message: &str, code: &str) {
        let errors = serde_json::json!([{ "message": message, "extensions": { "code": code } }]);
        self.send(protocol::error(self.protocol, id, errors));
    }
}
