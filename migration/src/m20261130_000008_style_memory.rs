//! Style Memory: an agent's writing samples, and the versions of the style
//! profile derived from them (each with why it changed and who changed it).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StyleSamples::Table)
                    .col(pk_uuid(StyleSamples::Id))
                    .col(uuid(StyleSamples::WorkspaceId))
                    .col(uuid(StyleSamples::AgentId))
                    .col(text(StyleSamples::Text))
                    .col(uuid_null(StyleSamples::AddedBy))
                    .col(timestamp_with_time_zone(StyleSamples::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(StyleSamples::Table, StyleSamples::AgentId)
                            .to(Agents::Table, Agents::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("style_samples_agent")
                    .table(StyleSamples::Table)
                    .col(StyleSamples::AgentId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StyleMemoryVersions::Table)
                    .col(pk_uuid(StyleMemoryVersions::Id))
                    .col(uuid(StyleMemoryVersions::WorkspaceId))
                    .col(uuid(StyleMemoryVersions::AgentId))
                    .col(integer(StyleMemoryVersions::Version))
                    .col(text(StyleMemoryVersions::Summary))
                    .col(text(StyleMemoryVersions::Traits))
                    .col(integer(StyleMemoryVersions::SampleCount))
                    .col(string_len(StyleMemoryVersions::Reason, 200))
                    .col(uuid_null(StyleMemoryVersions::ActorId))
                    .col(timestamp_with_time_zone(StyleMemoryVersions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(StyleMemoryVersions::Table, StyleMemoryVersions::AgentId)
                            .to(Agents::Table, Agents::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("style_versions_agent_version")
                    .table(StyleMemoryVersions::Table)
                    .col(StyleMemoryVersions::AgentId)
                    .col(StyleMemoryVersions::Version)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StyleMemoryVersions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(StyleSamples::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum StyleSamples {
    Table,
    Id,
    WorkspaceId,
    AgentId,
    Text,
    AddedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum StyleMemoryVersions {
    Table,
    Id,
    WorkspaceId,
    AgentId,
    Version,
    Summary,
    Traits,
    SampleCount,
    Reason,
    ActorId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
}
