use sea_orm::entity::prelude::*;

use crate::enums::Role;

/// A workspace's machine credential, used as a bearer token.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    /// The first characters of the secret (`atk_` and eight more), to recognise it.
    pub prefix: String,
    /// Lower-case hex SHA-256 of the whole secret; the secret itself is never stored.
    pub secret_hash: String,
    /// The role it acts with, at most its creator's and never OWNER.
    pub role: Role,
    pub created_by: Option<Uuid>,
    /// The creator's membership row the key acts under. It is gone once the
    /// creator leaves or is removed, and a later membership has another id,
    /// so the key never works again.
    pub member_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub expires_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

/// Written by hand so that not even the hash reaches a log.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("workspace_id", &self.workspace_id)
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
