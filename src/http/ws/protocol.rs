//! The frames of graphql-transport-ws and of the legacy graphql-ws.

use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `graphql-transport-ws` (the graphql-ws library).
    TransportWs,
    /// `graphql-ws` (the legacy subscriptions-transport-ws).
    LegacyWs,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::TransportWs => "graphql-transport-ws",
            Protocol::LegacyWs => "graphql-ws",
        }
    }

    pub fn from_name(name: &str) -> Option<Protocol> {
        [Protocol::TransportWs, Protocol::LegacyWs]
            .into_iter()
            .find(|p| p.name() == name)
    }
}

/// Close codes of graphql-transport-ws (and RFC 6455's for a message over the limit).
pub mod close {
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    pub const INVALID_MESSAGE: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const SUBPROTOCOL_NOT_ACCEPTABLE: u16 = 4406;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const SUBSCRIBER_EXISTS: u16 = 4409;
    pub const TOO_MANY_INITS: u16 = 4429;
    /// One socket more than a cap of open websockets allows (per client
    /// address, per user): the code HTTP's 429 would be, beside 4429 which
    /// graphql-transport-ws already gives another meaning. A browser's
    /// graphql-ws client sees close codes, never an upgrade's status, and
    /// retries this one with backoff.
    pub const RATE_LIMITED: u16 = 4430;
    /// graphql-ws's Internal Server Error: the server failed, not the client.
    pub const INTERNAL_ERROR: u16 = 4500;
}

/// A GraphQL error object as a close frame's reason: its JSON, within the
/// 123 bytes a reason may hold. A client's own request id too long to fit
/// is left out (the client has it: it sent it, and the upgrade's
/// `x-request-id` says it again).
pub fn close_reason(error: &Value) -> String {
    const MAX: usize = 123;
    let reason = error.to_string();
    if reason.len() <= MAX {
        return reason;
    }
    let mut shorter = error.clone();
    if let Some(extensions) = shorter.get_mut("extensions").and_then(Value::as_object_mut) {
        extensions.remove("requestId");
    }
    let reason = shorter.to_string();
    if reason.len() <= MAX {
        reason
    } else {
        "Internal Server Error".into()
    }
}

/// A frame from the client, in either protocol's words.
#[derive(Debug)]
pub enum ClientFrame {
    Init {
        payload: Option<Map<String, Value>>,
    },
    Ping {
        payload: Option<Value>,
    },
    Pong,
    Subscribe {
        id: String,
        payload: Value,
    },
    Complete {
        id: String,
    },
    /// Legacy `connection_terminate`.
    Terminate,
}

/// Parses a text frame; `None` when it is not a valid message of `protocol`.
pub fn parse(protocol: Protocol, text: &str) -> Option<ClientFrame> {
    let Value::Object(mut msg) = serde_json::from_str::<Value>(text).ok()? else {
        return None;
    };
    let kind = msg.remove("type")?.as_str()?.to_owned();
    let id = || match msg.get("id") {
        Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
        _ => None,
    };
    let frame = match (protocol, kind.as_str()) {
        (_, "connection_init") => ClientFrame::Init {
            payload: match msg.remove("payload") {
                None | Some(Value::Null) => None,
                Some(Value::Object(map)) => Some(map),
                Some(_) => return None,
            },
        },
        (Protocol::TransportWs, "ping") => ClientFrame::Ping {
            payload: msg.remove("payload"),
        },
        (Protocol::TransportWs, "pong") => ClientFrame::Pong,
        (Protocol::TransportWs, "subscribe") | (Protocol::LegacyWs, "start") => {
            let id = id()?;
            match msg.remove("payload") {
                Some(payload @ Value::Object(_)) => ClientFrame::Subscribe { id, payload },
                _ => return None,
            }
        }
        (Protocol::TransportWs, "complete") | (Protocol::LegacyWs, "stop") => {
            ClientFrame::Complete { id: id()? }
        }
        (Protocol::LegacyWs, "connection_terminate") => ClientFrame::Terminate,
        _ => return None,
    };
    Some(frame)
}

pub fn ack(_protocol: Protocol) -> Value {
    json!({ "type": "connection_ack" })
}

pub fn pong(payload: Option<Value>) -> Value {
    match payload {
        Some(payload) => json!({ "type": "pong", "payload": payload }),
        None => json!({ "type": "pong" }),
    }
}

/// The name of a result message.
fn next_type(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::TransportWs => "next",
        Protocol::LegacyWs => "data",
    }
}

