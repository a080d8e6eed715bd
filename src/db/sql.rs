//! SQL helpers: LIKE patterns that match text literally, the size in bytes
//! of stored text, and recognising a unique-constraint violation.

use sea_orm::{
    sea_query::{Expr, Func},
    ConnectionTrait, DbErr, EntityTrait, QuerySelect, Select,
};

/// A LIKE pattern matching any text that contains `text` literally: its
/// `%`, `_` and `\\` match only themselves.
pub fn containing(text: &str) -> sea_orm::sea_query::LikeExpr {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\')
}

/// The bytes of `column` summed over the rows `select` picks (0 for none),
/// counted by the database (`octet_length`, on SQLite as on PostgreSQL), so
/// nothing is read into memory to find out.
pub async fn total_bytes<E: EntityTrait>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    column: E::Column,
) -> Result<u64, DbErr> {
    let bytes = Func::cust("octet_length").arg(Expr::col(column));
    let total = Func::coalesce([Expr::from(Func::sum(bytes)), Expr::val(0i64)]);
    let row: Option<i64> = select
        .select_only()
        .column_as(Expr::from(total), "total")
        .into_tuple()
        .one(db)
        .await?;
    Ok(row.map_or(0, |total| total.max(0) as u64))
}

/// True when a database error is a unique-constraint violation.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

#[cfg(test)]
mod like_tests {
    use sea_orm::{
        sea_query::{Alias, Expr, ExprTrait, Query, SqliteQueryBuilder},
        ConnectionTrait, Database, Statement,
    };

    use super::containing;

    /// Which of `texts` the pattern for `needle` matches, asked of SQLite.
    async fn matches(needle: &str, texts: &[&str]) -> Vec<String> {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        let mut found = Vec::new();
        for text in texts {
            let query = Query::select()
                .expr_as(Expr::val(*text).like(containing(needle)), Alias::new("hit"))
                .to_string(SqliteQueryBuilder);
            let row = db
                .query_one_raw(Statement::from_string(db.get_database_backend(), query))
                .await
                .unwrap()
                .unwrap();
            if row.try_get::<bool>("", "hit").unwrap() {
                found.push(text.to_string());
            }
        }
        found
    }

    #[tokio::test]
    async fn wildcards_in_the_searched_text_match_only_themselves() {
        let texts = ["a_b", "axb", "50%", "500", r"c:\d", "c:d"];
        assert_eq!(matches("a_b", &texts).await, ["a_b"]);
        assert_eq!(matches("0%", &texts).await, ["50%"]);
        assert_eq!(matches(r"\", &texts).await, [r"c:\d"]);
        assert_eq!(matches("%", &texts).await, ["50%"]);
    }
}
