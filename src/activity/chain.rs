//! The hash of one activity entry.

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::ActivityAction;

/// `prev_hash` of a workspace's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hashed fields of an entry, in a fixed order.
pub struct Content<'a> {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub seq: i64,
    pub actor_id: Option<Uuid>,
    pub action: ActivityAction,
    pub target_type: &'a str,
    pub target_id: Option<&'a str>,
    pub summary: &'a str,
    pub metadata: &'a str,
    pub occurred_at: DateTime<Utc>,
}

/// SHA-256 (hex) of the previous hash and the content, encoded as a JSON array
/// so no two different contents share an encoding.
pub fn hash(prev_hash: &str, c: &Content<'_>) -> String {
    let encoded = serde_json::json!([
        prev_hash,
        c.id,
        c.workspace_id,
        c.seq,
        c.actor_id,
        c.action,
        c.target_type,
        c.target_id,
        c.summary,
        c.metadata,
        c.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
    ]);
    hex::encode(Sha256::digest(encoded.to_string().as_bytes()))
}

pub fn of_row(row: &entity::activity_event::Model) -> String {
    hash(
        &row.prev_hash,
        &Content {
            id: row.id,
            workspace_id: row.workspace_id,
            seq: row.seq,
            actor_id: row.actor_id,
            action: row.action,
            target_type: &row.target_type,
            target_id: row.target_id.as_deref(),
            summary: &row.summary,
            metadata: &row.metadata,
            occurred_at: row.occurred_at,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(summary: &str) -> Content<'_> {
        Content {
            id: Uuid::nil(),
            workspace_id: Uuid::nil(),
            seq: 1,
            actor_id: None,
            action: ActivityAction::WorkspaceCreated,
            target_type: "Workspace",
            target_id: None,
            summary,
            metadata: "{}",
            occurred_at: DateTime::from_timestamp(0, 0).unwrap(),
        }
    }

    #[test]
    fn any_change_of_content_or_link_changes_the_hash() {
        let base = hash(GENESIS, &content("a"));
        assert_eq!(base, hash(GENESIS, &content("a")));
        assert_ne!(base, hash(GENESIS, &content("b")));
        assert_ne!(base, hash(&"1".repeat(64), &content("a")));
    }
}
