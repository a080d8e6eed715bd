//! Writing in a learned voice: the built-in model adjusts what it wrote to
//! the traits of the agent's style memory, so that agents taught different
//! samples write visibly differently: spelling (British or American),
//! register (contractions, or none), emoji, exclamations, and a closing line
//! in the agent's own recurring phrase.

use crate::{agent::style::traits::SPELLINGS, llm::StyleBrief};

/// How the text should sound, read from the traits.
#[derive(Debug, Default, PartialEq)]
struct Voice {
    /// `Some(true)` British, `Some(false)` American.
    british: Option<bool>,
    casual: bool,
    formal: bool,
    emoji: bool,
    exclaims: bool,
    phrase: Option<String>,
}

impl Voice {
    fn of(brief: &StyleBrief) -> Voice {
        let t = &brief.traits;
        let number = |key: &str| t[key].as_f64().unwrap_or(0.0);
        let register = t["register"].as_str().unwrap_or("neutral");
        Voice {
            british: match t["spelling"].as_str() {
                Some("british") => Some(true),
                Some("american") => Some(false),
                _ => None,
            },
            casual: register == "casual",
            formal: register == "formal",
            emoji: number("emojiPerSentence") >= 0.2,
            exclaims: number("exclamationRate") >= 0.2,
            phrase: t["recurringPhrases"][0].as_str().map(str::to_owned),
        }
    }
}

/// Contractions a casual voice uses and a formal one spells out.
const CONTRACTIONS: &[(&str, &str)] = &[
    ("we will", "we'll"),
    ("We will", "We'll"),
    ("we are", "we're"),
    ("We are", "We're"),
    ("you are", "you're"),
    ("You are", "You're"),
    ("it is", "it's"),
    ("It is", "It's"),
    ("that is", "that's"),
    ("do not", "don't"),
    ("does not", "doesn't"),
    ("cannot", "can't"),
    ("will not", "won't"),
    ("let us", "let's"),
    ("Let us", "Let's"),
];

/// `text` rewritten in the voice of `brief`, or as it is without one.
pub(super) fn apply(text: &str, brief: Option<&StyleBrief>) -> String {
    let Some(brief) = brief else {
        return text.to_owned();
    };
    let voice = Voice::of(brief);
    let mut out = match voice.british {
        Some(british) => respell(text, british),
        None => text.to_owned(),
    };
    for (full, short) in CONTRACTIONS {
        if voice.casual {
            out = replace_words(&out, full, short);
        } else if voice.formal {
            out = replace_words(&out, short, full);
        }
    }
    let mut lines: Vec<String> = out.lines().map(str::to_owned).collect();
    if voice.emoji {
        if let Some(title) = lines.iter_mut().find(|l| l.starts_with("# ")) {
            title.push_str(" ✨");
        }
        if let Some(next) = lines.iter_mut().find(|l| l.starts_with("## Next steps")) {
            next.push_str(" 🚀");
        }
    }
    if voice.exclaims {
        // The opening paragraph (the first after the title) ends with a bang.
        if let Some(opening) = lines
            .iter_mut()
            .skip_while(|l| !l.starts_with("# "))
            .skip(1)
            .find(|l| !l.trim().is_empty())
        {
            if let Some(stripped) = opening.strip_suffix('.') {
                *opening = format!("{stripped}!");
            }
        }
    }
    let mut text = lines.join("\n");
    if out.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&closing(&voice, &brief.agent));
    text
}

