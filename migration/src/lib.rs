//! The database schema, as an ordered, append-only list of migrations (one per file).
//!
//! `atelya migrate` and `atelya serve` apply the pending ones; never edit a
//! migration that has shipped, add a new one.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_identity;
mod m20261121_000002_ledger_and_activity;
mod m20261121_000003_workrooms;
mod m20261129_000004_outbox_secrets;
mod m20261130_000005_billing_periods;
mod m20261130_000006_planning_failures;
mod m20261130_000007_integrations;
mod m20261130_000008_style_memory;
mod m20261130_000009_exports;
mod m20261130_000010_api_keys;
mod m20261130_000011_webhooks;
mod m20261201_000012_webhook_secrets;
mod m20261201_000013_api_key_member;
mod m20261207_000014_tools;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_identity::Migration),
            Box::new(m20261121_000002_ledger_and_activity::Migration),
            Box::new(m20261121_000003_workrooms::Migration),
            Box::new(m20261129_000004_outbox_secrets::Migration),
            Box::new(m20261130_000005_billing_periods::Migration),
            Box::new(m20261130_000006_planning_failures::Migration),
            Box::new(m20261130_000007_integrations::Migration),
            Box::new(m20261130_000008_style_memory::Migration),
            Box::new(m20261130_000009_exports::Migration),
            Box::new(m20261130_000010_api_keys::Migration),
            Box::new(m20261130_000011_webhooks::Migration),
            Box::new(m20261201_000012_webhook_secrets::Migration),
            Box::new(m20261201_000013_api_key_member::Migration),
            Box::new(m20261207_000014_tools::Migration),
        ]
    }
}
