//! A bound on the bytes of an answer, counted while it is built.
//!
//! The cost of a document counts objects, not bytes: a list of sources is
//! one object however long each is, so thirty aliases of a page of
//! workrooms with their sources could build an answer of hundreds of
//! megabytes in memory. Each field's value is counted as it resolves (only
//! its own leaves: an object's are counted by its fields), and once the
//! answer holds `ATELYA_MAX_RESPONSE_BYTES`, every field still to resolve
//! fails at once without running, with one error for the lot: ask for less.
//! A subscription's events are not counted (each is its own small answer).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_graphql::{ServerError, Value};

use super::limits::{request_error, BAD_USER_INPUT};

/// The bytes an answer has used, against its bound.
pub struct ResponseBytes {
    max: usize,
    used: AtomicUsize,
    counting: AtomicBool,
}

impl ResponseBytes {
    pub fn new(max: usize) -> ResponseBytes {
        ResponseBytes {
            max,
            used: AtomicUsize::new(0),
            counting: AtomicBool::new(false),
        }
    }

    /// Counts from now on (a query or a mutation; not a subscription).
    pub fn count(&self) {
        self.counting.store(true, Ordering::Relaxed);
    }

    /// Refuses a field to resolve once the answer is full.
    pub fn before(&self) -> Result<(), ServerError> {
        if self.counting.load(Ordering::Relaxed) && self.used.load(Ordering::Relaxed) > self.max {
            return Err(self.refusal());
        }
        Ok(())
    }

    /// Counts a resolved value: all of it when its type is a leaf (a
    /// scalar such as JSON may hold an object), else the scalars of its
    /// lists only.
    pub fn after(&self, value: &Value, leaf: bool) -> Result<(), ServerError> {
        if !self.counting.load(Ordering::Relaxed) {
            return Ok(());
        }
        let bytes = if leaf {
            all_bytes(value)
        } else {
            own_bytes(value)
        };
        let used = self.used.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if used > self.max {
            return Err(self.refusal());
        }
        Ok(())
    }

    /// The message every refusal of this bound shares.
    pub fn message(&self) -> String {
        format!(
            "the answer would be larger than {} bytes; ask for less (a smaller page, fewer fields)",
            self.max
        )
    }

    fn refusal(&self) -> ServerError {
        request_error(self.message(), BAD_USER_INPUT)
    }
}

/// Keeps the first of the bound's errors: every field after the answer was
/// full failed with the same one.
pub fn one_refusal(errors: &mut Vec<ServerError>, message: &str) {
    let mut seen = false;
    errors.retain(|e| {
        let refusal = e.message == message;
        let keep = !(refusal && seen);
        seen |= refusal;
        keep
    });
}

/// A value's bytes as JSON, roughly (quotes and separators left out).
fn all_bytes(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Enum(name) => name.len(),
        Value::Number(_) => 8,
        Value::Boolean(_) | Value::Null => 4,
        Value::Binary(b) => b.len(),
        Value::List(items) => items.iter().map(all_bytes).sum(),
        Value::Object(fields) => fields.iter().map(|(k, v)| k.len() + all_bytes(v)).sum(),
    }
}

/// The bytes of a composite field's value that no field of its own counts:
/// the scalars directly in its lists.
fn own_bytes(value: &Value) -> usize {
    match value {
        Value::List(items) => items.iter().map(own_bytes).sum(),
        Value::Object(_) => 0,
        other => all_bytes(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_refused_once_full_and_objects_are_not_counted_twice() {
        let bytes = ResponseBytes::new(10);
        bytes.after(&Value::String("x".repeat(100)), true).unwrap();
        assert!(
            bytes.before().is_ok(),
            "nothing is counted before counting starts"
        );
        bytes.count();
        let object = Value::from_json(serde_json::json!({ "a": "x".repeat(100) })).unwrap();
        bytes.after(&object, false).unwrap();
        bytes
            .after(&Value::String("12345678".into()), true)
            .unwrap();
        assert!(bytes.after(&Value::String("123".into()), true).is_err());
        assert!(bytes.before().is_err());
        let mut errors = vec![
            bytes.refusal(),
            bytes.refusal(),
            request_error("other", "X"),
        ];
        one_refusal(&mut errors, &bytes.message());
        assert_eq!(errors.len(), 2);
    }
}
