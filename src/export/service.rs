//! Exporting a deliverable (members and up) and downloading an export
//! (every role), each with its activity entry.
//!
//! The file is rendered before the write transaction opens (rendering a long
//! PDF takes a while and must not hold the workspace lock), then stored in
//! the database with its row, so every instance can serve it. Exports are
//! capped per member and per address (`caps`) before anything is rendered,
//! and rendered a few at a time (`renders`).

use entity::{deliverable, export, export_file, workroom};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    caps,
    document::{Branding, Rgb},
    format::{self, ExportFormat},
    profile,
};
use crate::{
    activity::{self, ActivityAction, NewActivity},
    auth::{policy, Action, Session},
    error::{AppError, AppResult},
    ids::{self, Kind},
    state::AppState,
};

/// Renders a deliverable as `format` with the workspace's export profile and
/// stores the file; RATE_LIMITED (and nothing stored) over an hourly cap.
#[tracing::instrument(skip_all, fields(deliverable = %deliverable_id, format = %format))]
pub async fn create(
    state: &AppState,
    session: &Session,
    client_ip: &str,
    deliverable_id: Uuid,
    format: ExportFormat,
) -> AppResult<export::Model> {
    policy::require(session, Action::Work)?;
    let db = state.db.conn();
    let deliverable = deliverable::Entity::find_by_id(deliverable_id)
        .filter(deliverable::Column::WorkspaceId.eq(session.workspace_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("deliverable"))?;
    let Some(content) = deliverable.content.clone() else {
        return Err(AppError::conflict(
            "this deliverable has not been composed yet; export it once it has content",
        ));
    };
    let room = workroom::Entity::find_by_id(deliverable.workroom_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("workroom"))?;
    let brand = branding(profile::load(db, session.workspace_id).await?);
    caps::export(state, session, client_ip).await?;
    let label = deliverable.label.clone();
    let bytes = state
        .renders
        .run(move || super::format::render(format, &label, &content, &brand))
        .await??;
    let max = state.config.export_max_bytes;
    if bytes.len() > max {
        return Err(AppError::bad_input(format!(
            "the {} file would be {} bytes, more than the limit of {max} bytes; shorten the deliverable or export it as MARKDOWN",
            format,
            bytes.len()
        )));
    }
    let now = state.clock.now();
    let row = export::Model {
        id: Uuid::now_v7(),
        workspace_id: session.workspace_id,
        workroom_id: deliverable.workroom_id,
        deliverable_id,
        deliverable_version: deliverable.version,
        format,
        filename: format::filename(&room.title, &deliverable.label, deliverable.version, format),
        content_type: format.content_type().into(),
        byte_size: bytes.len() as i64,
        sha256: hex::encode(Sha256::digest(&bytes)),
        created_by: Some(session.user.id),
        created_at: now,
    };
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::Work).await?;
    export::Entity::insert(export::ActiveModel::from(row.clone()))
        .exec_without_returning(&*txn)
        .await?;
    let file = export_file::Model {
        export_id: row.id,
        content: bytes,
    };
    export_file::Entity::insert(export_file::ActiveModel::from(file))
        .exec_without_returning(&*txn)
        .await?;
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::ExportCreated,
        target_type: "Export",
        target_id: Some(ids::encode(Kind::Export, row.id)),
        summary: format!(
            "{} exported “{}” as {}",
            session.user.name, deliverable.label, format
        ),
        metadata: details(&row),
    };
    activity::record(&txn, session.workspace_id, entry, now).await?;
    txn.commit().await?;
    Ok(row)
}

/// An export's row and file, for any member of its workspace; the download is
/// recorded before the file is handed out. Another workspace's export is NOT_FOUND.
#[tracing::instrument(skip_all, fields(export = %export_id))]
pub async fn download(
    state: &AppState,
    session: &Session,
    export_id: Uuid,
) -> AppResult<(export::Model, Vec<u8>)> {
    policy::require(session, Action::Read)?;
    let db = state.db.conn();
    let row = find(db, session.workspace_id, export_id).await?;
    let file = export_file::Entity::find_by_id(row.id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("export"))?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::Read).await?;
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::ExportDownloaded,
        target_type: "Export",
        target_id: Some(ids::encode(Kind::Export, row.id)),
        summary: format!("{} downloaded {}", session.user.name, row.filename),
        metadata: details(&row),
    };
    activity::record(&txn, session.workspace_id, entry, now).await?;
    txn.commit().await?;
    Ok((row, file.content))
}

/// An export of the workspace; another workspace's is NOT_FOUND.
pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    id: Uuid,
) -> AppResult<export::Model> {
    crate::db::found::<export::Entity>(db, workspace_id, id, "export").await
}

/// What an activity entry says of an export (with the workroom, so the
/// workroom's activity lists it).
fn details(row: &export::Model) -> serde_json::Value {
    json!({
        "workroomId": ids::encode(Kind::Workroom, row.workroom_id),
        "deliverableId": ids::encode(Kind::Deliverable, row.deliverable_id),
        "deliverableVersion": row.deliverable_version,
        "format": row.format,
        "filename": row.filename,
        "byteSize": row.byte_size,
    })
}

fn branding(profile: entity::export_profile::Model) -> Branding {
    Branding {
        letterhead: profile.letterhead,
        accent: Rgb::from_hex(&profile.accent_color),
        contact_block: profile.contact_block,
        font: profile.font,
    }
}
