//! Plain-text helpers the built-in model writes with: excerpts, bullets and
//! small pieces of English grammar. None of them looks at the request.

/// The bullet text of a Markdown list line (`- x`, `* x`, `1. x`), if it is one.
pub(super) fn bullet_text(line: &str) -> Option<String> {
    let line = line.trim();
    let rest = line.strip_prefix("- ").or_else(|| line.strip_prefix("* "));
    let rest = rest.or_else(|| {
        let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        (digits > 0)
            .then(|| line[digits..].strip_prefix(". "))
            .flatten()
    });
    rest.map(squash).filter(|r| !r.is_empty())
}

/// The gist of a task output: its first bullet, else its first sentence.
pub(super) fn gist_of(output: &str) -> String {
    if let Some(bullet) = output.lines().find_map(bullet_text) {
        return excerpt(&plain(&bullet), 20);
    }
    excerpt(&plain(output), 20)
}

/// Drops bold markers so excerpts of Markdown read as plain text.
pub(super) fn plain(text: &str) -> String {
    squash(&text.replace("**", "").replace("__", ""))
}

/// The first sentence of `text`, at most `max_words` words ("…" when cut),
/// on one line and without leading heading or list markers.
pub(super) fn excerpt(text: &str, max_words: usize) -> String {
    let flat = squash(&prose(text));
    let flat = flat.trim_start_matches(['#', '-', '*', '>', ' ']);
    let words: Vec<&str> = first_sentence(flat).split(' ').collect();
    if words.len() <= max_words {
        return words.join(" ");
    }
    format!("{}…", strip_end(&words[..max_words].join(" ")))
}

/// Up to the first `.`, `!` or `?` that ends a word (followed by a space or
/// the end of the text).
pub(super) fn first_sentence(text: &str) -> &str {
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|&(_, next)| next == ' ') {
            return &text[..i + c.len_utf8()];
        }
    }
    text
}

/// `text` without its Markdown heading lines (a source's "# Proposal" title
/// is not its content), unless headings are all there is.
pub(super) fn prose(text: &str) -> String {
    let body: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    if body.iter().all(|l| l.trim().is_empty()) {
        text.to_string()
    } else {
        body.join("\n")
    }
}

/// Collapses every whitespace run (newlines included) into one space.
pub(super) fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` ending as a sentence, without doubling the stop after a "…".
pub(super) fn end_sentence(text: &str) -> String {
    if text.ends_with(['.', '!', '?', '…']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

/// Without trailing punctuation, so a phrase can be embedded in a sentence.
pub(super) fn strip_end(text: &str) -> &str {
    text.trim_end_matches(['.', '!', '?', ',', ';', ':', ' '])
}

pub(super) fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        // Only a capitalised word is lowered: "SEO", "Q3" and "A" stay.
        Some(first) if chars.next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(text.chars().skip(1)).collect()
        }
        _ => text.to_string(),
    }
}

pub(super) fn non_empty<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.trim().is_empty() {
        fallback
    } else {
        text.trim()
    }
}

pub(super) fn plural(n: usize, noun: &str) -> String {
    match n {
        1 => format!("one {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// "a", "a and b", "a, b and c".
pub(super) fn join_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
