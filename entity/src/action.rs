//! The activity actions: the one list of what the log records, which
//! webhook endpoints may subscribe to (an unknown name is refused) and which
//! `activity_events.action` holds as text.

use sea_orm::entity::prelude::*;

/// What an activity entry says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum ActivityAction {
    #[sea_orm(string_value = "workspace.created")]
    WorkspaceCreated,
    #[sea_orm(string_value = "workspace.renamed")]
    WorkspaceRenamed,
    #[sea_orm(string_value = "member.invited")]
    MemberInvited,
    #[sea_orm(string_value = "invitation.revoked")]
    InvitationRevoked,
    #[sea_orm(string_value = "member.joined")]
    MemberJoined,
    #[sea_orm(string_value = "member.role_changed")]
    MemberRoleChanged,
    #[sea_orm(string_value = "member.removed")]
    MemberRemoved,
    #[sea_orm(string_value = "member.left")]
    MemberLeft,
    #[sea_orm(string_value = "ownership.transferred")]
    OwnershipTransferred,
    #[sea_orm(string_value = "billing.plan_changed")]
    BillingPlanChanged,
    #[sea_orm(string_value = "billing.top_up")]
    BillingTopUp,
    #[sea_orm(string_value = "billing.period_renewed")]
    BillingPeriodRenewed,
    #[sea_orm(string_value = "credits.low")]
    CreditsLow,
    #[sea_orm(string_value = "export_profile.updated")]
    ExportProfileUpdated,
    #[sea_orm(string_value = "agent.created")]
    AgentCreated,
    #[sea_orm(string_value = "agent.updated")]
    AgentUpdated,
    #[sea_orm(string_value = "agent.deleted")]
    AgentDeleted,
    #[sea_orm(string_value = "agent.style_memory_updated")]
    AgentStyleMemoryUpdated,
    #[sea_orm(string_value = "workroom.created")]
    WorkroomCreated,
    #[sea_orm(string_value = "workroom.source_added")]
    WorkroomSourceAdded,
    #[sea_orm(string_value = "workroom.constraints_updated")]
    WorkroomConstraintsUpdated,
    #[sea_orm(string_value = "workroom.paused")]
    WorkroomPaused,
    #[sea_orm(string_value = "workroom.resumed")]
    WorkroomResumed,
    #[sea_orm(string_value = "workroom.cancelled")]
    WorkroomCancelled,
    #[sea_orm(string_value = "workroom.replanned")]
    WorkroomReplanned,
    #[sea_orm(string_value = "workroom.revision_requested")]
    WorkroomRevisionRequested,
    #[sea_orm(string_value = "workroom.message_posted")]
    WorkroomMessagePosted,
    #[sea_orm(string_value = "workroom.completed")]
    WorkroomCompleted,
    #[sea_orm(string_value = "workroom.failed")]
    WorkroomFailed,
    #[sea_orm(string_value = "approval.granted")]
    ApprovalGranted,
    #[sea_orm(string_value = "approval.rejected")]
    ApprovalRejected,
    #[sea_orm(string_value = "export.created")]
    ExportCreated,
    #[sea_orm(string_value = "export.downloaded")]
    ExportDownloaded,
    #[sea_orm(string_value = "integration.connected")]
    IntegrationConnected,
    #[sea_orm(string_value = "integration.disconnected")]
    IntegrationDisconnected,
    #[sea_orm(string_value = "integration.tools_refreshed")]
    IntegrationToolsRefreshed,
    #[sea_orm(string_value = "tool.policy_changed")]
    ToolPolicyChanged,
    #[sea_orm(string_value = "tool.called")]
    ToolCalled,
    #[sea_orm(string_value = "api_key.created")]
    ApiKeyCreated,
    #[sea_orm(string_value = "api_key.revoked")]
    ApiKeyRevoked,
    #[sea_orm(string_value = "webhook.created")]
    WebhookCreated,
    #[sea_orm(string_value = "webhook.updated")]
    WebhookUpdated,
    #[sea_orm(string_value = "webhook.deleted")]
    WebhookDeleted,
    #[sea_orm(string_value = "webhook.disabled")]
    WebhookDisabled,
    #[sea_orm(string_value = "webhook.redelivered")]
    WebhookRedelivered,
    #[sea_orm(string_value = "webhook.secret_rotated")]
    WebhookSecretRotated,
}

crate::enums::serde_as_stored!(ActivityAction);
