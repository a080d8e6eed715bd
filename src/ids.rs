//! Global ids: opaque strings that name a kind of object and its row, for `node(id)`.
//!
//! The form is `<prefix>_<uuid hex>`; clients must treat it as opaque.

use uuid::Uuid;

use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Workspace,
    Member,
    Invitation,
    CreditEntry,
    ActivityEvent,
    Agent,
    Workroom,
    Task,
    Deliverable,
    Source,
    Integration,
    Export,
    ApiKey,
    WebhookEndpoint,
    WebhookDelivery,
    ToolCall,
}

impl Kind {
    const ALL: [Kind; 17] = [
        Kind::User,
        Kind::Workspace,
        Kind::Member,
        Kind::Invitation,
        Kind::CreditEntry,
        Kind::ActivityEvent,
        Kind::Agent,
        Kind::Workroom,
        Kind::Task,
        Kind::Deliverable,
        Kind::Source,
        Kind::Integration,
        Kind::Export,
        Kind::ApiKey,
        Kind::WebhookEndpoint,
        Kind::WebhookDelivery,
        Kind::ToolCall,
    ];

    fn prefix(self) -> &'static str {
        match self {
            Kind::User => "usr",
            Kind::Workspace => "wsp",
            Kind::Member => "mem",
            Kind::Invitation => "inv",
            Kind::CreditEntry => "crd",
            Kind::ActivityEvent => "act",
            Kind::Agent => "agt",
            Kind::Workroom => "wrm",
            Kind::Task => "tsk",
            Kind::Deliverable => "dlv",
            Kind::Source => "src",
            Kind::Integration => "itg",
            Kind::Export => "exp",
            Kind::ApiKey => "apk",
            Kind::WebhookEndpoint => "whe",
            Kind::WebhookDelivery => "whd",
            Kind::ToolCall => "tcl",
        }
    }
}

pub fn encode(kind: Kind, id: Uuid) -> String {
    format!("{}_{}", kind.prefix(), id.simple())
}

/// Splits a global id into its kind and row id; `None` when it is not one of ours.
pub fn decode_any(id: &str) -> Option<(Kind, Uuid)> {
    let (prefix, hex) = id.split_once('_')?;
    let kind = Kind::ALL.into_iter().find(|k| k.prefix() == prefix)?;
    let uuid = Uuid::try_parse(hex).ok()?;
    Some((kind, uuid))
}

/// The row id of a global id that must be of `kind`. Anything else cannot name an
/// object the caller may see, so it is NOT_FOUND (never a hint about why).
pub fn decode(kind: Kind, id: &str, what: &'static str) -> Result<Uuid, AppError> {
    match decode_any(id) {
        Some((k, uuid)) if k == kind => Ok(uuid),
        _ => Err(AppError::NotFound(what)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_id_decodes_to_its_kind_and_row() {
        let id = Uuid::now_v7();
        let global = encode(Kind::Member, id);
        assert_eq!(decode_any(&global), Some((Kind::Member, id)));
        assert!(decode(Kind::User, &global, "user").is_err());
    }

    #[test]
    fn garbage_is_not_an_id() {
        for bad in ["", "mem_", "mem_xyz", "zzz_0192", "no-underscore"] {
            assert_eq!(decode_any(bad), None, "{bad}");
        }
    }
}
