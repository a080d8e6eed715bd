//! Integrations: a workspace's connections to outside services, their OAuth
//! tokens sealed (never stored in plain text).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Integrations::Table)
                    .col(pk_uuid(Integrations::Id))
                    .col(uuid(Integrations::WorkspaceId))
                    .col(string_len(Integrations::Provider, 64))
                    .col(text(Integrations::Scopes))
                    .col(blob(Integrations::SealedAccessToken))
                    .col(blob_null(Integrations::SealedRefreshToken))
                    .col(uuid_null(Integrations::ConnectedBy))
                    .col(timestamp_with_time_zone(Integrations::CreatedAt))
                    .col(timestamp_with_time_zone(Integrations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Integrations::Table, Integrations::WorkspaceId)
                            .to(Workspaces::Table, Workspaces::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("integrations_workspace_provider")
                    .table(Integrations::Table)
                    .col(Integrations::WorkspaceId)
                    .col(Integrations::Provider)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Integrations::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Id,
    WorkspaceId,
    Provider,
    Scopes,
    SealedAccessToken,
    SealedRefreshToken,
    ConnectedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Workspaces {
    Table,
    Id,
}
