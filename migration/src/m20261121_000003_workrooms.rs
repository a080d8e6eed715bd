//! Agents, workrooms and their sources, deliverables, tasks, approvals and
//! event log; credit holds; and usage attribution on ledger entries.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261121_000001_identity::Workspaces;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(agents()).await?;
        manager.create_table(workrooms()).await?;
        manager.create_table(workroom_agents()).await?;
        manager.create_table(sources()).await?;
        manager.create_table(deliverables()).await?;
        manager.create_table(tasks()).await?;
        manager.create_table(approval_grants()).await?;
        manager.create_table(workroom_events()).await?;
        manager.create_table(credit_holds()).await?;
        let indexes = [
            index(
                "agents_workspace",
                Agents::Table,
                &[Agents::WorkspaceId.into_iden()],
                false,
            ),
            index(
                "workrooms_workspace",
                Workrooms::Table,
                &[
                    Workrooms::WorkspaceId.into_iden(),
                    Workrooms::Id.into_iden(),
                ],
                false,
            ),
            index(
                "workrooms_runnable",
                Workrooms::Table,
                &[
                    Workrooms::NeedsRun.into_iden(),
                    Workrooms::LeaseUntil.into_iden(),
                ],
                false,
            ),
            index(
                "sources_workroom",
                Sources::Table,
                &[Sources::WorkroomId.into_iden()],
                false,
            ),
            index(
                "deliverables_workroom",
                Deliverables::Table,
                &[Deliverables::WorkroomId.into_iden()],
                false,
            ),
            index(
                "tasks_workroom",
                Tasks::Table,
                &[Tasks::WorkroomId.into_iden(), Tasks::PlanRound.into_iden()],
                false,
            ),
            index(
                "approval_grants_task_user",
                ApprovalGrants::Table,
                &[
                    ApprovalGrants::TaskId.into_iden(),
                    ApprovalGrants::UserId.into_iden(),
                ],
                true,
            ),
            index(
                "workroom_events_seq",
                WorkroomEvents::Table,
                &[
                    WorkroomEvents::WorkroomId.into_iden(),
                    WorkroomEvents::Seq.into_iden(),
                ],
                true,
            ),
            index(
                "credit_holds_attempt",
                CreditHolds::Table,
                &[CreditHolds::AttemptKey.into_iden()],
                true,
            ),
            index(
                "credit_holds_workroom",
                CreditHolds::Table,
                &[
                    CreditHolds::WorkroomId.into_iden(),
                    CreditHolds::State.into_iden(),
                ],
                false,
            ),
        ];
        for statement in indexes {
            manager.create_index(statement).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(CreditEntries::Table)
                    .add_column(uuid_null(CreditEntries::AgentId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "credit_entries_workroom",
                CreditEntries::Table,
                &[CreditEntries::WorkroomId.into_iden()],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CreditEntries::Table)
                    .drop_column(CreditEntries::AgentId)
                    .to_owned(),
            )
            .await?;
        for table in [
            CreditHolds::Table.into_iden(),
            WorkroomEvents::Table.into_iden(),
            ApprovalGrants::Table.into_iden(),
            Tasks::Table.into_iden(),
            Deliverables::Table.into_iden(),
            Sources::Table.into_iden(),
            WorkroomAgents::Table.into_iden(),
            Workrooms::Table.into_iden(),
            Agents::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

fn index(name: &str, table: impl IntoIden, cols: &[DynIden], unique: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(col.clone());
    }
    if unique {
        index.unique();
    }
    index.to_owned()
}

fn workspace_fk(from: impl IntoIden, col: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from, col)
        .to(Workspaces::Table, Workspaces::Id)
        .to_owned()
}

fn agents() -> TableCreateStatement {
    Table::create()
        .table(Agents::Table)
        .col(pk_uuid(Agents::Id))
        .col(uuid(Agents::WorkspaceId))
        .col(string_len(Agents::Kind, 16))
        .col(string_len(Agents::Name, 200))
        .col(text(Agents::Description))
        .col(text(Agents::Instructions))
        .col(string_len_null(Agents::ClientName, 200))
        .col(uuid_null(Agents::CreatedBy))
        .col(timestamp_with_time_zone(Agents::CreatedAt))
        .col(timestamp_with_time_zone(Agents::UpdatedAt))
        .col(timestamp_with_time_zone_null(Agents::DeletedAt))
        .foreign_key(&mut workspace_fk(Agents::Table, Agents::WorkspaceId))
        .to_owned()
}

