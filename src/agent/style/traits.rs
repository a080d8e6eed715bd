//! What a set of writing samples says about a voice: measurable traits and
//! a readable summary. Pure functions over text, so a profile can always be
//! derived again from the samples it came from.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

/// The traits of a voice, as stored (JSON) and shown (`StyleMemory.traits`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Traits {
    /// Words per sentence, on average.
    pub average_sentence_length: f64,
    /// Letters per word, on average.
    pub average_word_length: f64,
    /// Distinct words over all words (type-token ratio), 0 to 1.
    pub vocabulary_richness: f64,
    /// 0 (casual) to 1 (formal).
    pub formality: f64,
    /// `formal`, `neutral` or `casual`.
    pub register: String,
    /// Who the text speaks as or to: `we`, `you`, `I`, or `mixed`.
    pub person: String,
    /// `british`, `american` or `unknown`, from spellings such as colour/color.
    pub spelling: String,
    /// Emoji per sentence.
    pub emoji_per_sentence: f64,
    /// Share of sentences ending in `!`.
    pub exclamation_rate: f64,
    /// Share of sentences ending in `?`.
    pub question_rate: f64,
    /// Contractions (don't, we'll) per sentence.
    pub contraction_rate: f64,
    /// Phrases of two to four words used more than once, most frequent first.
    pub recurring_phrases: Vec<String>,
    pub sentence_count: usize,
    pub word_count: usize,
}

/// British and American spellings of the same words.
pub const SPELLINGS: &[(&str, &str)] = &[
    ("colour", "color"),
    ("favourite", "favorite"),
    ("behaviour", "behavior"),
    ("organise", "organize"),
    ("organisation", "organization"),
    ("realise", "realize"),
    ("recognise", "recognize"),
    ("prioritise", "prioritize"),
    ("optimise", "optimize"),
    ("customise", "customize"),
    ("analyse", "analyze"),
    ("centre", "center"),
    ("honour", "honor"),
    ("labour", "labor"),
    ("neighbour", "neighbor"),
    ("catalogue", "catalog"),
    ("travelling", "traveling"),
    ("cancelled", "canceled"),
    ("licence", "license"),
    ("programme", "program"),
];

const CASUAL_WORDS: &[&str] = &[
    "awesome", "super", "cool", "hey", "gonna", "wanna", "totally", "stuff", "folks", "yay",
    "amazing", "guys", "ok", "okay", "lol", "btw",
];
const FORMAL_WORDS: &[&str] = &[
    "therefore",
    "furthermore",
    "moreover",
    "consequently",
    "accordingly",
    "whilst",
    "regarding",
    "pursuant",
    "hereby",
    "ensure",
    "shall",
    "kindly",
    "sincerely",
    "respectfully",
];
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "for", "with", "at", "by", "is",
    "are", "was", "be", "it", "this", "that", "as", "from",
];

/// Derives the traits of all `samples` together.
pub fn analyze(samples: &[&str]) -> Traits {
    let mut sentences = Vec::new();
    for sample in samples {
        sentences.extend(split_sentences(sample));
    }
    let words: Vec<String> = sentences.iter().flat_map(|s| words_of(s)).collect();
    let sentence_count = sentences.len().max(1);
    let word_count = words.len();
    let per_sentence = |n: usize| round(n as f64 / sentence_count as f64, 2);
    let ending = |c: char| {
        sentences
            .iter()
            .filter(|s| s.trim_end().ends_with(c))
            .count()
    };
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let distinct: HashSet<&String> = lower.iter().collect();
    let contractions = words.iter().filter(|w| is_contraction(w)).count();
    let emoji: usize = samples
        .iter()
        .map(|s| s.chars().filter(|c| is_emoji(*c)).count())
        .sum();
    let exclamation_rate = per_sentence(ending('!'));
    let emoji_per_sentence = per_sentence(emoji);
    let contraction_rate = per_sentence(contractions);
    let average_word_length = if word_count == 0 {
        0.0
    } else {
        let letters: usize = words
            .iter()
            .map(|w| w.chars().filter(|c| c.is_alphabetic()).count())
            .sum();
        round(letters as f64 / word_count as f64, 1)
    };
    let count_of = |set: &[&str]| lower.iter().filter(|w| set.contains(&w.as_str())).count();
    let formality = formality(
        average_word_length,
        contraction_rate,
        exclamation_rate,
        emoji_per_sentence,
        count_of(CASUAL_WORDS) as f64 / sentence_count as f64,
        count_of(FORMAL_WORDS) as f64 / sentence_count as f64,
    );
    Traits {
        average_sentence_length: round(word_count as f64 / sentence_count as f64, 1),
        average_word_length,
        vocabulary_richness: if word_count == 0 {
            0.0
        } else {
            round(distinct.len() as f64 / word_count as f64, 2)
        },
        formality,
        register: register(formality).to_owned(),
        person: person(&lower).to_owned(),
        spelling: spelling(&lower).to_owned(),
        emoji_per_sentence,
        exclamation_rate,
        question_rate: per_sentence(ending('?')),
        contraction_rate,
        recurring_phrases: recurring_phrases(&sentences),
        sentence_count: sentences.len(),
        word_count,
    }
}

