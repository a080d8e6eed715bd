//! After a key rotation: every value sealed with an earlier key is sealed
//! again with the current one, so the earlier key can then be retired.
//! Each row is rewritten only if it still holds the value read (a
//! conditional update), so instances doing this at once change each row once.

use entity::{email_outbox, integration};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};

use crate::{error::AppResult, state::AppState};

/// Seals again what an earlier key sealed; returns how many values changed.
pub async fn reseal_stale(state: &AppState) -> AppResult<usize> {
    let db = state.db.conn();
    let sealer = &state.sealer;
    let mut changed = 0;
    for row in integration::Entity::find().all(db).await? {
        let id = row.id.as_bytes();
        if sealer.is_stale(&row.sealed_access_token) {
            let fresh = sealer.seal(id, &sealer.open(id, &row.sealed_access_token)?)?;
            changed += swap(
                state,
                integration::Entity::update_many()
                    .col_expr(integration::Column::SealedAccessToken, Expr::value(fresh))
                    .filter(integration::Column::Id.eq(row.id))
                    .filter(
                        integration::Column::SealedAccessToken.eq(row.sealed_access_token.clone()),
                    ),
            )
            .await?;
        }
        if let Some(old) = row.sealed_refresh_token.filter(|s| sealer.is_stale(s)) {
            let fresh = sealer.seal(id, &sealer.open(id, &old)?)?;
            changed += swap(
                state,
                integration::Entity::update_many()
                    .col_expr(integration::Column::SealedRefreshToken, Expr::value(fresh))
                    .filter(integration::Column::Id.eq(row.id))
                    .filter(integration::Column::SealedRefreshToken.eq(old)),
            )
            .await?;
        }
    }
    let waiting = email_outbox::Entity::find()
        .filter(email_outbox::Column::SealedSecret.is_not_null())
        .all(db)
        .await?;
    for mail in waiting {
        let Some(old) = mail.sealed_secret.filter(|s| sealer.is_stale(s)) else {
            continue;
        };
        let id = mail.id.as_bytes();
        let fresh = sealer.seal(id, &sealer.open(id, &old)?)?;
        changed += swap(
            state,
            email_outbox::Entity::update_many()
                .col_expr(email_outbox::Column::SealedSecret, Expr::value(fresh))
                .filter(email_outbox::Column::Id.eq(mail.id))
                .filter(email_outbox::Column::SealedSecret.eq(old)),
        )
        .await?;
    }
    Ok(changed)
}

async fn swap<E: EntityTrait>(
    state: &AppState,
    update: sea_orm::UpdateMany<E>,
) -> AppResult<usize> {
    let txn = state.db.begin().await?;
    let done = update.exec(&*txn).await?.rows_affected;
    txn.commit().await?;
    Ok(usize::from(done == 1))
}
