//! The stored vocabularies: every enumeration a column holds, stored as its
//! GraphQL name (`PLANNING`, `AWAITING_APPROVAL`) in a text column.
//!
//! The text is what earlier versions wrote, so reading an older database
//! needs no migration; a value no variant names is a database error. Only
//! facts about a word itself live here (which states are terminal, how roles
//! rank); the rules that use them are the server's.

use sea_orm::entity::prelude::*;

/// Serde and `Display` for stored enumerations: the stored text, so a row
/// sent between instances (over the bus), into JSON or into a log line reads
/// as the column does.
macro_rules! serde_as_stored {
    ($($ty:ty),+ $(,)?) => {$(
        impl std::fmt::Display for $ty {
            fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                out.write_str(&sea_orm::ActiveEnum::to_value(self))
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
                out.serialize_str(&sea_orm::ActiveEnum::to_value(self))
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(input: D) -> Result<Self, D::Error> {
                let text = String::deserialize(input)?;
                <$ty as sea_orm::ActiveEnum>::try_from_value(&text).map_err(serde::de::Error::custom)
            }
        }
    )+};
}

pub(crate) use serde_as_stored;

serde_as_stored!(
    Role,
    Plan,
    InvitationState,
    EntryKind,
    HoldState,
    AgentKind,
    WorkroomState,
    SourceKind,
    WorkroomEventKind,
    TaskKind,
    TaskState,
    ExportFormat,
    IntegrationKind,
    IntegrationStatus,
    ToolCallState,
    DeliveryState,
);

/// A member's role. Declared lowest first, so `>=` means "at least".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "Text",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum Role {
    Viewer,
    Member,
    Admin,
    Owner,
}

/// A workspace's billing plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "Text",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum Plan {
    FreeTrial,
    Solo,
    Starter,
    Pro,
    Growth,
    Agency,
}

/// Where an invitation stands. EXPIRED is never stored: a PENDING row past
/// its expiry is expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "Text",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum InvitationState {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

/// What a ledger entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "Text",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum EntryKind {
    TrialGrant,
    MonthlyGrant,
    TopUp,
    Charge,
    Refund,
    Adjustment,
}

/// Where a hold is: reserving credits, or settled (charged or released).
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "Text",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum HoldState {
    Held,
    Settled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "Text",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum AgentKind {
    Planner,
    Composer,
    Custom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "Text",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
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

impl WorkroomState {
    /// States in which the engine has model work to do.
    pub fn is_running(self) -> bool {
        matches!(
            self,
            WorkroomState::Planning
                | WorkroomState::Executing
                | WorkroomState::Composing
                | WorkroomState::AwaitingRevision
        )
    }

    /// COMPLETED (until a revision), FAILED (until a replan) and CANCELLED.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            WorkroomState::Completed | WorkroomState::Failed | WorkroomState::Cancelled
        )
    }
}

/// The kind of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "Text",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum SourceKind {
    Brief,
    Sample,
    Notes,
    Other,
}

/// What a workroom event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "Text",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "Text",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum TaskKind {
    Agent,
    Tool,
    Approval,
    Compose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "Text",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum TaskState {
    Pending,
    Running,
    AwaitingApproval,
    Completed,
    Failed,
    Discarded,
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "Text",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum ExportFormat {
    Markdown,
    Docx,
    Pdf,
}

impl ExportFormat {
    /// The media type a file of this format is served as.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Markdown => "text/markdown; charset=utf-8",
            ExportFormat::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            ExportFormat::Pdf => "application/pdf",
        }
    }

    /// The file name extension, without its dot.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Markdown => "md",
            ExportFormat::Docx => "docx",
            ExportFormat::Pdf => "pdf",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "Text",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum IntegrationKind {
    /// Stored OAuth tokens for a provider.
    Oauth,
    /// A Model Context Protocol server (Streamable HTTP) whose tools agents may call.
    Mcp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "Text",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum IntegrationStatus {
    Connected,
    /// The last attempt to reach it failed (lastError).
    Failing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "Text",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
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

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "Text",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum DeliveryState {
    Pending,
    Succeeded,
    Failed,
}
