//! Starting an operation: the socket's limits, a fresh read of the member's
//! roles, and the task that runs it.

use std::sync::Arc;

use serde_json::Value;
use tracing::Instrument;

use super::{Connection, Step};
use crate::{
    auth::Authn,
    graphql::context::{ClientIp, Loaders},
    http::{
        request::request_from_json,
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
            let errors = serde_json::json!([{ "message": message, "extensions": { "code": "RATE_LIMITED" } }]);
            self.send(protocol::error(self.protocol, &id, errors));
            return Ok(());
        }
        let mut payload = payload;
        let mut registration = None;
        if let Value::Object(map) = &mut payload {
            match self.http.persisted.resolve(map).await {
                Ok(found) => registration = found,
                Err(refusal) => {
                    let errors = serde_json::json!([{ "message": refusal.message(), "extensions": { "code": refusal.code() } }]);
                    self.send(protocol::error(self.protocol, &id, errors));
                    return Ok(());
                }
            }
        }
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
            .data(authn.clone())
            .data(Arc::new(Loaders::new(&self.http.app)))
            .data(ClientIp(self.client_ip.clone()))
            .data(self.request_id.clone());
        let op = Operation {
            id: id.clone(),
            protocol: self.protocol,
            out: self.out.clone(),
            http: self.http.clone(),
            template: Some(template.with(authn, self.client_ip.clone())),
        };
        // The operation's log lines carry the socket's span (and request id).
        let task = tokio::spawn(operation::run(op, request).instrument(tracing::Span::current()));
        self.operations.insert(id, task);
        Ok(())
    }
}
