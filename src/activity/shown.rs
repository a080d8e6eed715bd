//! An entry as clients see it. Entries of webhook endpoints written by
//! earlier versions held the endpoint's whole URL (often its credential) in
//! their summary and metadata; they are shown with its scheme and host only,
//! as entries are written now. What is stored, and so the hash chain that
//! `verifyActivityLog` checks, stays as it was.

use std::borrow::Cow;

use entity::activity_event;
use serde_json::{Map, Value};

use crate::outbound;

/// The entry's metadata, without a webhook endpoint's URL.
pub fn metadata(entry: &activity_event::Model) -> Value {
    let Some((mut fields, url)) = webhook_url(entry) else {
        return serde_json::from_str(&entry.metadata).unwrap_or_default();
    };
    let origin = outbound::origin(&url);
    fields.insert("scheme".into(), origin.scheme.into());
    fields.insert("host".into(), origin.host.into());
    if let Some(id) = &entry.target_id {
        fields
            .entry("endpointId")
            .or_insert_with(|| id.clone().into());
    }
    Value::Object(fields)
}

/// The entry's summary, with a webhook endpoint's URL reduced to its origin.
pub fn summary(entry: &activity_event::Model) -> Cow<'_, str> {
    match webhook_url(entry) {
        Some((_, url)) if !url.is_empty() && entry.summary.contains(&url) => {
            let origin = outbound::origin(&url);
            let shown = format!("{}://{}", origin.scheme, origin.host);
            Cow::Owned(entry.summary.replace(&url, &shown))
        }
        _ => Cow::Borrowed(&entry.summary),
    }
}

/// The metadata of a webhook endpoint's entry that held a `url`, without
/// it, and the URL. Other entries' metadata is not even parsed.
fn webhook_url(entry: &activity_event::Model) -> Option<(Map<String, Value>, String)> {
    if entry.target_type != "WebhookEndpoint" {
        return None;
    }
    let Ok(Value::Object(mut fields)) = serde_json::from_str(&entry.metadata) else {
        return None;
    };
    match fields.remove("url")? {
        Value::String(url) => Some((fields, url)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(target_type: &str, summary: &str, metadata: Value) -> activity_event::Model {
        activity_event::Model {
            id: uuid::Uuid::nil(),
            workspace_id: uuid::Uuid::nil(),
            seq: 1,
            actor_id: None,
            action: crate::activity::ActivityAction::WebhookCreated,
            target_type: target_type.into(),
            target_id: Some("whe_1".into()),
            summary: summary.into(),
            metadata: metadata.to_string(),
            occurred_at: chrono::Utc::now(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn an_old_webhook_entry_shows_the_origin_and_never_the_url() {
        let url = "https://hooks.example.com/services/T0/B0/secret-token";
        let old = entry(
            "WebhookEndpoint",
            &format!("Ann changed the webhook endpoint {url}"),
            serde_json::json!({ "url": url, "enabled": true }),
        );
        assert_eq!(
            summary(&old),
            "Ann changed the webhook endpoint https://hooks.example.com"
        );
        assert_eq!(
            metadata(&old),
            serde_json::json!({
                "scheme": "https", "host": "hooks.example.com",
                "endpointId": "whe_1", "enabled": true
            })
        );
    }

    #[test]
    fn other_entries_are_shown_as_stored() {
        let other = entry(
            "Workroom",
            "Ann created https://example.com/x",
            serde_json::json!({ "url": "https://example.com/x" }),
        );
        assert_eq!(summary(&other), other.summary);
        assert_eq!(metadata(&other)["url"], "https://example.com/x");
    }
}