fn workrooms() -> TableCreateStatement {
    Table::create()
        .table(Workrooms::Table)
        .col(pk_uuid(Workrooms::Id))
        .col(uuid(Workrooms::WorkspaceId))
        .col(string_len(Workrooms::Title, 200))
        .col(text(Workrooms::TitleKey))
        .col(text(Workrooms::Goal))
        .col(string_len(Workrooms::State, 24))
        .col(string_len_null(Workrooms::StateReason, 64))
        .col(string_len_null(Workrooms::PausedFrom, 24))
        .col(timestamp_with_time_zone_null(Workrooms::Deadline))
        .col(big_integer_null(Workrooms::MaxCredits))
        .col(text(Workrooms::PasteFlags))
        .col(string_len_null(Workrooms::ApprovalRole, 16))
        .col(integer_null(Workrooms::ApprovalCount))
        .col(text_null(Workrooms::StyleOverride))
        .col(integer(Workrooms::RevisionRound))
        .col(integer(Workrooms::PlanRound))
        .col(big_integer(Workrooms::LastSeq))
        .col(big_integer(Workrooms::CreditsSpent))
        .col(big_integer(Workrooms::CreditsReserved))
        .col(uuid_null(Workrooms::CreatedBy))
        .col(uuid_null(Workrooms::RunBy))
        .col(boolean(Workrooms::NeedsRun))
        .col(string_len_null(Workrooms::LeaseOwner, 64))
        .col(timestamp_with_time_zone_null(Workrooms::LeaseUntil))
        .col(timestamp_with_time_zone(Workrooms::CreatedAt))
        .col(timestamp_with_time_zone(Workrooms::UpdatedAt))
        .check(Expr::col(Workrooms::CreditsReserved).gte(0))
        .foreign_key(&mut workspace_fk(Workrooms::Table, Workrooms::WorkspaceId))
        .to_owned()
}

fn workroom_agents() -> TableCreateStatement {
    Table::create()
        .table(WorkroomAgents::Table)
        .col(uuid(WorkroomAgents::WorkroomId))
        .col(uuid(WorkroomAgents::AgentId))
        .col(integer(WorkroomAgents::Position))
        .primary_key(
            Index::create()
                .col(WorkroomAgents::WorkroomId)
                .col(WorkroomAgents::AgentId),
        )
        .to_owned()
}

fn sources() -> TableCreateStatement {
    Table::create()
        .table(Sources::Table)
        .col(pk_uuid(Sources::Id))
        .col(uuid(Sources::WorkspaceId))
        .col(uuid(Sources::WorkroomId))
        .col(string_len(Sources::Kind, 16))
        .col(string_len_null(Sources::Title, 200))
        .col(text(Sources::Content))
        .col(timestamp_with_time_zone(Sources::CreatedAt))
        .to_owned()
}

fn deliverables() -> TableCreateStatement {
    Table::create()
        .table(Deliverables::Table)
        .col(pk_uuid(Deliverables::Id))
        .col(uuid(Deliverables::WorkspaceId))
        .col(uuid(Deliverables::WorkroomId))
        .col(string_len(Deliverables::Label, 200))
        .col(integer(Deliverables::Position))
        .col(text_null(Deliverables::Content))
        .col(integer(Deliverables::Version))
        .col(timestamp_with_time_zone(Deliverables::UpdatedAt))
        .to_owned()
}

fn tasks() -> TableCreateStatement {
    Table::create()
        .table(Tasks::Table)
        .col(pk_uuid(Tasks::Id))
        .col(uuid(Tasks::WorkspaceId))
        .col(uuid(Tasks::WorkroomId))
        .col(integer(Tasks::PlanRound))
        .col(integer(Tasks::Position))
        .col(string_len(Tasks::Title, 200))
        .col(string_len(Tasks::Kind, 16))
        .col(string_len(Tasks::State, 24))
        .col(uuid_null(Tasks::AgentId))
        .col(string_len_null(Tasks::AssignedRole, 16))
        .col(text(Tasks::DependsOn))
        .col(text_null(Tasks::Output))
        .col(big_integer(Tasks::CreditsUsed))
        .col(integer(Tasks::Attempts))
        .col(integer(Tasks::Failures))
        .col(text_null(Tasks::Error))
        .col(integer_null(Tasks::RequiredApprovals))
        .col(timestamp_with_time_zone_null(Tasks::StartedAt))
        .col(timestamp_with_time_zone_null(Tasks::FinishedAt))
        .col(timestamp_with_time_zone(Tasks::CreatedAt))
        .to_owned()
}

