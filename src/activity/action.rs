//! The activity actions: the one list of what the log records, which
//! webhook endpoints may subscribe to (an unknown name is refused) and
//! which the stored `action` column holds as text.

/// What an activity entry says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivityAction {
    WorkspaceCreated,
    WorkspaceRenamed,
    MemberInvited,
    InvitationRevoked,
    MemberJoined,
    MemberRoleChanged,
    MemberRemoved,
    MemberLeft,
    OwnershipTransferred,
    BillingPlanChanged,
    BillingTopUp,
    BillingPeriodRenewed,
    CreditsLow,
    ExportProfileUpdated,
    AgentCreated,
    AgentUpdated,
    AgentDeleted,
    AgentStyleMemoryUpdated,
    WorkroomCreated,
    WorkroomSourceAdded,
    WorkroomConstraintsUpdated,
    WorkroomPaused,
    WorkroomResumed,
    WorkroomCancelled,
    WorkroomReplanned,
    WorkroomRevisionRequested,
    WorkroomMessagePosted,
    WorkroomCompleted,
    WorkroomFailed,
    ApprovalGranted,
    ApprovalRejected,
    ExportCreated,
    ExportDownloaded,
    IntegrationConnected,
    IntegrationDisconnected,
    IntegrationToolsRefreshed,
    ToolPolicyChanged,
    ToolCalled,
    ApiKeyCreated,
    ApiKeyRevoked,
    WebhookCreated,
    WebhookUpdated,
    WebhookDeleted,
    WebhookDisabled,
    WebhookRedelivered,
    WebhookSecretRotated,
}

crate::text_enum::text_enum!(ActivityAction {
    WorkspaceCreated => "workspace.created",
    WorkspaceRenamed => "workspace.renamed",
    MemberInvited => "member.invited",
    InvitationRevoked => "invitation.revoked",
    MemberJoined => "member.joined",
    MemberRoleChanged => "member.role_changed",
    MemberRemoved => "member.removed",
    MemberLeft => "member.left",
    OwnershipTransferred => "ownership.transferred",
    BillingPlanChanged => "billing.plan_changed",
    BillingTopUp => "billing.top_up",
    BillingPeriodRenewed => "billing.period_renewed",
    CreditsLow => "credits.low",
    ExportProfileUpdated => "export_profile.updated",
    AgentCreated => "agent.created",
    AgentUpdated => "agent.updated",
    AgentDeleted => "agent.deleted",
    AgentStyleMemoryUpdated => "agent.style_memory_updated",
    WorkroomCreated => "workroom.created",
    WorkroomSourceAdded => "workroom.source_added",
    WorkroomConstraintsUpdated => "workroom.constraints_updated",
    WorkroomPaused => "workroom.paused",
    WorkroomResumed => "workroom.resumed",
    WorkroomCancelled => "workroom.cancelled",
    WorkroomReplanned => "workroom.replanned",
    WorkroomRevisionRequested => "workroom.revision_requested",
    WorkroomMessagePosted => "workroom.message_posted",
    WorkroomCompleted => "workroom.completed",
    WorkroomFailed => "workroom.failed",
    ApprovalGranted => "approval.granted",
    ApprovalRejected => "approval.rejected",
    ExportCreated => "export.created",
    ExportDownloaded => "export.downloaded",
    IntegrationConnected => "integration.connected",
    IntegrationDisconnected => "integration.disconnected",
    IntegrationToolsRefreshed => "integration.tools_refreshed",
    ToolPolicyChanged => "tool.policy_changed",
    ToolCalled => "tool.called",
    ApiKeyCreated => "api_key.created",
    ApiKeyRevoked => "api_key.revoked",
    WebhookCreated => "webhook.created",
    WebhookUpdated => "webhook.updated",
    WebhookDeleted => "webhook.deleted",
    WebhookDisabled => "webhook.disabled",
    WebhookRedelivered => "webhook.redelivered",
    WebhookSecretRotated => "webhook.secret_rotated",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_its_own_name_and_reads_back() {
        let mut names: Vec<&str> = ActivityAction::ALL.iter().map(|a| a.as_str()).collect();
        for action in ActivityAction::ALL {
            assert_eq!(ActivityAction::parse(action.as_str()).unwrap(), *action);
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ActivityAction::ALL.len(), "names are unique");
        assert!(ActivityAction::parse("member.joind").is_err());
    }
}