/// A sentence or two a person can read.
pub fn summarize(traits: &Traits, samples: usize) -> String {
    let length = match traits.average_sentence_length {
        n if n >= 20.0 => "long",
        n if n >= 12.0 => "medium-length",
        _ => "short",
    };
    let vocabulary = match traits.vocabulary_richness {
        r if r >= 0.7 => "a varied vocabulary",
        r if r >= 0.5 => "a moderate vocabulary",
        _ => "a plain, repetitive vocabulary",
    };
    let person = match traits.person.as_str() {
        "we" => "speaks as \"we\"",
        "you" => "addresses the reader as \"you\"",
        "I" => "speaks as \"I\"",
        _ => "mixes who it speaks as",
    };
    let spelling = match traits.spelling.as_str() {
        "british" => ", British spelling",
        "american" => ", American spelling",
        _ => "",
    };
    let mut text = format!(
        "A {} voice{spelling}: {length} sentences (about {} words), {vocabulary}; it {person}.",
        traits.register, traits.average_sentence_length
    );
    let mut habits = Vec::new();
    if traits.exclamation_rate >= 0.2 {
        habits.push("uses exclamation marks freely");
    }
    if traits.emoji_per_sentence >= 0.2 {
        habits.push("uses emoji");
    }
    if traits.contraction_rate >= 0.3 {
        habits.push("uses contractions");
    }
    if habits.is_empty() && traits.register != "casual" {
        habits.push("avoids exclamation marks, emoji and contractions");
    }
    if !habits.is_empty() {
        text.push_str(&format!(" It {}.", habits.join(", ")));
    }
    if !traits.recurring_phrases.is_empty() {
        let phrases: Vec<String> = traits
            .recurring_phrases
            .iter()
            .take(3)
            .map(|p| format!("\"{p}\""))
            .collect();
        text.push_str(&format!(" Recurring phrases: {}.", phrases.join(", ")));
    }
    text.push_str(&format!(
        " Learned from {samples} sample{}.",
        if samples == 1 { "" } else { "s" }
    ));
    text
}

fn formality(
    word_length: f64,
    contractions: f64,
    exclamations: f64,
    emoji: f64,
    casual: f64,
    formal: f64,
) -> f64 {
    let score = 0.5 + (word_length - 4.5) * 0.1
        - contractions * 0.3
        - exclamations * 0.4
        - emoji * 0.3
        - casual * 0.3
        + formal * 0.3;
    round(score.clamp(0.0, 1.0), 2)
}

fn register(formality: f64) -> &'static str {
    match formality {
        f if f >= 0.6 => "formal",
        f if f <= 0.4 => "casual",
        _ => "neutral",
    }
}

fn person(words: &[String]) -> &'static str {
    let count = |set: &[&str]| words.iter().filter(|w| set.contains(&w.as_str())).count();
    let we = count(&["we", "our", "us", "ours", "we're", "we'll", "we've"]);
    let you = count(&["you", "your", "yours", "you're", "you'll", "you've"]);
    let i = count(&["i", "my", "me", "mine", "i'm", "i'll", "i've"]);
    let top = we.max(you).max(i);
    if top == 0 {
        return "mixed";
    }
    // One clearly ahead of the others, or mixed.
    let ahead =
        |n: usize| n == top && [we, you, i].iter().filter(|m| **m * 3 >= top * 2).count() == 1;
    if ahead(we) {
        "we"
    } else if ahead(you) {
        "you"
    } else if ahead(i) {
        "I"
    } else {
        "mixed"
    }
}

fn spelling(words: &[String]) -> &'static str {
    let (mut british, mut american) = (0, 0);
    for word in words {
        for (uk, us) in SPELLINGS {
            if word.starts_with(uk) {
                british += 1;
            } else if word.starts_with(us) {
                american += 1;
            }
        }
    }
    match british.cmp(&american) {
        std::cmp::Ordering::Greater => "british",
        std::cmp::Ordering::Less => "american",
        std::cmp::Ordering::Equal => "unknown",
    }
}

/// Phrases of two to four words (not only small words) seen at least twice.
fn recurring_phrases(sentences: &[String]) -> Vec<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for sentence in sentences {
        let words: Vec<String> = words_of(sentence)
            .iter()
            .map(|w| w.to_lowercase())
            .collect();
        let mut seen = HashSet::new();
        for n in 2..=4 {
            for window in words.windows(n) {
                if window.iter().all(|w| STOPWORDS.contains(&w.as_str()))
                    || STOPWORDS.contains(&window[0].as_str())
                    || STOPWORDS.contains(&window[n - 1].as_str())
                {
                    continue;
                }
                let phrase = window.join(" ");
                if seen.insert(phrase.clone()) {
                    *counts.entry(phrase).or_default() += 1;
                }
            }
        }
    }
    let mut repeated: Vec<(String, usize)> = counts.into_iter().filter(|(_, n)| *n >= 2).collect();
    // Most frequent first, longer phrases before the shorter ones they contain.
    repeated.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then(b.0.split(' ').count().cmp(&a.0.split(' ').count()))
            .then(a.0.cmp(&b.0))
    });
    let mut kept: Vec<String> = Vec::new();
    for (phrase, _) in repeated {
        if kept.iter().any(|k| k.contains(&phrase)) {
            continue;
        }
        kept.push(phrase);
        if kept.len() == 5 {
            break;
        }
    }
    kept
}

fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        current.push(c);
        let ends = matches!(c, '.' | '!' | '?');
        let next_breaks = chars.peek().is_none_or(|n| n.is_whitespace());
        if c == '\n' || (ends && next_breaks) {
            // Keep runs such as "?!" together.
            while let Some(&n) = chars.peek() {
                if matches!(n, '.' | '!' | '?') {
                    current.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            push_sentence(&mut out, &mut current);
        }
    }
    push_sentence(&mut out, &mut current);
    out
}

fn push_sentence(out: &mut Vec<String>, current: &mut String) {
    let sentence = current.trim();
    if !words_of(sentence).is_empty() {
        out.push(sentence.to_owned());
    }
    current.clear();
}

/// Words: runs of letters, digits and apostrophes (so contractions stay one word).
fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .map(|w| w.trim_matches(|c| c == '\'' || c == '’'))
        .filter(|w| w.chars().any(char::is_alphabetic))
        .map(|w| w.replace('’', "'"))
        .collect()
}

fn is_contraction(word: &str) -> bool {
    let lower = word.to_lowercase();
    ["n't", "'ll", "'re", "'ve", "'m", "'d"]
        .iter()
        .any(|end| lower.ends_with(end))
        || matches!(
            lower.as_str(),
            "it's" | "that's" | "let's" | "there's" | "what's" | "here's"
        )
}

pub fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x1F300..=0x1FAFF | 0x2600..=0x27BF | 0x1F000..=0x1F2FF)
}

fn round(value: f64, places: i32) -> f64 {
    let factor = 10f64.powi(places);
    (value * factor).round() / factor
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORMAL: &str = "We are delighted to present our proposal for the programme. \
        Our organisation has considered the behaviour of your customers with great care. \
        We shall therefore prioritise the centre of the high street, and we recognise the value of our partnership. \
        We look forward to the next stage of our partnership.";
    const CASUAL: &str =
        "Hey, you're gonna love this! 🎉 Your customers will totally dig the new color scheme! \
        We'll optimize your favorite stuff, so you can relax. 🚀 You're gonna love this, trust us!";

    #[test]
    fn a_formal_british_sample_reads_as_formal_british_and_speaking_as_we() {
        let traits = analyze(&[FORMAL]);
        assert_eq!(traits.register, "formal", "{traits:?}");
        assert_eq!(traits.spelling, "british");
        assert_eq!(traits.person, "we");
        assert_eq!(traits.exclamation_rate, 0.0);
        assert_eq!(traits.emoji_per_sentence, 0.0);
        assert_eq!(traits.contraction_rate, 0.0);
        assert_eq!(traits.sentence_count, 4);
        assert!(traits.average_sentence_length > 12.0, "{traits:?}");
        assert!(
            traits
                .recurring_phrases
                .contains(&"our partnership".to_owned()),
            "{traits:?}"
        );
        let summary = summarize(&traits, 1);
        assert!(
            summary.starts_with("A formal voice, British spelling"),
            "{summary}"
        );
    }

    #[test]
    fn a_casual_american_sample_reads_as_casual_american_with_emoji_and_exclamations() {
        let traits = analyze(&[CASUAL]);
        assert_eq!(traits.register, "casual", "{traits:?}");
        assert_eq!(traits.spelling, "american");
        assert_eq!(traits.person, "you");
        assert!(traits.exclamation_rate >= 0.5, "{traits:?}");
        assert!(traits.emoji_per_sentence > 0.3, "{traits:?}");
        assert!(traits.contraction_rate >= 0.5, "{traits:?}");
        assert_eq!(
            traits.recurring_phrases,
            ["you're gonna love"],
            "{traits:?}"
        );
        let summary = summarize(&traits, 2);
        assert!(
            summary.contains("uses emoji") && summary.ends_with("2 samples."),
            "{summary}"
        );
    }

    #[test]
    fn samples_are_read_together() {
        let one = analyze(&[FORMAL]);
        let both = analyze(&[FORMAL, CASUAL]);
        assert_eq!(
            both.sentence_count,
            one.sentence_count + analyze(&[CASUAL]).sentence_count
        );
        assert!(both.formality < one.formality);
    }

    #[test]
    fn sentences_split_on_their_ends_and_keep_decimals_and_runs() {
        let got = split_sentences("It costs 3.5 euros. Really?! Yes\nNew line");
        assert_eq!(got, ["It costs 3.5 euros.", "Really?!", "Yes", "New line"]);
        assert_eq!(
            words_of("We’ll see, don't we?"),
            ["We'll", "see", "don't", "we"]
        );
    }
}
