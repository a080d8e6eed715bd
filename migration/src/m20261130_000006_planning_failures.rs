//! Failed planning attempts are counted in the workroom row, so an instance
//! that takes a run over goes on counting instead of starting again.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Workrooms::Table)
                    .add_column(integer(Workrooms::PlanFailures).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Workrooms::Table)
                    .drop_column(Workrooms::PlanFailures)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Workrooms {
    Table,
    PlanFailures,
}
