//! What travels on the bus: topics (channels) and the messages published on them.
//!
//! Messages are published only after the transaction that produced them
//! commits, so anything they name can be read back from the database. They
//! are hints, never the record: a subscriber that misses one (Redis dropped
//! it, a receiver lagged) recovers from the database.

use entity::{activity_event, workroom_event};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A channel of the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// One workroom: its events and changes of its watchers.
    Workroom(Uuid),
    /// One workspace: its activity log and its credits.
    Workspace(Uuid),
    /// Every instance: access changes, resynchronisation, work to claim.
    Control,
}

impl Topic {
    /// The Redis channel name, under `prefix`.
    pub fn channel(&self, prefix: &str) -> String {
        match self {
            Topic::Workroom(id) => format!("{prefix}:workroom:{}", id.simple()),
            Topic::Workspace(id) => format!("{prefix}:workspace:{}", id.simple()),
            Topic::Control => format!("{prefix}:control"),
        }
    }

    /// The topic of a Redis channel name under `prefix`.
    pub fn from_channel(prefix: &str, channel: &str) -> Option<Topic> {
        let rest = channel.strip_prefix(prefix)?.strip_prefix(':')?;
        if rest == "control" {
            return Some(Topic::Control);
        }
        let (kind, id) = rest.split_once(':')?;
        let id = Uuid::try_parse(id).ok()?;
        match kind {
            "workroom" => Some(Topic::Workroom(id)),
            "workspace" => Some(Topic::Workspace(id)),
            _ => None,
        }
    }
}

/// One message on a topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum Message {
    /// A committed workroom event (on [`Topic::Workroom`]).
    Event(workroom_event::Model),
    /// The workroom's watchers changed (on [`Topic::Workroom`]).
    Watchers,
    /// A committed activity entry (on [`Topic::Workspace`]).
    Activity(activity_event::Model),
    /// The workspace's credits (balance, holds or plan) changed (on [`Topic::Workspace`]).
    Credits,
    /// A user's access to a workspace changed: removed, re-roled, or a sign-in
    /// revoked (on [`Topic::Control`]). Their sockets check their access again.
    AccessChanged { workspace_id: Uuid, user_id: Uuid },
    /// Messages may have been lost (an instance could not publish for a
    /// while): everyone re-reads from the database (on [`Topic::Control`]).
    Resync,
    /// A workroom has work an engine may claim now (on [`Topic::Control`]).
    Work,
}

impl Message {
    /// About the bytes the message holds, to bound what waits for receivers.
    pub fn size(&self) -> usize {
        use super::sequence::Sequenced;
        std::mem::size_of::<Self>()
            + match self {
                Message::Event(row) => row.size(),
                Message::Activity(row) => row.size(),
                _ => 0,
            }
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("bus messages serialize")
    }

    pub fn decode(bytes: &[u8]) -> Option<Message> {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_name_their_topic_and_parse_back() {
        let id = Uuid::now_v7();
        for topic in [Topic::Workroom(id), Topic::Workspace(id), Topic::Control] {
            let channel = topic.channel("atelya");
            assert_eq!(Topic::from_channel("atelya", &channel), Some(topic));
            assert_eq!(Topic::from_channel("other", &channel), None);
        }
        assert_eq!(Topic::from_channel("atelya", "atelya:workroom:nope"), None);
        assert_eq!(Topic::from_channel("atelya", "atelyax:control"), None);
    }

    #[test]
    fn messages_survive_the_wire() {
        let message = Message::AccessChanged {
            workspace_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
        };
        assert_eq!(Message::decode(&message.encode()), Some(message));
        assert_eq!(Message::decode(b"{\"kind\":\"unknown\"}"), None);
    }
}
