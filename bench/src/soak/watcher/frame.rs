//! Reading a server frame of graphql-transport-ws.

use serde_json::Value;

/// What a server frame means to the subscription `id`.
#[derive(Debug, PartialEq)]
pub enum Frame {
    Event {
        seq: i64,
        at_us: i64,
        terminal: bool,
    },
    Refused(String),
    Other,
}

pub fn parse(text: &str, id: &str) -> Frame {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return Frame::Other;
    };
    if frame["id"] != id {
        return Frame::Other;
    }
    let payload = &frame["payload"];
    match frame["type"].as_str() {
        Some("next") if payload["errors"].is_array() => {
            Frame::Refused(payload["errors"].to_string())
        }
        Some("next") => {
            let event = &payload["data"]["workroomEvents"];
            let at = event["at"]
                .as_str()
                .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok());
            match (event["seq"].as_i64(), at) {
                (Some(seq), Some(at)) => Frame::Event {
                    seq,
                    at_us: at.timestamp_micros(),
                    terminal: event["kind"] == "STATE_CHANGED"
                        && matches!(
                            event["state"].as_str(),
                            Some("COMPLETED" | "FAILED" | "CANCELLED")
                        ),
                },
                _ => Frame::Refused(format!("an event without seq or at: {text}")),
            }
        }
        Some("error") => Frame::Refused(payload.to_string()),
        Some("complete") => Frame::Refused("the server completed the subscription".into()),
        _ => Frame::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_of_the_subscription_gives_its_seq_time_and_whether_it_ends_the_run() {
        let next = r#"{"id":"s1","type":"next","payload":{"data":{"workroomEvents":{"seq":42,"kind":"STATE_CHANGED","state":"COMPLETED","at":"2026-12-07T01:02:03.000004Z","deliverableId":null,"text":null}}}}"#;
        assert_eq!(
            parse(next, "s1"),
            Frame::Event {
                seq: 42,
                at_us: 1_796_605_323_000_004,
                terminal: true
            }
        );
        assert_eq!(parse(next, "s2"), Frame::Other);
        let delta = next
            .replace("STATE_CHANGED", "COMPOSER_DELTA")
            .replace(r#""state":"COMPLETED""#, r#""state":null"#)
            .replace(r#""text":null"#, r#""text":"the state is \"COMPLETED\"""#);
        assert!(matches!(
            parse(&delta, "s1"),
            Frame::Event {
                terminal: false,
                ..
            }
        ));
    }

    #[test]
    fn errors_and_an_early_complete_end_the_watch() {
        let errors = r#"{"id":"s1","type":"next","payload":{"errors":[{"message":"Not found","extensions":{"code":"NOT_FOUND"}}]}}"#;
        assert!(matches!(parse(errors, "s1"), Frame::Refused(e) if e.contains("NOT_FOUND")));
        let complete = r#"{"id":"s1","type":"complete"}"#;
        assert!(matches!(parse(complete, "s1"), Frame::Refused(_)));
        assert_eq!(parse(r#"{"type":"ping"}"#, "s1"), Frame::Other);
    }
}