fn approval_grants() -> TableCreateStatement {
    Table::create()
        .table(ApprovalGrants::Table)
        .col(pk_uuid(ApprovalGrants::Id))
        .col(uuid(ApprovalGrants::WorkspaceId))
        .col(uuid(ApprovalGrants::TaskId))
        .col(uuid(ApprovalGrants::UserId))
        .col(timestamp_with_time_zone(ApprovalGrants::GrantedAt))
        .to_owned()
}

fn workroom_events() -> TableCreateStatement {
    Table::create()
        .table(WorkroomEvents::Table)
        .col(pk_uuid(WorkroomEvents::Id))
        .col(uuid(WorkroomEvents::WorkspaceId))
        .col(uuid(WorkroomEvents::WorkroomId))
        .col(big_integer(WorkroomEvents::Seq))
        .col(string_len(WorkroomEvents::Kind, 32))
        .col(uuid_null(WorkroomEvents::ActorId))
        .col(string_len_null(WorkroomEvents::State, 24))
        .col(uuid_null(WorkroomEvents::TaskId))
        .col(uuid_null(WorkroomEvents::DeliverableId))
        .col(text_null(WorkroomEvents::Text))
        .col(text_null(WorkroomEvents::Data))
        .col(timestamp_with_time_zone(WorkroomEvents::At))
        .to_owned()
}

fn credit_holds() -> TableCreateStatement {
    Table::create()
        .table(CreditHolds::Table)
        .col(pk_uuid(CreditHolds::Id))
        .col(uuid(CreditHolds::WorkspaceId))
        .col(uuid(CreditHolds::WorkroomId))
        .col(uuid_null(CreditHolds::TaskId))
        .col(string_len(CreditHolds::AttemptKey, 120))
        .col(big_integer(CreditHolds::Amount))
        .col(string_len(CreditHolds::State, 16))
        .col(timestamp_with_time_zone(CreditHolds::CreatedAt))
        .col(timestamp_with_time_zone_null(CreditHolds::SettledAt))
        .check(Expr::col(CreditHolds::Amount).gt(0))
        .to_owned()
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
    WorkspaceId,
    Kind,
    Name,
    Description,
    Instructions,
    ClientName,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Workrooms {
    Table,
    Id,
    WorkspaceId,
    Title,
    TitleKey,
    Goal,
    State,
    StateReason,
    PausedFrom,
    Deadline,
    MaxCredits,
    PasteFlags,
    ApprovalRole,
    ApprovalCount,
    StyleOverride,
    RevisionRound,
    PlanRound,
    LastSeq,
    CreditsSpent,
    CreditsReserved,
    CreatedBy,
    RunBy,
    NeedsRun,
    LeaseOwner,
    LeaseUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WorkroomAgents {
    Table,
    WorkroomId,
    AgentId,
    Position,
}

#[derive(DeriveIden)]
enum Sources {
    Table,
    Id,
    WorkspaceId,
    WorkroomId,
    Kind,
    Title,
    Content,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Deliverables {
    Table,
    Id,
    WorkspaceId,
    WorkroomId,
    Label,
    Position,
    Content,
    Version,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    WorkspaceId,
    WorkroomId,
    PlanRound,
    Position,
    Title,
    Kind,
    State,
    AgentId,
    AssignedRole,
    DependsOn,
    Output,
    CreditsUsed,
    Attempts,
    Failures,
    Error,
    RequiredApprovals,
    StartedAt,
    FinishedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApprovalGrants {
    Table,
    Id,
    WorkspaceId,
    TaskId,
    UserId,
    GrantedAt,
}

#[derive(DeriveIden)]
enum WorkroomEvents {
    Table,
    Id,
    WorkspaceId,
    WorkroomId,
    Seq,
    Kind,
    ActorId,
    State,
    TaskId,
    DeliverableId,
    Text,
    Data,
    At,
}

#[derive(DeriveIden)]
enum CreditHolds {
    Table,
    Id,
    WorkspaceId,
    WorkroomId,
    TaskId,
    AttemptKey,
    Amount,
    State,
    CreatedAt,
    SettledAt,
}

#[derive(DeriveIden)]
enum CreditEntries {
    Table,
    WorkroomId,
    AgentId,
}
