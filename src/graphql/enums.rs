//! The GraphQL faces of the stored enumerations (`entity::enums`): each
//! mirrors its stored type variant for variant (`#[graphql(remote)]` derives
//! the conversions both ways), so the domain types carry no GraphQL and a
//! resolver converts with `.into()`. A test holds every GraphQL name equal
//! to the text its column stores.

use async_graphql::Enum;
use entity::enums as stored;

/// A member's role. Declared lowest first, so `>=` means "at least".
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "stored::Role")]
pub enum Role {
    Viewer,
    Member,
    Admin,
    Owner,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "stored::Plan")]
pub enum Plan {
    FreeTrial,
    Solo,
    Starter,
    Pro,
    Growth,
    Agency,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "stored::InvitationState")]
pub enum InvitationState {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "CreditEntryKind", remote = "stored::EntryKind")]
pub enum EntryKind {
    TrialGrant,
    MonthlyGrant,
    TopUp,
    Charge,
    Refund,
    Adjustment,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "stored::AgentKind")]
pub enum AgentKind {
    Planner,
    Composer,
    Custom,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "stored::WorkroomState")]
pub enum WorkroomState {
    Planning,
    Executing,
    Paused,
    Composing,
    AwaitingRevision,
    Completed,
    Failed,
    Cancelled,
}

/// The kind of a source.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "stored::SourceKind")]
pub enum SourceKind {
    Brief,
    Sample,
    Notes,
    Other,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "stored::WorkroomEventKind")]
pub enum WorkroomEventKind {
    StateChanged,
    PlanCreated,
    TaskStarted,
    TaskCompleted,
    TaskFailed,
    ApprovalRequested,
    ApprovalGranted,
    ComposerReset,
    ComposerDelta,
    DeliverableUpdated,
    Message,
    RevisionRequested,
    CreditsCharged,
    ToolCallStarted,
    ToolCallFinished,
    ApprovalRejected,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "stored::TaskKind")]
pub enum TaskKind {
    Agent,
    Tool,
    Approval,
    Compose,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "stored::TaskState")]
pub enum TaskState {
    Pending,
    Running,
    AwaitingApproval,
    Completed,
    Failed,
    Discarded,
    Rejected,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "stored::ExportFormat")]
pub enum ExportFormat {
    Markdown,
    Docx,
    Pdf,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "stored::IntegrationKind")]
pub enum IntegrationKind {
    /// Stored OAuth tokens for a provider.
    Oauth,
    /// A Model Context Protocol server (Streamable HTTP) whose tools agents may call.
    Mcp,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "stored::IntegrationStatus")]
pub enum IntegrationStatus {
    Connected,
    /// The last attempt to reach it failed (lastError).
    Failing,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "stored::ToolCallState")]
pub enum ToolCallState {
    AwaitingApproval,
    Running,
    Completed,
    Failed,
    Rejected,
    /// The instance making a call that is not read-only stopped before the
    /// answer: a person decides (grant: call again; reject: replan).
    OutcomeUnknown,
}

/// Where a delivery stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "WebhookDeliveryState", remote = "stored::DeliveryState")]
pub enum DeliveryState {
    Pending,
    Succeeded,
    Failed,
}

#[cfg(test)]
mod tests {
    use async_graphql::resolver_utils::EnumType;
    use sea_orm::{ActiveEnum, Iterable};

    use super::*;

    /// Every variant's GraphQL name is the text its column stores, and every
    /// stored variant has a GraphQL face.
    fn names_match<G, S>()
    where
        G: EnumType + Into<S>,
        S: ActiveEnum<Value = String> + Iterable,
    {
        let items = G::items();
        assert_eq!(
            items.len(),
            S::iter().count(),
            "{}",
            std::any::type_name::<S>()
        );
        for item in items {
            assert_eq!(item.value.into().to_value(), item.name);
        }
    }

    #[test]
    fn graphql_names_are_the_stored_text() {
        names_match::<Role, stored::Role>();
        names_match::<Plan, stored::Plan>();
        names_match::<InvitationState, stored::InvitationState>();
        names_match::<EntryKind, stored::EntryKind>();
        names_match::<AgentKind, stored::AgentKind>();
        names_match::<WorkroomState, stored::WorkroomState>();
        names_match::<SourceKind, stored::SourceKind>();
        names_match::<WorkroomEventKind, stored::WorkroomEventKind>();
        names_match::<TaskKind, stored::TaskKind>();
        names_match::<TaskState, stored::TaskState>();
        names_match::<ExportFormat, stored::ExportFormat>();
        names_match::<IntegrationKind, stored::IntegrationKind>();
        names_match::<IntegrationStatus, stored::IntegrationStatus>();
        names_match::<ToolCallState, stored::ToolCallState>();
        names_match::<DeliveryState, stored::DeliveryState>();
    }
}
