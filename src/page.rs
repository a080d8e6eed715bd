//! Paging a list: `first` (default 20, 0 to 100) and opaque `after` cursors.
//!
//! A cursor is URL-safe base64 of `v1:<key>`, where the key is whatever the
//! list orders by (a sequence number or a time-ordered uuid). A cursor that
//! does not decode is BAD_USER_INPUT, never a crash. The GraphQL connections
//! built from a page are `graphql::pagination`'s.

use std::{fmt::Display, str::FromStr};

use base64::Engine;

use crate::error::{AppError, AppResult};

pub const DEFAULT_FIRST: i32 = 20;
pub const MAX_FIRST: i32 = 100;

/// Validated paging arguments, keyed by `K`.
pub struct PageArgs<K> {
    pub first: u64,
    pub after: Option<K>,
}

impl<K: FromStr> PageArgs<K> {
    pub fn parse(first: Option<i32>, after: Option<String>) -> AppResult<PageArgs<K>> {
        let first = first.unwrap_or(DEFAULT_FIRST);
        if !(0..=MAX_FIRST).contains(&first) {
            return Err(AppError::bad_input(format!(
                "first must be between 0 and {MAX_FIRST}"
            )));
        }
        let after = after.as_deref().map(decode_cursor).transpose()?;
        Ok(PageArgs {
            first: first as u64,
            after,
        })
    }
}

impl<K> PageArgs<K> {
    /// Rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> u64 {
        self.first + 1
    }
}

pub fn encode_cursor(key: impl Display) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{key}"))
}

fn decode_cursor<K: FromStr>(cursor: &str) -> AppResult<K> {
    let bad = || AppError::bad_input("after is not a valid cursor");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix("v1:")
        .ok_or_else(bad)?
        .parse()
        .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_is_bounded() {
        assert_eq!(PageArgs::<i64>::parse(None, None).unwrap().first, 20);
        assert!(PageArgs::<i64>::parse(Some(100), None).is_ok());
        assert!(PageArgs::<i64>::parse(Some(101), None).is_err());
        assert!(PageArgs::<i64>::parse(Some(-1), None).is_err());
    }

    #[test]
    fn cursors_round_trip_and_forgeries_are_refused() {
        let page = PageArgs::<i64>::parse(Some(5), Some(encode_cursor(42))).unwrap();
        assert_eq!(page.after, Some(42));
        for forged in ["", "!!!", "djE6", "bm9wZQ", &encode_cursor("x")] {
            assert!(
                PageArgs::<i64>::parse(None, Some(forged.to_string())).is_err(),
                "{forged}"
            );
        }
    }
}
