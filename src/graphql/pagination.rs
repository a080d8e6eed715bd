//! Relay connections built from a page of rows (`crate::page`).

use std::fmt::Display;

use async_graphql::{
    connection::{Connection, Edge},
    OutputType,
};

use crate::page::encode_cursor;
pub use crate::page::PageArgs;

/// Builds a connection from rows fetched with [`PageArgs::fetch_limit`].
pub fn connection<R, N: OutputType, K: Display>(
    mut rows: Vec<R>,
    page: &PageArgs<impl Sized>,
    key: impl Fn(&R) -> K,
    node: impl Fn(R) -> N,
) -> Connection<String, N> {
    let has_next = rows.len() as u64 > page.first;
    rows.truncate(page.first as usize);
    let mut conn = Connection::new(page.after.is_some(), has_next);
    conn.edges.extend(
        rows.into_iter()
            .map(|row| Edge::new(encode_cursor(key(&row)), node(row))),
    );
    conn
}
