//! Billing periods: each workspace has a current period, and the ledger keys
//! each monthly grant by its period so a grant can never be made twice.
//!
//! Existing workspaces start their first period now, counting their plan's
//! allowance as already granted (changing plan granted it in full before).

use chrono::{Months, Utc};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The plan table's monthly allowances when periods were introduced.
const ALLOWANCES: [(&str, i64); 5] = [
    ("SOLO", 2_000),
    ("STARTER", 5_000),
    ("PRO", 15_000),
    ("GROWTH", 50_000),
    ("AGENCY", 150_000),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement, and only with a constant default.
        let epoch = "1970-01-01T00:00:00Z";
        for column in [
            timestamp_with_time_zone(Workspaces::BillingAnchor)
                .default(epoch)
                .to_owned(),
            integer(Workspaces::BillingPeriod).default(0).to_owned(),
            timestamp_with_time_zone(Workspaces::PeriodEnd)
                .default(epoch)
                .to_owned(),
            big_integer(Workspaces::PeriodGranted).default(0).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Workspaces::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        let now = Utc::now();
        let end = now
            .checked_add_months(Months::new(1))
            .expect("one month from now is a valid date");
        let mut granted = CaseStatement::new();
        for (plan, allowance) in ALLOWANCES {
            granted = granted.case(Expr::col(Workspaces::Plan).eq(plan), allowance);
        }
        manager
            .exec_stmt(
                Query::update()
                    .table(Workspaces::Table)
                    .value(Workspaces::BillingAnchor, now)
                    .value(Workspaces::BillingPeriod, 0)
                    .value(Workspaces::PeriodEnd, end)
                    .value(Workspaces::PeriodGranted, granted.finally(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CreditEntries::Table)
                    .add_column(string_len_null(CreditEntries::PeriodKey, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("credit_entries_period_key")
                    .table(CreditEntries::Table)
                    .col(CreditEntries::WorkspaceId)
                    .col(CreditEntries::PeriodKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("workspaces_period_end")
                    .table(Workspaces::Table)
                    .col(Workspaces::PeriodEnd)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("workspaces_period_end")
                    .table(Workspaces::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("credit_entries_period_key")
                    .table(CreditEntries::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CreditEntries::Table)
                    .drop_column(CreditEntries::PeriodKey)
                    .to_owned(),
            )
            .await?;
        for column in [
            Workspaces::BillingAnchor,
            Workspaces::BillingPeriod,
            Workspaces::PeriodEnd,
            Workspaces::PeriodGranted,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Workspaces::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Workspaces {
    Table,
    Plan,
    BillingAnchor,
    BillingPeriod,
    PeriodEnd,
    PeriodGranted,
}

#[derive(DeriveIden)]
enum CreditEntries {
    Table,
    WorkspaceId,
    PeriodKey,
}
