//! Counting a document's lexical tokens before parsing it, so an oversized
//! document is refused without paying for a parse.

/// Counts GraphQL lexical tokens, stopping once past `stop_after`.
pub fn count_tokens(source: &str, stop_after: usize) -> usize {
    let bytes = source.as_bytes();
    let (mut i, mut count) = (0, 0);
    while i < bytes.len() && count <= stop_after {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' => {
                count += 1;
                i = skip_string(bytes, i);
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                count += 1;
                i += 3;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                count += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
            }
            c if c.is_ascii_digit() || c == b'-' => {
                count += 1;
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'.' | b'+' | b'-'))
                {
                    i += 1;
                }
            }
            _ => {
                // Punctuators, and anything else (the parser will reject it).
                count += 1;
                i += source[i..].chars().next().map_or(1, char::len_utf8);
            }
        }
    }
    count
}

/// Skips a string or block string starting at `start`; returns the index after it.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    if bytes[start..].starts_with(b"\"\"\"") {
        let mut i = start + 3;
        while i < bytes.len() {
            if bytes[i..].starts_with(b"\\\"\"\"") {
                i += 4;
            } else if bytes[i..].starts_with(b"\"\"\"") {
                return i + 3;
            } else {
                i += 1;
            }
        }
        return i;
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_counted_like_the_graphql_lexer() {
        assert_eq!(count_tokens("{ viewer { user { id } } }", 100), 9);
        assert_eq!(
            count_tokens(
                r#"query Q($a: Int = -1.5e3) { f(s: "a b\"c", t: """x "" y""") ...F }"#,
                100
            ),
            23
        );
        assert_eq!(count_tokens("# only a comment\n,,,", 100), 0);
    }
}
