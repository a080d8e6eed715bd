//! Secrets in outgoing mail are kept sealed, apart from the body, and only
//! until the message is delivered; delivered messages lose their bodies.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(EmailOutbox::Table)
                    .add_column(blob_null(EmailOutbox::SealedSecret))
                    .to_owned(),
            )
            .await?;
        // Mail written before this kept its token in the body; once sent,
        // nothing needs the body any more.
        manager
            .exec_stmt(
                Query::update()
                    .table(EmailOutbox::Table)
                    .value(EmailOutbox::Body, "")
                    .and_where(Expr::col(EmailOutbox::SentAt).is_not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(EmailOutbox::Table)
                    .drop_column(EmailOutbox::SealedSecret)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    Body,
    SentAt,
    SealedSecret,
}
