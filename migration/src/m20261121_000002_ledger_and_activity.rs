//! The credit ledger, the activity log, export profiles and the email outbox.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261121_000001_identity::Workspaces;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CreditEntries::Table)
                    .col(pk_uuid(CreditEntries::Id))
                    .col(uuid(CreditEntries::WorkspaceId))
                    .col(big_integer(CreditEntries::Seq))
                    .col(string_len(CreditEntries::Kind, 32))
                    .col(big_integer(CreditEntries::Amount))
                    .col(big_integer(CreditEntries::BalanceAfter))
                    .col(string(CreditEntries::Description))
                    .col(uuid_null(CreditEntries::ActorId))
                    .col(uuid_null(CreditEntries::WorkroomId))
                    .col(uuid_null(CreditEntries::TaskId))
                    .col(string_len_null(CreditEntries::IdempotencyKey, 200))
                    .col(timestamp_with_time_zone(CreditEntries::CreatedAt))
                    .check(Expr::col(CreditEntries::BalanceAfter).gte(0))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CreditEntries::Table, CreditEntries::WorkspaceId)
                            .to(Workspaces::Table, Workspaces::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "credit_entries_seq",
                vec![CreditEntries::WorkspaceId, CreditEntries::Seq],
            ),
            (
                "credit_entries_idempotency",
                vec![CreditEntries::WorkspaceId, CreditEntries::IdempotencyKey],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(CreditEntries::Table).unique();
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ActivityEvents::Table)
                    .col(pk_uuid(ActivityEvents::Id))
                    .col(uuid(ActivityEvents::WorkspaceId))
                    .col(big_integer(ActivityEvents::Seq))
                    .col(uuid_null(ActivityEvents::ActorId))
                    .col(string_len(ActivityEvents::Action, 64))
                    .col(string_len(ActivityEvents::TargetType, 64))
                    .col(string_len_null(ActivityEvents::TargetId, 80))
                    .col(text(ActivityEvents::Summary))
                    .col(text(ActivityEvents::Metadata))
                    .col(timestamp_with_time_zone(ActivityEvents::OccurredAt))
                    .col(string_len(ActivityEvents::PrevHash, 64))
                    .col(string_len(ActivityEvents::Hash, 64))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ActivityEvents::Table, ActivityEvents::WorkspaceId)
                            .to(Workspaces::Table, Workspaces::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("activity_events_seq")
                    .table(ActivityEvents::Table)
                    .col(ActivityEvents::WorkspaceId)
                    .col(ActivityEvents::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ExportProfiles::Table)
                    .col(uuid(ExportProfiles::WorkspaceId).primary_key())
                    .col(string_len(ExportProfiles::Letterhead, 200))
                    .col(string_len(ExportProfiles::AccentColor, 7))
                    .col(text(ExportProfiles::ContactBlock))
                    .col(string_len_null(ExportProfiles::Font, 200))
                    .col(timestamp_with_time_zone(ExportProfiles::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ExportProfiles::Table, ExportProfiles::WorkspaceId)
                            .to(Workspaces::Table, Workspaces::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EmailOutbox::Table)
                    .col(pk_uuid(EmailOutbox::Id))
                    .col(string_len(EmailOutbox::ToEmail, 320))
                    .col(string(EmailOutbox::Subject))
                    .col(text(EmailOutbox::Body))
                    .col(timestamp_with_time_zone(EmailOutbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(EmailOutbox::SentAt))
                    .col(integer(EmailOutbox::Attempts).default(0))
                    .col(timestamp_with_time_zone(EmailOutbox::NextAttemptAt))
                    .col(text_null(EmailOutbox::LastError))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("email_outbox_due")
                    .table(EmailOutbox::Table)
                    .col(EmailOutbox::SentAt)
                    .col(EmailOutbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            EmailOutbox::Table.into_iden(),
            ExportProfiles::Table.into_iden(),
            ActivityEvents::Table.into_iden(),
            CreditEntries::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum CreditEntries {
    Table,
    Id,
    WorkspaceId,
    Seq,
    Kind,
    Amount,
    BalanceAfter,
    Description,
    ActorId,
    WorkroomId,
    TaskId,
    IdempotencyKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ActivityEvents {
    Table,
    Id,
    WorkspaceId,
    Seq,
    ActorId,
    Action,
    TargetType,
    TargetId,
    Summary,
    Metadata,
    OccurredAt,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum ExportProfiles {
    Table,
    WorkspaceId,
    Letterhead,
    AccentColor,
    ContactBlock,
    Font,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    Id,
    ToEmail,
    Subject,
    Body,
    CreatedAt,
    SentAt,
    Attempts,
    NextAttemptAt,
    LastError,
}
