//! Exports: a deliverable rendered as a branded file. The row describing it
//! and the file's bytes live apart, so listing a deliverable's exports never
//! reads the files.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Exports::Table)
                    .col(pk_uuid(Exports::Id))
                    .col(uuid(Exports::WorkspaceId))
                    .col(uuid(Exports::WorkroomId))
                    .col(uuid(Exports::DeliverableId))
                    .col(integer(Exports::DeliverableVersion))
                    .col(string_len(Exports::Format, 16))
                    .col(string_len(Exports::Filename, 255))
                    .col(string_len(Exports::ContentType, 128))
                    .col(big_integer(Exports::ByteSize))
                    .col(string_len(Exports::Sha256, 64))
                    .col(uuid_null(Exports::CreatedBy))
                    .col(timestamp_with_time_zone(Exports::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Exports::Table, Exports::WorkspaceId)
                            .to(Workspaces::Table, Workspaces::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Exports::Table, Exports::DeliverableId)
                            .to(Deliverables::Table, Deliverables::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("exports_deliverable_created")
                    .table(Exports::Table)
                    .col(Exports::DeliverableId)
                    .col(Exports::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ExportFiles::Table)
                    .col(pk_uuid(ExportFiles::ExportId))
                    .col(blob(ExportFiles::Content))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ExportFiles::Table, ExportFiles::ExportId)
                            .to(Exports::Table, Exports::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ExportFiles::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Exports::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Exports {
    Table,
    Id,
    WorkspaceId,
    WorkroomId,
    DeliverableId,
    DeliverableVersion,
    Format,
    Filename,
    ContentType,
    ByteSize,
    Sha256,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ExportFiles {
    Table,
    ExportId,
    Content,
}

#[derive(DeriveIden)]
enum Workspaces {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Deliverables {
    Table,
    Id,
}
