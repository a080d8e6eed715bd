//! An API key is bound to the membership row of its creator, not to the
//! user: when the creator leaves or is removed the row is gone, and joining
//! again makes a new row, so the key never works again.
//!
//! Existing keys are bound to the membership their creator held when the key
//! was made (joined no later than the key's creation); a key whose creator
//! has left, or left and joined again since, stays unbound and so stays dead.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The membership each existing key was made under, on both databases.
const BIND_EXISTING: &str = "UPDATE api_keys SET member_id = (\
    SELECT members.id FROM members \
    WHERE members.workspace_id = api_keys.workspace_id \
    AND members.user_id = api_keys.created_by \
    AND members.joined_at <= api_keys.created_at)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ApiKeys::Table)
                    .add_column(uuid_null(ApiKeys::MemberId))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(BIND_EXISTING)
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ApiKeys::Table)
                    .drop_column(ApiKeys::MemberId)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    MemberId,
}
