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
    let mut changed = 0;
    for row in integration::Entity::find().all(db).await? {
        let id = row.id.as_bytes();
        if let Some(fresh) = fresh(state, id, Some(&row.sealed_access_token))? {
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
        if let Some(fresh) = fresh(state, id, row.sealed_refresh_token.as_ref())? {
            let old = row.sealed_refresh_token.clone();
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
        let Some(fresh) = fresh(state, mail.id.as_bytes(), mail.sealed_secret.as_ref())? else {
            continue;
        };
        let old = mail.sealed_secret;
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

/// `sealed` sealed again with the current key, when an earlier key sealed it.
fn fresh(state: &AppState, id: &[u8], sealed: Option<&Vec<u8>>) -> AppResult<Option<Vec<u8>>> {
    let sealer = &state.sealer;
    match sealed.filter(|s| sealer.is_stale(s)) {
        Some(old) => Ok(Some(sealer.seal(id, &sealer.open(id, old)?)?)),
        None => Ok(None),
    }
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
