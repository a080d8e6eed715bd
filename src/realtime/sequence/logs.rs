//! The sequenced logs stored in the database: a workroom's events and a
//! workspace's activity.

use entity::{activity_event, workroom_event};
use futures_util::future::BoxFuture;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Log, Sequenced, PAGE};
use crate::{db::Db, error::AppResult};

impl Sequenced for workroom_event::Model {
    fn seq(&self) -> i64 {
        self.seq
    }

    fn size(&self) -> usize {
        let text = |field: &Option<String>| field.as_ref().map_or(0, String::len);
        std::mem::size_of::<Self>() + text(&self.text) + text(&self.data)
    }
}

impl Sequenced for activity_event::Model {
    fn seq(&self) -> i64 {
        self.seq
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.target_type.len()
            + self.target_id.as_ref().map_or(0, String::len)
            + self.summary.len()
            + self.metadata.len()
            + self.prev_hash.len()
            + self.hash.len()
    }
}

/// A workroom's events.
pub struct WorkroomLog(pub Db, pub Uuid);

impl Log for WorkroomLog {
    type Row = workroom_event::Model;
    fn read(&self, after: i64, until: i64) -> BoxFuture<'static, AppResult<Vec<Self::Row>>> {
        let (db, id) = (self.0.clone(), self.1);
        Box::pin(async move {
            Ok(workroom_event::Entity::find()
                .filter(workroom_event::Column::WorkroomId.eq(id))
                .filter(workroom_event::Column::Seq.gt(after))
                .filter(workroom_event::Column::Seq.lte(until))
                .order_by_asc(workroom_event::Column::Seq)
                .limit(PAGE)
                .all(db.conn())
                .await?)
        })
    }
}

/// A workspace's activity log.
pub struct ActivityLog(pub Db, pub Uuid);

impl Log for ActivityLog {
    type Row = activity_event::Model;
    fn read(&self, after: i64, until: i64) -> BoxFuture<'static, AppResult<Vec<Self::Row>>> {
        let (db, id) = (self.0.clone(), self.1);
        Box::pin(async move {
            Ok(activity_event::Entity::find()
                .filter(activity_event::Column::WorkspaceId.eq(id))
                .filter(activity_event::Column::Seq.gt(after))
                .filter(activity_event::Column::Seq.lte(until))
                .order_by_asc(activity_event::Column::Seq)
                .limit(PAGE)
                .all(db.conn())
                .await?)
        })
    }
}
