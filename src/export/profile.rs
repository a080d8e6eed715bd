//! Reading and changing the export profile (owner and admin change it).

use entity::export_profile;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::{
    activity::{self, ActivityAction, NewActivity},
    auth::{policy, Action, Session},
    error::{AppError, AppResult},
    ids::{self, Kind},
    input,
    state::AppState,
};

/// Longest contact block (a few lines of address, phone and web).
pub const CONTACT_BLOCK_MAX: usize = 2_000;
/// Longest font name.
pub const FONT_MAX: usize = 100;

/// A change to the profile: `None` leaves a field as it is; for the font,
/// `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ProfileChange {
    pub letterhead: Option<String>,
    pub accent_color: Option<String>,
    pub contact_block: Option<String>,
    pub font: Option<Option<String>>,
}

pub async fn load(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
) -> AppResult<export_profile::Model> {
    export_profile::Entity::find_by_id(workspace_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("export profile"))
}

/// Applies `change`, all checked before anything is written, with its activity entry.
#[tracing::instrument(name = "update_export_profile", skip_all, fields(workspace = %session.workspace_id))]
pub async fn update(
    state: &AppState,
    session: &Session,
    change: ProfileChange,
) -> AppResult<export_profile::Model> {
    policy::require(session, Action::ManageWorkspace)?;
    let letterhead = change
        .letterhead
        .map(|l| input::name(&l, "letterhead"))
        .transpose()?;
    let accent = change.accent_color.map(|c| accent_color(&c)).transpose()?;
    let contact = change
        .contact_block
        .map(|c| {
            input::limit(&c, "contactBlock", CONTACT_BLOCK_MAX)?;
            Ok::<_, AppError>(c.trim().to_owned())
        })
        .transpose()?;
    let font = change
        .font
        .map(|f| f.map(|f| input::text(&f, "font", FONT_MAX)).transpose())
        .transpose()?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::ManageWorkspace).await?;
    let mut row = load(&*txn, session.workspace_id).await?;
    // The changed fields in the input's order (a JSON map would sort them).
    let mut fields = Vec::new();
    let mut changed = Map::new();
    if let Some(letterhead) = letterhead {
        row.letterhead = letterhead;
        fields.push("letterhead");
        changed.insert("letterhead".into(), json!(row.letterhead));
    }
    if let Some(accent) = accent {
        row.accent_color = accent;
        fields.push("accentColor");
        changed.insert("accentColor".into(), json!(row.accent_color));
    }
    if let Some(contact) = contact {
        row.contact_block = contact;
        fields.push("contactBlock");
        changed.insert("contactBlock".into(), json!(row.contact_block));
    }
    if let Some(font) = font {
        row.font = font;
        fields.push("font");
        changed.insert("font".into(), json!(row.font));
    }
    row.updated_at = now;
    row.clone()
        .into_active_model()
        .reset_all()
        .update(&*txn)
        .await?;
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::ExportProfileUpdated,
        target_type: "Workspace",
        target_id: Some(ids::encode(Kind::Workspace, session.workspace_id)),
        summary: format!("{} updated the export profile", session.user.name),
        metadata: json!({ "fields": fields, "values": Value::Object(changed) }),
    };
    activity::record(&txn, session.workspace_id, entry, now).await?;
    txn.commit().await?;
    Ok(row)
}

/// `#RRGGBB` (either case, kept as given); anything else is BAD_USER_INPUT.
pub fn accent_color(raw: &str) -> AppResult<String> {
    let hex = raw.strip_prefix('#').unwrap_or("");
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::bad_input(format!(
            "accentColor must be #RRGGBB (six hexadecimal digits), not {raw:?}"
        )));
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::accent_color;

    #[test]
    fn accent_colours_are_six_hex_digits_after_a_hash() {
        assert_eq!(accent_color("#1f2937").unwrap(), "#1f2937");
        assert_eq!(accent_color("#ABCDEF").unwrap(), "#ABCDEF");
        for bad in [
            "1F2937", "#1F293", "#1F29377", "#GGGGGG", "red", "", "#", " #1F2937",
        ] {
            assert!(accent_color(bad).is_err(), "{bad:?}");
        }
    }
}