/// A sign-off in the voice, naming whose voice it is.
fn closing(voice: &Voice, agent: &str) -> String {
    let phrase = voice.phrase.as_deref().map(|p| format!(" “{p}”"));
    let line = if voice.casual {
        let bang = if voice.exclaims { "!" } else { "." };
        let emoji = if voice.emoji { " 🎉" } else { "" };
        match phrase {
            Some(p) => format!("As we always say,{p}{bang}{emoji}"),
            None => format!("Let's make it happen{bang}{emoji}"),
        }
    } else if voice.formal {
        match phrase {
            Some(p) => format!("We remain committed to{p}, and we look forward to the next stage."),
            None => "We look forward to discussing the next stage with you.".to_owned(),
        }
    } else {
        match phrase {
            Some(p) => format!("In short:{p}."),
            None => "That is the plan.".to_owned(),
        }
    };
    format!("\n{line}\n\n_Written in {agent}'s voice._\n")
}

/// Swaps British and American spellings, whole words (and their endings:
/// organised, colours), keeping the first letter's case.
fn respell(text: &str, british: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once('\0')) {
        if c.is_alphabetic() {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            out.push_str(&respell_word(&word, british));
            word.clear();
        }
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

fn respell_word(word: &str, british: bool) -> String {
    let lower = word.to_lowercase();
    for (uk, us) in SPELLINGS {
        let (from, to) = if british { (us, uk) } else { (uk, us) };
        if let Some(rest) = lower.strip_prefix(from) {
            // A longer word that merely starts the same (programmer) is left alone.
            if rest.len() > 3 {
                continue;
            }
            let mut respelled = format!("{to}{rest}");
            if word.starts_with(char::is_uppercase) {
                respelled = capitalize(&respelled);
            }
            return respelled;
        }
    }
    word.to_owned()
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// Replaces `from` with `to` where it stands as whole words.
fn replace_words(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + from.len()..].chars().next();
        let bounded = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric() && c != '\'');
        out.push_str(&rest[..at]);
        out.push_str(if bounded(before) && bounded(after) {
            to
        } else {
            from
        });
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn brief(traits: serde_json::Value) -> StyleBrief {
        StyleBrief {
            agent: "Copywriter".into(),
            summary: String::new(),
            traits,
        }
    }

    const TEXT: &str = "# Proposal\n\nWe will organize the color palette. It is ready.\n\n## Next steps\n\n- We do not wait.\n";

    #[test]
    fn a_formal_british_voice_respells_expands_and_signs_off_formally() {
        let formal = brief(
            json!({ "register": "formal", "spelling": "british", "recurringPhrases": ["our partnership"] }),
        );
        let out = apply(TEXT, Some(&formal));
        assert!(
            out.contains("We will organise the colour palette. It is ready."),
            "{out}"
        );
        assert!(
            out.contains("We remain committed to “our partnership”"),
            "{out}"
        );
        assert!(!out.contains('!') && !out.contains('✨'), "{out}");
        assert!(out.ends_with("_Written in Copywriter's voice._\n"), "{out}");
    }

    #[test]
    fn a_casual_american_voice_contracts_exclaims_and_uses_emoji() {
        let casual = brief(
            json!({ "register": "casual", "spelling": "american", "emojiPerSentence": 0.5, "exclamationRate": 0.6, "recurringPhrases": ["gonna love this"] }),
        );
        let out = apply(
            &TEXT.replace("organize the color", "organise the colour"),
            Some(&casual),
        );
        assert!(
            out.starts_with("# Proposal ✨\n\nWe'll organize the color palette. It's ready!"),
            "{out}"
        );
        assert!(
            out.contains("## Next steps 🚀") && out.contains("We don't wait."),
            "{out}"
        );
        assert!(
            out.contains("As we always say, “gonna love this”! 🎉"),
            "{out}"
        );
    }

    #[test]
    fn without_a_voice_the_text_is_unchanged() {
        assert_eq!(apply(TEXT, None), TEXT);
    }

    #[test]
    fn respelling_keeps_case_and_endings_and_leaves_longer_words() {
        assert_eq!(
            respell("Organized colors, programmers", true),
            "Organised colours, programmers"
        );
        assert_eq!(
            replace_words("it is, bit isn't", "it is", "it's"),
            "it's, bit isn't"
        );
    }
}
