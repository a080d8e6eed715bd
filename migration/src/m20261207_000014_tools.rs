//! Tools: MCP servers as integrations (their endpoint, health and the tools
//! they offer), each workspace's tool policies, tool calls on tasks, and
//! approvals that can say no.
//!
//! - `integrations` gains `kind` (OAUTH for every existing row), `url`,
//!   `status`, `last_error` and `checked_at`.
//! - `integration_tools`: the tools an MCP server listed, gone with it.
//! - `tool_policies`: an owner's or admin's choice for one tool (enabled,
//!   approval); a tool without a row has the defaults.
//! - `tool_calls`: every call a task made, with its state and result.
//! - `tasks` gains `tool` and `tool_arguments` (TOOL tasks) and
//!   `rejection_reason`; `approval_grants` gains `tool_call_id` (a grant of
//!   a tool call rather than of an APPROVAL task) and is no longer unique
//!   per task and member.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        let added = [
            (
                Integrations::Table.into_iden(),
                string_len(Integrations::Kind, 16)
                    .default("OAUTH")
                    .to_owned(),
            ),
            (
                Integrations::Table.into_iden(),
                text_null(Integrations::Url),
            ),
            (
                Integrations::Table.into_iden(),
                string_len(Integrations::Status, 16)
                    .default("CONNECTED")
                    .to_owned(),
            ),
            (
                Integrations::Table.into_iden(),
                text_null(Integrations::LastError),
            ),
            (
                Integrations::Table.into_iden(),
                timestamp_with_time_zone_null(Integrations::CheckedAt),
            ),
            (Tasks::Table.into_iden(), text_null(Tasks::Tool)),
            (Tasks::Table.into_iden(), text_null(Tasks::ToolArguments)),
            (Tasks::Table.into_iden(), text_null(Tasks::RejectionReason)),
            (
                ApprovalGrants::Table.into_iden(),
                uuid_null(ApprovalGrants::ToolCallId),
            ),
        ];
        for (table, column) in added {
            manager
                .alter_table(Table::alter().table(table).add_column(column).to_owned())
                .await?;
        }
        // A member may grant several calls of one task (a call again after
        // an unknown outcome): a grant is unique per decision, which the
        // grant checks under the workroom's lock, no longer per task.
        manager
            .drop_index(
                Index::drop()
                    .name("approval_grants_task_user")
                    .table(ApprovalGrants::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("approval_grants_task")
                    .table(ApprovalGrants::Table)
                    .col(ApprovalGrants::TaskId)
                    .to_owned(),
            )
            .await?;
        create_integration_tools(manager).await?;
        create_tool_policies(manager).await?;
        create_tool_calls(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("approval_grants_task")
                    .table(ApprovalGrants::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("approval_grants_task_user")
                    .table(ApprovalGrants::Table)
                    .col(ApprovalGrants::TaskId)
                    .col(ApprovalGrants::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for table in [
            ToolCalls::Table.into_iden(),
            ToolPolicies::Table.into_iden(),
            IntegrationTools::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        let dropped = [
            (
                Integrations::Table.into_iden(),
                Integrations::Kind.into_iden(),
            ),
            (
                Integrations::Table.into_iden(),
                Integrations::Url.into_iden(),
            ),
            (
                Integrations::Table.into_iden(),
                Integrations::Status.into_iden(),
            ),
            (
                Integrations::Table.into_iden(),
                Integrations::LastError.into_iden(),
            ),
            (
                Integrations::Table.into_iden(),
                Integrations::CheckedAt.into_iden(),
            ),
            (Tasks::Table.into_iden(), Tasks::Tool.into_iden()),
            (Tasks::Table.into_iden(), Tasks::ToolArguments.into_iden()),
            (Tasks::Table.into_iden(), Tasks::RejectionReason.into_iden()),
            (
                ApprovalGrants::Table.into_iden(),
                ApprovalGrants::ToolCallId.into_iden(),
            ),
        ];
        for (table, column) in dropped {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

async fn create_integration_tools(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(IntegrationTools::Table)
                .col(pk_uuid(IntegrationTools::Id))
                .col(uuid(IntegrationTools::WorkspaceId))
                .col(uuid(IntegrationTools::IntegrationId))
                .col(integer(IntegrationTools::Position))
                .col(string_len(IntegrationTools::Name, 128))
                .col(text_null(IntegrationTools::Title))
                .col(text(IntegrationTools::Description))
                .col(text(IntegrationTools::InputSchema))
                .col(boolean(IntegrationTools::ReadOnly))
                .foreign_key(
                    ForeignKey::create()
                        .from(IntegrationTools::Table, IntegrationTools::IntegrationId)
                        .to(Integrations::Table, Integrations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("integration_tools_integration_name")
                .table(IntegrationTools::Table)
                .col(IntegrationTools::IntegrationId)
                .col(IntegrationTools::Name)
                .unique()
                .to_owned(),
        )
        .await
}

async fn create_tool_policies(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(ToolPolicies::Table)
                .col(pk_uuid(ToolPolicies::Id))
                .col(uuid(ToolPolicies::WorkspaceId))
                .col(string_len(ToolPolicies::Name, 200))
                .col(boolean(ToolPolicies::Enabled))
                .col(boolean_null(ToolPolicies::RequiresApproval))
                .col(uuid_null(ToolPolicies::UpdatedBy))
                .col(timestamp_with_time_zone(ToolPolicies::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ToolPolicies::Table, ToolPolicies::WorkspaceId)
                        .to(Workspaces::Table, Workspaces::Id),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("tool_policies_workspace_name")
                .table(ToolPolicies::Table)
                .col(ToolPolicies::WorkspaceId)
                .col(ToolPolicies::Name)
                .unique()
                .to_owned(),
        )
        .await
}

async fn create_tool_calls(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(ToolCalls::Table)
                .col(pk_uuid(ToolCalls::Id))
                .col(uuid(ToolCalls::WorkspaceId))
                .col(uuid(ToolCalls::WorkroomId))
                .col(uuid(ToolCalls::TaskId))
                .col(string_len(ToolCalls::Tool, 200))
                .col(text(ToolCalls::Arguments))
                .col(string_len(ToolCalls::State, 32))
                .col(boolean(ToolCalls::ReadOnly))
                .col(text_null(ToolCalls::Result))
                .col(boolean(ToolCalls::IsError))
                .col(big_integer(ToolCalls::CreditsUsed))
                .col(text_null(ToolCalls::Instance))
                .col(timestamp_with_time_zone_null(ToolCalls::StartedAt))
                .col(timestamp_with_time_zone_null(ToolCalls::FinishedAt))
                .col(timestamp_with_time_zone(ToolCalls::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ToolCalls::Table, ToolCalls::TaskId)
                        .to(Tasks::Table, Tasks::Id),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("tool_calls_task")
                .table(ToolCalls::Table)
                .col(ToolCalls::TaskId)
                .col(ToolCalls::CreatedAt)
                .to_owned(),
        )
        .await
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Id,
    Kind,
    Url,
    Status,
    LastError,
    CheckedAt,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    Tool,
    ToolArguments,
    RejectionReason,
}

#[derive(DeriveIden)]
enum ApprovalGrants {
    Table,
    TaskId,
    UserId,
    ToolCallId,
}

#[derive(DeriveIden)]
enum Workspaces {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum IntegrationTools {
    Table,
    Id,
    WorkspaceId,
    IntegrationId,
    Position,
    Name,
    Title,
    Description,
    InputSchema,
    ReadOnly,
}

#[derive(DeriveIden)]
enum ToolPolicies {
    Table,
    Id,
    WorkspaceId,
    Name,
    Enabled,
    RequiresApproval,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ToolCalls {
    Table,
    Id,
    WorkspaceId,
    WorkroomId,
    TaskId,
    Tool,
    Arguments,
    State,
    ReadOnly,
    Result,
    IsError,
    CreditsUsed,
    Instance,
    StartedAt,
    FinishedAt,
    CreatedAt,
}
