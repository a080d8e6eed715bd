use sea_orm::entity::prelude::*;

/// The bytes of an export, read only to be downloaded.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "export_files")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub export_id: Uuid,
    pub content: Vec<u8>,
}

/// Written by hand so that a log line shows the size, not megabytes of bytes.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportFile")
            .field("export_id", &self.export_id)
            .field("bytes", &self.content.len())
            .finish()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
