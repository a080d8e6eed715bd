//! Text made safe for the package's XML parts.
//!
//! docx-rs escapes run text, but copies some values (relationship targets,
//! and the core properties this renderer writes itself) into the markup as
//! they are, and no value is stripped of the characters XML 1.0 cannot hold.

use std::fmt::Write as _;

/// `text` without the characters XML 1.0 forbids (most C0 controls, and the
/// non-characters U+FFFE and U+FFFF), which would make the part unreadable.
pub(super) fn xml_safe(text: &str) -> String {
    text.chars().filter(|&c| allowed_in_xml(c)).collect()
}

fn allowed_in_xml(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}'
    )
}

/// `text` with the five markup characters escaped, for values written verbatim.
pub(super) fn escape_markup(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// The escaped relationship target for a link's destination, or `None` when
/// the link cannot be one: empty, or a fragment pointing at a heading of the
/// Markdown, which has no bookmark in the DOCX.
///
/// Spaces and the other characters a URI cannot contain are percent-encoded:
/// Word reports a document as damaged when a hyperlink target is not a URI.
pub(super) fn link_target(destination: &str) -> Option<String> {
    let destination = xml_safe(destination.trim());
    if destination.is_empty() || destination.starts_with('#') {
        return None;
    }
    let mut encoded = String::with_capacity(destination.len());
    for c in destination.chars() {
        let unsafe_in_uri = c.is_ascii_control()
            || matches!(
                c,
                ' ' | '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}'
            );
        if unsafe_in_uri {
            let mut bytes = [0; 4];
            for byte in c.encode_utf8(&mut bytes).bytes() {
                let _ = write!(encoded, "%{byte:02X}");
            }
        } else {
            encoded.push(c);
        }
    }
    Some(escape_markup(&encoded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_go_and_everything_else_stays() {
        assert_eq!(xml_safe("a\u{0}b\u{1B}c\u{FFFF}"), "abc");
        assert_eq!(xml_safe("tab\tline\n✓ 🚀 日本"), "tab\tline\n✓ 🚀 日本");
    }

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(
            escape_markup(r#"R&D <"quoted"> it's"#),
            "R&amp;D &lt;&quot;quoted&quot;&gt; it&apos;s"
        );
    }

    #[test]
    fn link_targets_are_uris_in_escaped_form() {
        assert_eq!(
            link_target(" https://example.com/a b?x=1&y=\"2\" ").as_deref(),
            Some("https://example.com/a%20b?x=1&amp;y=%222%22")
        );
        assert_eq!(
            link_target("https://例え.jp/ü").as_deref(),
            Some("https://例え.jp/ü")
        );
        assert_eq!(link_target("#launch-plan"), None);
        assert_eq!(link_target("  "), None);
    }
}