/// One result of an operation.
pub fn next(protocol: Protocol, id: &str, payload: Value) -> Value {
    json!({ "type": next_type(protocol), "id": id, "payload": payload })
}

/// One result of an operation whose payload is already serialized (shared
/// by many watchers): the same frame as [`next`] gives, without re-serializing it.
pub fn next_text(protocol: Protocol, id: &str, payload: &str) -> String {
    let id = serde_json::to_string(id).expect("a string serializes");
    let kind = next_type(protocol);
    let mut frame = String::with_capacity(payload.len() + id.len() + 32);
    frame.push_str("{\"type\":\"");
    frame.push_str(kind);
    frame.push_str("\",\"id\":");
    frame.push_str(&id);
    frame.push_str(",\"payload\":");
    frame.push_str(payload);
    frame.push('}');
    frame
}

/// The operation was refused before it ran (it does not parse or validate).
pub fn error(protocol: Protocol, id: &str, errors: Value) -> Value {
    match protocol {
        Protocol::TransportWs => json!({ "type": "error", "id": id, "payload": errors }),
        // The legacy protocol sends one error object as the payload.
        Protocol::LegacyWs => {
            let first = errors.get(0).cloned().unwrap_or(Value::Null);
            json!({ "type": "error", "id": id, "payload": first })
        }
    }
}

pub fn complete(id: &str) -> Value {
    json!({ "type": "complete", "id": id })
}

/// The legacy protocol's keep-alive.
pub fn keep_alive() -> Value {
    json!({ "type": "ka" })
}

/// The legacy protocol's refusal of `connection_init`.
pub fn connection_error(message: &str) -> Value {
    json!({ "type": "connection_error", "payload": { "message": message } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_as_a_close_reason_fits_in_123_bytes() {
        let error = |id: &str| json!({ "message": "internal error", "extensions": { "code": "INTERNAL", "requestId": id } });
        let server_made = "0193aa5e8f5c7d2e9b1f3a4c5d6e7f80";
        let reason = close_reason(&error(server_made));
        assert_eq!(
            serde_json::from_str::<Value>(&reason).unwrap(),
            error(server_made)
        );
        let long = "c".repeat(128);
        let reason = close_reason(&error(&long));
        assert!(reason.len() <= 123, "{reason}");
        assert_eq!(
            serde_json::from_str::<Value>(&reason).unwrap(),
            json!({ "message": "internal error", "extensions": { "code": "INTERNAL" } })
        );
    }

    #[test]
    fn frames_of_each_protocol_parse_and_invalid_ones_do_not() {
        use Protocol::*;
        assert!(matches!(
            parse(TransportWs, r#"{"type":"connection_init"}"#),
            Some(ClientFrame::Init { payload: None })
        ));
        assert!(matches!(
            parse(
                TransportWs,
                r#"{"type":"subscribe","id":"1","payload":{"query":"{a}"}}"#
            ),
            Some(ClientFrame::Subscribe { .. })
        ));
        assert!(matches!(
            parse(
                LegacyWs,
                r#"{"type":"start","id":"1","payload":{"query":"{a}"}}"#
            ),
            Some(ClientFrame::Subscribe { .. })
        ));
        assert!(matches!(
            parse(LegacyWs, r#"{"type":"stop","id":"1"}"#),
            Some(ClientFrame::Complete { .. })
        ));
        for bad in [
            "not json",
            "[]",
            r#"{"type":"unknown"}"#,
            r#"{"type":"subscribe","payload":{"query":"{a}"}}"#,
            r#"{"type":"subscribe","id":"","payload":{}}"#,
            r#"{"type":"subscribe","id":"1"}"#,
            r#"{"type":"connection_init","payload":"x"}"#,
            r#"{"type":"start","id":"1","payload":{}}"#,
        ] {
            assert!(parse(TransportWs, bad).is_none(), "{bad}");
        }
        assert!(parse(LegacyWs, r#"{"type":"ping"}"#).is_none());
    }

    #[test]
    fn a_preserialized_result_is_the_same_frame() {
        let payload =
            json!({ "data": { "workroomEvents": { "seq": 3, "text": "a \"quoted\" word" } } });
        for protocol in [Protocol::TransportWs, Protocol::LegacyWs] {
            let id = "op \"1\"";
            let text = next_text(protocol, id, &payload.to_string());
            assert_eq!(
                serde_json::from_str::<Value>(&text).unwrap(),
                next(protocol, id, payload.clone())
            );
        }
    }
}
