//! What of a call's arguments may be written to the activity log: values
//! under names that suggest a credential, and values that look like one
//! (well-known token prefixes, bearer values, long unbroken letter-and-digit
//! runs), are replaced with `[redacted]`.

use serde_json::Value;

const REDACTED: &str = "[redacted]";
const SECRET_NAMES: [&str; 9] = [
    "token",
    "secret",
    "password",
    "passwd",
    "apikey",
    "api_key",
    "auth",
    "credential",
    "key",
];
const SECRET_PREFIXES: [&str; 8] = [
    "sk-", "sk_", "ghp_", "gho_", "xox", "bearer ", "eyj", "akia",
];

/// `arguments` with every secret-looking value replaced.
pub fn redacted(arguments: &Value) -> Value {
    match arguments {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(name, value)| {
                    let lower = name.to_lowercase();
                    let shown = if SECRET_NAMES.iter().any(|s| lower.contains(s)) {
                        Value::String(REDACTED.into())
                    } else {
                        redacted(value)
                    };
                    (name.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redacted).collect()),
        Value::String(text) if looks_secret(text) => Value::String(REDACTED.into()),
        other => other.clone(),
    }
}

fn looks_secret(text: &str) -> bool {
    let lower = text.trim().to_lowercase();
    if SECRET_PREFIXES.iter().any(|p| lower.starts_with(p)) {
        return true;
    }
    // A long run with no spaces that mixes letters and digits: a key, not prose.
    lower.len() >= 32
        && !lower.contains(char::is_whitespace)
        && lower.chars().any(|c| c.is_ascii_digit())
        && lower.chars().any(|c| c.is_ascii_alphabetic())
        && !lower.contains("://")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credentials_are_left_out_and_the_rest_kept() {
        let shown = redacted(&json!({
            "client": "Acme Bakery",
            "apiKey": "whatever",
            "nested": { "password": "hunter2", "note": "call on Monday" },
            "list": ["sk-live-abc", "plain"],
            "header": "Bearer abc.def",
            "blob": "a8f5f167f44f4964e6c998dee827110c2f7e9a1b",
            "url": "https://example.com/a8f5f167f44f4964e6c998dee827110c",
        }));
        assert_eq!(
            shown,
            json!({
                "client": "Acme Bakery",
                "apiKey": "[redacted]",
                "nested": { "password": "[redacted]", "note": "call on Monday" },
                "list": ["[redacted]", "plain"],
                "header": "[redacted]",
                "blob": "[redacted]",
                "url": "https://example.com/a8f5f167f44f4964e6c998dee827110c",
            })
        );
    }
}
