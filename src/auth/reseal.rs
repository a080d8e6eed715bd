//! After a key rotation: every value sealed with an earlier key is sealed
//! again with the current one, so the earlier key can then be retired.
//!
//! [`SEALED_COLUMNS`] lists every column that holds sealed values; each is
//! sealed with its row's `id` as associated data. A test scans every column
//! of every table for values that open with the old key, so a sealed column
//! missing here fails it. Each row is rewritten only if it still holds the
//! value read (a conditional update), so instances doing this at once
//! change each value once. Rows are read a page at a time.

use sea_orm::{
    sea_query::{Alias, Expr, ExprTrait, Order, Query},
    ConnectionTrait,
};
use uuid::Uuid;

use crate::{error::AppResult, state::AppState};

/// Every sealed column, as (table, column).
pub const SEALED_COLUMNS: &[(&str, &str)] = &[
    ("email_outbox", "sealed_secret"),
    ("integrations", "sealed_access_token"),
    ("integrations", "sealed_refresh_token"),
    ("webhook_endpoints", "sealed_secret"),
    ("webhook_secrets", "sealed_secret"),
];

/// Rows read at once.
const PAGE: u64 = 200;

/// Seals again what an earlier key sealed; returns how many values changed.
pub async fn reseal_stale(state: &AppState) -> AppResult<usize> {
    let mut changed = 0;
    for (table, column) in SEALED_COLUMNS {
        changed += reseal_column(state, table, column).await?;
    }
    Ok(changed)
}

async fn reseal_column(state: &AppState, table: &str, column: &str) -> AppResult<usize> {
    let db = state.db.conn();
    let mut changed = 0;
    let mut after: Option<Uuid> = None;
    loop {
        let mut page = Query::select();
        page.column(Alias::new("id"))
            .column(Alias::new(column))
            .from(Alias::new(table))
            .and_where(Expr::col(Alias::new(column)).is_not_null())
            .order_by(Alias::new("id"), Order::Asc)
            .limit(PAGE);
        if let Some(after) = after {
            page.and_where(Expr::col(Alias::new("id")).gt(after));
        }
        let rows = db.query_all(&page).await?;
        for row in &rows {
            let id: Uuid = row.try_get("", "id")?;
            let sealed: Vec<u8> = row.try_get("", column)?;
            after = Some(id);
            if let Some(fresh) = fresh(state, id, &sealed)? {
                changed += swap(state, table, column, id, sealed, fresh).await?;
            }
        }
        if (rows.len() as u64) < PAGE {
            return Ok(changed);
        }
    }
}

/// `sealed` sealed again with the current key, when an earlier key sealed it.
fn fresh(state: &AppState, id: Uuid, sealed: &[u8]) -> AppResult<Option<Vec<u8>>> {
    let sealer = &state.sealer;
    if !sealer.is_stale(sealed) {
        return Ok(None);
    }
    let id = id.as_bytes();
    Ok(Some(sealer.seal(id, &sealer.open(id, sealed)?)?))
}

/// Writes `fresh` where the row still holds `old`; 1 if it did.
async fn swap(
    state: &AppState,
    table: &str,
    column: &str,
    id: Uuid,
    old: Vec<u8>,
    fresh: Vec<u8>,
) -> AppResult<usize> {
    let update = Query::update()
        .table(Alias::new(table))
        .value(Alias::new(column), fresh)
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .and_where(Expr::col(Alias::new(column)).eq(old))
        .to_owned();
    let txn = state.db.begin().await?;
    let done = txn.execute(&update).await?.rows_affected();
    txn.commit().await?;
    Ok(usize::from(done == 1))
}
