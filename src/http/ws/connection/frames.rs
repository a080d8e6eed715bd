//! A signed-in socket's frames: parsing what the client sends, and
//! `connection_init` (signing the socket in, within its user's cap of
//! open sockets, or refusing it).

use serde_json::Value;

use super::{Connection, Step};
use crate::{
    auth::Authn,
    error::AppError,
    http::{
        caps::{Live, Refused},
        ws::protocol::{self, close, ClientFrame, Protocol},
    },
};

impl Connection {
    pub(super) async fn on_text(&mut self, text: &str) -> Step {
        let Some(frame) = protocol::parse(self.protocol, text) else {
            return Err((close::INVALID_MESSAGE, "Invalid message received".into()));
        };
        match frame {
            ClientFrame::Init { payload } => self.on_init(payload).await,
            ClientFrame::Ping { payload } => {
                self.send(protocol::pong(payload));
                Ok(())
            }
            ClientFrame::Pong => Ok(()),
            ClientFrame::Subscribe { id, payload } => self.on_subscribe(id, payload).await,
            ClientFrame::Complete { id } => {
                if let Some(task) = self.operations.remove(&id) {
                    task.abort();
                }
                Ok(())
            }
            ClientFrame::Terminate => Err((1000, "Normal closure".into())),
        }
    }

    pub(super) async fn on_init(
        &mut self,
        payload: Option<serde_json::Map<String, Value>>,
    ) -> Step {
        if self.signed_in() {
            return Err((
                close::TOO_MANY_INITS,
                "Too many initialisation requests".into(),
            ));
        }
        let authorization = payload.as_ref().and_then(|p| {
            ["authorization", "Authorization"]
                .iter()
                .find_map(|k| p.get(*k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        // Open sockets get no leeway: a token is good until its `exp` and not a second longer.
        match Authn::from_header(&self.http.app, authorization.as_deref(), 0).await {
            Authn::Signed(session) => {
                let live = &self.http.app.live;
                match live.admit_user(Live::Websocket, session.principal()) {
                    Ok(place) => self.user = place,
                    Err(refused) => return self.refuse_over_cap(refused),
                }
                self.registration = Some(self.http.app.realtime.sockets.register(
                    session.workspace_id,
                    session.user.id,
                    session.token_expires_at,
                ));
                self.authorization = authorization;
                self.send(protocol::ack(self.protocol));
                Ok(())
            }
            Authn::Rejected(reason) => self.refuse_init(reason).await,
            Authn::Failed(cause) => {
                self.fail_init(AppError::Internal(cause).client_error(&self.request_id.0))
            }
            Authn::Anonymous => {
                self.refuse_init(
                    "connection_init must carry {\"authorization\": \"Bearer <token>\"}".into(),
                )
                .await
            }
        }
    }

    /// The token could not be checked (the server's fault): the INTERNAL
    /// error as the close reason (4500), after a `connection_error` carrying
    /// it on the legacy protocol.
    fn fail_init(&self, error: Value) -> Step {
        if self.protocol == Protocol::LegacyWs {
            self.send(serde_json::json!({ "type": "connection_error", "payload": error }));
        }
        Err((close::INTERNAL_ERROR, protocol::close_reason(&error)))
    }

    /// The user holds as many sockets as they may: RATE_LIMITED as the close
    /// reason (4430), after a `connection_error` carrying it on the legacy
    /// protocol.
    fn refuse_over_cap(&self, refused: Refused) -> Step {
        crate::telemetry::rate_limited(refused.limit());
        let error = refused.error();
        if self.protocol == Protocol::LegacyWs {
            self.send(serde_json::json!({ "type": "connection_error", "payload": error }));
        }
        Err((close::RATE_LIMITED, protocol::close_reason(&error)))
    }

    async fn refuse_init(&self, reason: String) -> Step {
        if self.protocol == Protocol::LegacyWs {
            self.send(protocol::connection_error(&reason));
        }
        Err((close::FORBIDDEN, "Forbidden".into()))
    }
}
