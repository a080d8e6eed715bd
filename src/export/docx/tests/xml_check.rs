//! A small well-formedness check for the parts the renderer writes: tags
//! balance, attribute values are quoted, `&` only starts an entity, and no
//! character XML 1.0 forbids appears.

/// Panics, naming `part`, unless `xml` passes the check.
pub fn assert_well_formed(part: &str, xml: &str) {
    let mut open: Vec<&str> = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        check_text(part, &rest[..start]);
        let after = &rest[start + 1..];
        let end = tag_end(after).unwrap_or_else(|| panic!("{part}: a tag is never closed"));
        let tag = &after[..end];
        rest = &after[end + 1..];
        if tag.starts_with('?') {
            continue;
        }
        if let Some(closing) = tag.strip_prefix('/') {
            let expected = open.pop();
            assert_eq!(
                expected,
                Some(closing.trim()),
                "{part}: mismatched </{closing}>"
            );
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/').trim_end();
        let (element, attributes) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
        assert!(!element.is_empty(), "{part}: a tag without a name");
        check_attributes(part, element, attributes);
        if !self_closing {
            open.push(element);
        }
    }
    check_text(part, rest);
    assert!(open.is_empty(), "{part}: unclosed elements {open:?}");
}

/// Where the tag starting at `after` ends, skipping `>` inside quoted values.
fn tag_end(after: &str) -> Option<usize> {
    let mut quoted = false;
    for (index, c) in after.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '>' if !quoted => return Some(index),
            _ => {}
        }
    }
    None
}

fn check_attributes(part: &str, element: &str, attributes: &str) {
    let mut rest = attributes.trim_start();
    while !rest.is_empty() {
        let (name, value_and_rest) = rest
            .split_once('=')
            .unwrap_or_else(|| panic!("{part}: <{element}> has a bare attribute"));
        assert!(
            !name.trim().is_empty() && !name.contains(char::is_whitespace),
            "{part}: <{element}> has a malformed attribute name {name:?}"
        );
        let value_and_rest = value_and_rest
            .strip_prefix('"')
            .unwrap_or_else(|| panic!("{part}: <{element} {name}> is not quoted"));
        let (value, after) = value_and_rest
            .split_once('"')
            .unwrap_or_else(|| panic!("{part}: <{element} {name}> is never closed"));
        assert!(!value.contains('<'), "{part}: `<` in <{element} {name}>");
        check_text(part, value);
        rest = after.trim_start();
    }
}

fn check_text(part: &str, text: &str) {
    for c in text.chars() {
        let allowed =
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}');
        assert!(allowed, "{part}: character {c:?} is not allowed in XML");
    }
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        rest = &rest[amp + 1..];
        let entity = rest.split(';').next().unwrap_or_default();
        let known = matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")
            || entity
                .strip_prefix("#x")
                .is_some_and(|hex| !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()))
            || entity
                .strip_prefix('#')
                .is_some_and(|dec| !dec.is_empty() && dec.chars().all(|c| c.is_ascii_digit()));
        assert!(
            known && rest.len() > entity.len(),
            "{part}: `&` does not start an entity near {:?}",
            &text[..text.len().min(80)]
        );
    }
}

#[test]
fn the_check_catches_broken_xml() {
    let broken = [
        "<a><b></a></b>",
        "<a>AT&T</a>",
        "<a x=\"1\"><b></a>",
        "<a x=1 />",
        "<a>\u{1}</a>",
        "<a x=\"<\" />",
    ];
    for xml in broken {
        let result = std::panic::catch_unwind(|| assert_well_formed("sample", xml));
        assert!(result.is_err(), "{xml} passed");
    }
    assert_well_formed(
        "sample",
        r#"<?xml version="1.0"?><a x="1 &amp; 2"><b /><c>R&amp;D &#x1F680; &lt;ok&gt;</c></a>"#,
    );
}
