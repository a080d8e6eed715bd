//! A workroom's sources together are bounded in bytes
//! (`ATELYA_SOURCES_MAX_BYTES`), beside each source's own limit: every
//! task of the workroom reads all of them into its prompt, and
//! `Workroom.sources` answers them all at once.

use entity::source;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    db::{total_bytes, WriteTxn},
    error::{AppError, AppResult},
};

/// BAD_USER_INPUT when adding `adding` bytes to the `held` bytes of a
/// workroom's sources would pass `max`.
pub fn ensure_room(held: u64, adding: u64, max: usize) -> AppResult<()> {
    if held.saturating_add(adding) > max as u64 {
        return Err(AppError::bad_input(format!(
            "a workroom's sources hold at most {max} bytes together ({held} are taken, this adds {adding})"
        )));
    }
    Ok(())
}

/// The bytes of a workroom's sources' content, read under the caller's
/// lock on the workroom (so two additions cannot both take the last room).
pub async fn held(txn: &WriteTxn, workroom_id: Uuid) -> AppResult<u64> {
    let select = source::Entity::find().filter(source::Column::WorkroomId.eq(workroom_id));
    Ok(total_bytes(&**txn, select, source::Column::Content).await?)
}
