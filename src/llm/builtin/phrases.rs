//! Phrases drawn from the request context that the plan, the notes and the
//! deliverable share, so they word the same things the same way.

use entity::enums::SourceKind;
use std::collections::BTreeMap;

use super::text::{excerpt, join_list, lower_first, squash, strip_end};
use crate::llm::{ModelContext, SourceBrief};

pub(super) fn deliverables_phrase(ctx: &ModelContext) -> String {
    let labels: Vec<String> = ctx
        .deliverables
        .iter()
        .map(|d| squash(d))
        .filter(|d| !d.is_empty())
        .collect();
    if labels.is_empty() {
        "the deliverables".into()
    } else {
        join_list(&labels)
    }
}

/// The deliverables as the object of a sentence: "the Proposal and Weekly
/// report", or "the deliverables" when there are none.
pub(super) fn the_deliverables(ctx: &ModelContext) -> String {
    match deliverables_phrase(ctx) {
        phrase if ctx.deliverables.iter().all(|d| d.trim().is_empty()) => phrase,
        phrase => format!("the {phrase}"),
    }
}

/// "Brief “Client brief”", from the source's kind and title.
pub(super) fn source_label(source: &SourceBrief) -> String {
    let kind = match source.kind {
        SourceKind::Brief => "Brief",
        SourceKind::Sample => "Sample",
        SourceKind::Notes => "Notes",
        SourceKind::Other => "Source",
    };
    match source
        .title
        .as_deref()
        .map(squash)
        .filter(|t| !t.is_empty())
    {
        Some(title) => format!("{kind} “{title}”"),
        None => kind.to_string(),
    }
}

/// The most frequent meaningful words of the goal and sources (goal words
/// weigh double); ties keep the order of first appearance, so it is stable.
pub(super) fn key_terms(ctx: &ModelContext, n: usize) -> Vec<String> {
    const STOP: &[&str] = &[
        "about", "after", "again", "their", "there", "these", "those", "which", "while", "would",
        "could", "should", "other", "being", "where", "every", "under", "above", "through",
        "before", "because", "within", "without", "please", "thing", "things",
    ];
    // word -> (weight, first position)
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let texts = std::iter::once((&ctx.goal, 2)).chain(ctx.sources.iter().map(|s| (&s.content, 1)));
    let mut position = 0;
    for (text, weight) in texts {
        for word in text.split(|c: char| !c.is_alphanumeric()) {
            let word = word.to_lowercase();
            let useful = word.chars().count() >= 5 && !STOP.contains(&word.as_str());
            if useful && !word.chars().all(|c| c.is_numeric()) {
                let entry = counts.entry(word).or_insert((0, position));
                entry.0 += weight;
                position += 1;
            }
        }
    }
    let mut ranked: Vec<(String, (usize, usize))> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.1 .1.cmp(&b.1 .1)));
    ranked.into_iter().take(n).map(|(word, _)| word).collect()
}

/// What an agent's instructions ask of it, as a phrase for a title or a
/// sentence: "You plan the media mix." becomes "plan the media mix".
pub(super) fn focus_phrase(instructions: &str) -> String {
    let first = strip_end(&excerpt(instructions, 10)).to_string();
    let lower = first.to_lowercase();
    let phrase = if lower.starts_with("you are ") {
        format!("act as {}", &first["you are ".len()..])
    } else if lower.starts_with("you're ") {
        format!("act as {}", &first["you're ".len()..])
    } else if lower.starts_with("you ") {
        first["you ".len()..].to_string()
    } else {
        first
    };
    lower_first(&phrase)
}
