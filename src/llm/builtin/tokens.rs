//! How the built-in model cuts text into tokens, for streaming and counting.
//!
//! A maximal run of alphanumerics is one token, and every other
//! non-whitespace character is a token of its own. A streamed token carries
//! the whitespace before it, so the pieces concatenate back to the exact text.

/// Splits `text` into tokens, each with the whitespace before it. Trailing
/// whitespace joins the last token so nothing is lost; text made only of
/// whitespace has no tokens.
pub fn split_tokens(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    // `current` holds a token (not only leading whitespace).
    let mut has_token = false;
    // ...and that token is an alphanumeric run that may still grow.
    let mut in_word = false;
    for ch in text.chars() {
        let extends_word = in_word && ch.is_alphanumeric();
        if has_token && !extends_word {
            pieces.push(std::mem::take(&mut current));
            has_token = false;
        }
        current.push(ch);
        has_token |= !ch.is_whitespace();
        in_word = ch.is_alphanumeric();
    }
    if has_token {
        pieces.push(current);
    } else if let Some(last) = pieces.last_mut() {
        last.push_str(&current);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{builtin::fixtures::model, LanguageModel};

    #[test]
    fn tokenizer_splits_words_and_symbols_keeping_whitespace() {
        let tokens = split_tokens("## Key-points:\n  42x done. ");
        assert_eq!(
            tokens,
            ["#", "#", " Key", "-", "points", ":", "\n  42x", " done", ". "]
        );
        assert_eq!(tokens.concat(), "## Key-points:\n  42x done. ");
        assert_eq!(model().count_tokens(""), 0);
        assert_eq!(model().count_tokens("   \n"), 0);
        assert_eq!(model().count_tokens("Hello, world!"), 4);
        assert_eq!(model().count_tokens("café “ok”"), 4);
    }
}
