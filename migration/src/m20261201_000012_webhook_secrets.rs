//! Webhook secrets each with their own overlap: an endpoint's earlier
//! secrets move from one column pair (which held only the last one, so a
//! second rotation within a day dropped the first at once) to a table of
//! their own, one row per secret with its expiry. The secret sealed in
//! `sealed_previous_secret` was sealed with the endpoint's id, so it moves
//! into a row whose id is the endpoint's id and opens as before.
//! Also an index for picking one endpoint's due deliveries.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookSecrets::Table)
                    .col(pk_uuid(WebhookSecrets::Id))
                    .col(uuid(WebhookSecrets::EndpointId))
                    .col(blob(WebhookSecrets::SealedSecret))
                    .col(timestamp_with_time_zone(WebhookSecrets::ExpiresAt))
                    .col(timestamp_with_time_zone(WebhookSecrets::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookSecrets::Table, WebhookSecrets::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_secrets_endpoint")
                    .table(WebhookSecrets::Table)
                    .col(WebhookSecrets::EndpointId)
                    .to_owned(),
            )
            .await?;
        let moved = Query::insert()
            .into_table(WebhookSecrets::Table)
            .columns([
                WebhookSecrets::Id,
                WebhookSecrets::EndpointId,
                WebhookSecrets::SealedSecret,
                WebhookSecrets::ExpiresAt,
                WebhookSecrets::CreatedAt,
            ])
            .select_from(
                Query::select()
                    .columns([
                        WebhookEndpoints::Id,
                        WebhookEndpoints::Id,
                        WebhookEndpoints::SealedPreviousSecret,
                        WebhookEndpoints::PreviousSecretUntil,
                        WebhookEndpoints::UpdatedAt,
                    ])
                    .from(WebhookEndpoints::Table)
                    .and_where(Expr::col(WebhookEndpoints::SealedPreviousSecret).is_not_null())
                    .and_where(Expr::col(WebhookEndpoints::PreviousSecretUntil).is_not_null())
                    .to_owned(),
            )
            .map_err(|e| DbErr::Migration(e.to_string()))?
            .to_owned();
        manager.exec_stmt(moved).await?;
        for column in [
            WebhookEndpoints::SealedPreviousSecret,
            WebhookEndpoints::PreviousSecretUntil,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(WebhookEndpoints::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("webhook_deliveries_endpoint_due")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::EndpointId)
                    .col(WebhookDeliveries::State)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    /// Back to one earlier secret per endpoint: the one that expires last.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("webhook_deliveries_endpoint_due")
                    .table(WebhookDeliveries::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookEndpoints::Table)
                    .add_column(blob_null(WebhookEndpoints::SealedPreviousSecret))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookEndpoints::Table)
                    .add_column(timestamp_with_time_zone_null(
                        WebhookEndpoints::PreviousSecretUntil,
                    ))
                    .to_owned(),
            )
            .await?;
        // Only a secret sealed with the endpoint's id (its row id is the endpoint's) opens there.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE webhook_endpoints SET \
                 sealed_previous_secret = (SELECT s.sealed_secret FROM webhook_secrets s WHERE s.id = webhook_endpoints.id), \
                 previous_secret_until = (SELECT s.expires_at FROM webhook_secrets s WHERE s.id = webhook_endpoints.id)",
            )
            .await?;
        manager
            .drop_table(Table::drop().table(WebhookSecrets::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum WebhookSecrets {
    Table,
    Id,
    EndpointId,
    SealedSecret,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    SealedPreviousSecret,
    PreviousSecretUntil,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    EndpointId,
    State,
    NextAttemptAt,
}
