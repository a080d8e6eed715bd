//! The built-in language model: deterministic, offline, and the default.
//!
//! It never calls out. It writes its answer straight from the structured
//! [`ModelContext`] of the request — the plan from the custom agents and
//! deliverables, agent notes and deliverables from the goal, the sources and
//! the dependency outputs — and then streams that text token by token at a
//! configurable pace. The same request always yields the same tokens and the
//! same usage, which keeps runs, billing and tests reproducible.
//!
//! Tokens: a maximal run of alphanumerics is one token, and every other
//! non-whitespace character is a token of its own. A streamed token carries
//! the whitespace before it, so the pieces concatenate back to the exact text.

use std::{collections::BTreeMap, time::Duration};

use futures_util::stream;

use super::{
    LanguageModel, ModelContext, ModelError, ModelEvent, ModelRequest, ModelStream, PlanSpec,
    PlannedTask, Purpose, SourceBrief, Usage,
};

/// The deterministic offline model.
pub struct BuiltinModel {
    /// Pause between two streamed tokens (zero: stream as fast as polled).
    token_delay: Duration,
}

impl BuiltinModel {
    pub fn new(token_delay: Duration) -> Self {
        Self { token_delay }
    }

    /// The full, uncapped text this model answers `request` with; the stream
    /// yields a prefix of its tokens (all of them when the cap allows).
    pub fn output_text(&self, request: &ModelRequest) -> String {
        render(request.purpose, &request.context)
    }
}

impl LanguageModel for BuiltinModel {
    fn stream(&self, request: ModelRequest) -> ModelStream {
        let prompt_tokens = self
            .count_tokens(&request.system)
            .saturating_add(self.count_tokens(&request.prompt));
        let mut pieces = split_tokens(&self.output_text(&request));
        // Output beyond the cap was not paid for, so it is never produced.
        pieces.truncate(usize::try_from(request.max_output_tokens).unwrap_or(usize::MAX));
        let state = Emission {
            pieces: pieces.into_iter(),
            delay: self.token_delay,
            emitted: 0,
            prompt_tokens,
            finished: false,
        };
        Box::pin(stream::unfold(state, next_event))
    }

    fn count_tokens(&self, text: &str) -> u32 {
        u32::try_from(split_tokens(text).len()).unwrap_or(u32::MAX)
    }
}

/// Where a stream is: the tokens still to send and what was sent so far.
struct Emission {
    pieces: std::vec::IntoIter<String>,
    delay: Duration,
    emitted: u32,
    prompt_tokens: u32,
    finished: bool,
}

/// One step of the stream: the next token, then `Done`, then the end.
async fn next_event(mut state: Emission) -> Option<(Result<ModelEvent, ModelError>, Emission)> {
    if state.finished {
        return None;
    }
    let Some(piece) = state.pieces.next() else {
        state.finished = true;
        let usage = Usage {
            prompt_tokens: state.prompt_tokens,
            output_tokens: state.emitted,
        };
        return Some((Ok(ModelEvent::Done(usage)), state));
    };
    // The pace applies *between* tokens: the first arrives at once, so n
    // tokens take (n - 1) delays. Sleeping before a token (not after) means
    // a consumer that stops polling never waits for a token it won't get.
    if state.emitted > 0 && !state.delay.is_zero() {
        tokio::time::sleep(state.delay).await;
    }
    state.emitted += 1;
    Some((Ok(ModelEvent::Token(piece)), state))
}

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

/// The full answer for a purpose.
fn render(purpose: Purpose, ctx: &ModelContext) -> String {
    match purpose {
        // Serializing plain strings and vectors cannot fail.
        Purpose::Plan => serde_json::to_string(&plan(ctx)).unwrap_or_default(),
        Purpose::Agent => agent_notes(ctx),
        Purpose::Compose => compose(ctx),
    }
}

// ---------------------------------------------------------------- planning

/// One AGENT task per custom agent (or one drafting task), then the approval
/// when the constraints ask for one, then the single COMPOSE task last.
fn plan(ctx: &ModelContext) -> PlanSpec {
    let mut tasks = agent_tasks(ctx);
    let agent_keys: Vec<String> = tasks.iter().map(|t| t.key.clone()).collect();
    let mut compose_deps = agent_keys.clone();
    if let Some((role, count)) = &ctx.approval {
        tasks.push(PlannedTask {
            key: "approval".into(),
            title: format!(
                "Approval before composing ({count} × {})",
                role.to_uppercase()
            ),
            kind: "APPROVAL".into(),
            agent_id: None,
            depends_on: agent_keys,
        });
        compose_deps = vec!["approval".into()];
    }
    tasks.push(PlannedTask {
        key: "compose".into(),
        title: format!("Compose {}", deliverables_phrase(ctx)),
        kind: "COMPOSE".into(),
        agent_id: None,
        depends_on: compose_deps,
    });
    PlanSpec { tasks }
}

fn agent_tasks(ctx: &ModelContext) -> Vec<PlannedTask> {
    if ctx.custom_agents.is_empty() {
        return vec![PlannedTask {
            key: "draft".into(),
            title: format!("Draft the key points for {}", deliverables_phrase(ctx)),
            kind: "AGENT".into(),
            agent_id: None,
            depends_on: Vec::new(),
        }];
    }
    let goal = strip_end(&excerpt(&ctx.goal, 12)).to_string();
    let tasks = ctx.custom_agents.iter().enumerate().map(|(i, agent)| {
        let name = non_empty(&agent.name, "Agent");
        let focus = match focus_phrase(&agent.instructions) {
            focus if focus.is_empty() => "contribute their expertise".to_string(),
            focus => focus,
        };
        let title = match goal.as_str() {
            "" => format!("{name}: {focus}"),
            goal => format!("{name}: {focus} (goal: {goal})"),
        };
        PlannedTask {
            key: format!("agent-{}", i + 1),
            title,
            kind: "AGENT".into(),
            agent_id: Some(agent.id.clone()),
            depends_on: Vec::new(),
        }
    });
    tasks.collect()
}

// ------------------------------------------------------------- agent notes

/// The labels of the context bullets of agent notes. The Composer leaves
/// them out of Key points: the deliverable states the goal, the deliverables
/// and the sources elsewhere already.
const CONTEXT_FIELDS: [&str; 4] = ["Goal:", "Focus:", "Client:", "Deliverables:"];

/// An agent's (or the drafting task's) notes: a heading, the context as the
/// agent read it, then its recommendations.
fn agent_notes(ctx: &ModelContext) -> String {
    let heading = match &ctx.agent {
        Some(agent) => non_empty(&agent.name, "Agent notes").to_string(),
        None => "Drafting notes".to_string(),
    };
    let mut out = format!("## {heading}\n\n");
    if let Some(title) = ctx.task_title.as_deref().filter(|t| !t.trim().is_empty()) {
        out.push_str(&format!("_Task: {}_\n\n", squash(title)));
    }
    for line in context_bullets(ctx) {
        out.push_str(&format!("- {line}\n"));
    }
    out.push_str("\nRecommendations:\n\n");
    for line in recommendations(ctx) {
        out.push_str(&format!("- {line}\n"));
    }
    out
}

fn context_bullets(ctx: &ModelContext) -> Vec<String> {
    let [goal, focus, client, deliverables] = CONTEXT_FIELDS;
    let goal_text = non_empty(&excerpt(&ctx.goal, 30), "not stated yet").to_string();
    let mut lines = vec![format!("**{goal}** {goal_text}")];
    if let Some(agent) = &ctx.agent {
        let instructions = excerpt(&agent.instructions, 25);
        if !instructions.is_empty() {
            lines.push(format!("**{focus}** {instructions}"));
        }
        if let Some(name) = agent
            .client_name
            .as_deref()
            .filter(|c| !c.trim().is_empty())
        {
            lines.push(format!("**{client}** {}", squash(name)));
        }
    }
    lines.push(format!("**{deliverables}** {}", deliverables_phrase(ctx)));
    if ctx.sources.is_empty() {
        lines.push("No sources were shared; these notes rest on the goal alone.".into());
    }
    for source in &ctx.sources {
        let text = non_empty(&excerpt(&source.content, 25), "(empty)").to_string();
        lines.push(format!("**{}:** {text}", source_label(source)));
    }
    for (title, output) in &ctx.dependency_outputs {
        let gist = non_empty(&gist_of(output), "(no output)").to_string();
        lines.push(format!("**Builds on {}:** {gist}", squash(title)));
    }
    lines
}

/// What the agent suggests, from its focus, the key terms and the sources.
fn recommendations(ctx: &ModelContext) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(agent) = &ctx.agent {
        let name = non_empty(&agent.name, "Agent");
        let focus = non_empty(
            &focus_phrase(&agent.instructions),
            "contribute their expertise",
        )
        .to_string();
        let client = agent
            .client_name
            .as_deref()
            .map(squash)
            .filter(|c| !c.is_empty());
        lines.push(match client {
            Some(client) => format!("**{name}:** {}, for {client}.", strip_end(&focus)),
            None => format!("**{name}:** {}", end_sentence(&focus)),
        });
    }
    let terms = key_terms(ctx, 3);
    if !terms.is_empty() {
        lines.push(format!(
            "Put {} up front in {}: they recur across the goal and the sources.",
            join_list(&terms),
            the_deliverables(ctx)
        ));
    }
    for source in &ctx.sources {
        let text = strip_end(&excerpt(&source.content, 15)).to_string();
        match source.kind.to_uppercase().as_str() {
            "BRIEF" if !text.is_empty() => {
                lines.push(format!("Answer the brief head-on: “{text}”."))
            }
            "SAMPLE" => lines.push(format!(
                "Reuse what worked in the {}.",
                lower_first(&source_label(source))
            )),
            _ => {}
        }
    }
    lines.push("Close with a concrete next step, an owner and a date.".into());
    lines
}

/// What an agent's instructions ask of it, as a phrase for a title or a
/// sentence: "You plan the media mix." becomes "plan the media mix".
fn focus_phrase(instructions: &str) -> String {
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

// ------------------------------------------------------------- composition

/// One deliverable as Markdown: title, opening, background, key points, next
/// steps, then revisions and the style line when there are any.
fn compose(ctx: &ModelContext) -> String {
    let label = ctx
        .deliverable
        .as_deref()
        .map(squash)
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "Deliverable".into());
    // A concise style visibly shortens the text: shorter quotes.
    let concise = ctx.style_override.as_deref().is_some_and(is_concise);
    let mut out = format!("# {label}\n\n{}\n\n", opening(ctx, &label));
    out.push_str(&format!(
        "## Background\n\n{}\n",
        background(ctx, &label, concise)
    ));
    out.push_str(&format!("## Key points\n\n{}\n", key_points(ctx)));
    out.push_str(&format!("## Next steps\n\n{}", next_steps(ctx, &label)));
    if !ctx.revision_notes.is_empty() {
        out.push_str(&format!(
            "\n## Revisions\n\n{}",
            revisions(&ctx.revision_notes)
        ));
    }
    if let Some(style) = ctx
        .style_override
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        out.push_str(&format!(
            "\n_Written in the requested style: {}._\n",
            strip_end(&excerpt(style, 30))
        ));
    }
    out
}

fn opening(ctx: &ModelContext, label: &str) -> String {
    let goal = lower_first(strip_end(&excerpt(&ctx.goal, 40)));
    let mut text = if goal.is_empty() {
        format!("This {label} brings together the work of the workroom.")
    } else {
        format!("This {label} sets out how we will deliver on the goal: {goal}.")
    };
    let mut inputs = Vec::new();
    if !ctx.sources.is_empty() {
        inputs.push(plural(ctx.sources.len(), "source"));
    }
    if !ctx.dependency_outputs.is_empty() {
        inputs.push(format!(
            "the notes of {}",
            plural(ctx.dependency_outputs.len(), "task")
        ));
    }
    text.push_str(&match (inputs.is_empty(), goal.is_empty()) {
        (false, _) => format!(" It draws on {}.", join_list(&inputs)),
        (true, false) => " It rests on the goal as stated.".to_string(),
        (true, true) => {
            " No goal, sources or task notes were given yet, so it is an outline to build on."
                .to_string()
        }
    });
    if let Some(latest) = ctx.revision_notes.last() {
        text.push_str(&format!(
            " This version (revision {}) reflects the latest request: “{}”.",
            ctx.revision_notes.len(),
            strip_end(&squash(latest))
        ));
    }
    text
}

fn background(ctx: &ModelContext, label: &str, concise: bool) -> String {
    if ctx.sources.is_empty() && ctx.goal.trim().is_empty() {
        return "No sources were shared for this workroom yet.\n".to_string();
    }
    if ctx.sources.is_empty() {
        return format!(
            "No sources were shared for this workroom, so the {label} rests on the stated goal.\n"
        );
    }
    let words = if concise { 12 } else { 25 };
    let mut out = String::new();
    for source in &ctx.sources {
        let quote = excerpt(&source.content, words);
        let quote = if quote.is_empty() {
            "(empty)".to_string()
        } else {
            format!("“{quote}”")
        };
        out.push_str(&format!("- **{}:** {quote}\n", source_label(source)));
    }
    out
}

/// Reuses the bullet lines of the dependency outputs (deduplicated, without
/// the ones restating the context, which the other sections cover).
fn key_points(ctx: &ModelContext) -> String {
    let mut points: Vec<String> = Vec::new();
    for (_, output) in &ctx.dependency_outputs {
        for bullet in output.lines().filter_map(bullet_text) {
            if !restates_context(ctx, &plain(&bullet)) && !points.contains(&bullet) {
                points.push(bullet);
            }
        }
    }
    // Outputs without bullets still count: one point per task, its gist.
    if points.is_empty() {
        for (title, output) in &ctx.dependency_outputs {
            let gist = gist_of(output);
            if !gist.is_empty() {
                points.push(format!("**{}:** {gist}", squash(title)));
            }
        }
    }
    if points.is_empty() {
        points = fallback_points(ctx);
    }
    // Each agent's own contribution (a bold "**Name:**" lead) first, then
    // the advice they share; the sort is stable, so order is otherwise kept.
    points.sort_by_key(|p| !p.starts_with("**"));
    points.truncate(12);
    points.iter().map(|p| format!("- {p}\n")).collect()
}

/// Whether a bullet only restates the context: the goal, the deliverables,
/// an agent's brief, or a source (Background quotes those).
fn restates_context(ctx: &ModelContext, bullet: &str) -> bool {
    CONTEXT_FIELDS.iter().any(|field| bullet.starts_with(field))
        || ctx
            .sources
            .iter()
            .any(|s| bullet.starts_with(&format!("{}:", source_label(s))))
}

/// Key points when no task produced any: from the goal and its key terms.
fn fallback_points(ctx: &ModelContext) -> Vec<String> {
    let mut points = Vec::new();
    let goal = strip_end(&excerpt(&ctx.goal, 30)).to_string();
    if !goal.is_empty() {
        points.push(format!("Deliver on the goal: {goal}."));
    }
    let terms = key_terms(ctx, 4);
    if !terms.is_empty() {
        points.push(format!("Keep the focus on {}.", join_list(&terms)));
    }
    points.push("Make every claim concrete, with an owner and a date.".into());
    points
}

fn next_steps(ctx: &ModelContext, label: &str) -> String {
    let others: Vec<String> = ctx
        .deliverables
        .iter()
        .map(|d| squash(d))
        .filter(|d| !d.is_empty() && d != label)
        .collect();
    let align = if others.is_empty() {
        "Confirm the open points with the client.".to_string()
    } else {
        format!("Keep it consistent with the {}.", join_list(&others))
    };
    format!(
        "1. Review the {label} against the goal and flag any gaps.\n2. {align}\n\
         3. Agree an owner and a date for each key point.\n"
    )
}

/// How each revision note was addressed, oldest first, so the latest is last.
fn revisions(notes: &[String]) -> String {
    let mut out = String::new();
    for (i, note) in notes.iter().enumerate() {
        let latest = if i + 1 == notes.len() {
            " (latest)"
        } else {
            ""
        };
        out.push_str(&format!(
            "{}. Requested{latest}: “{}” — {}.\n",
            i + 1,
            strip_end(&squash(note)),
            addressed_in(note)
        ));
    }
    out
}

/// Where a revision note was worked in, guessed from the words it uses.
fn addressed_in(note: &str) -> &'static str {
    let note = note.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| note.contains(w));
    if has(&["background", "source", "context"]) {
        "addressed in the Background section"
    } else if has(&["key point", "point", "argument"]) {
        "addressed in the Key points section"
    } else if has(&["next step", "action", "deadline", "owner"]) {
        "addressed in the Next steps section"
    } else if has(&["tone", "style", "shorter", "longer", "formal", "wording"]) {
        "addressed in the wording throughout"
    } else {
        "addressed across the document"
    }
}

fn is_concise(style: &str) -> bool {
    let style = style.to_lowercase();
    ["concise", "brief", "short", "terse"]
        .iter()
        .any(|w| style.contains(w))
}

// ------------------------------------------------------------ text helpers

/// The bullet text of a Markdown list line (`- x`, `* x`, `1. x`), if it is one.
fn bullet_text(line: &str) -> Option<String> {
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
fn gist_of(output: &str) -> String {
    if let Some(bullet) = output.lines().find_map(bullet_text) {
        return excerpt(&plain(&bullet), 20);
    }
    excerpt(&plain(output), 20)
}

/// Drops bold markers so excerpts of Markdown read as plain text.
fn plain(text: &str) -> String {
    squash(&text.replace("**", "").replace("__", ""))
}

/// The first sentence of `text`, at most `max_words` words ("…" when cut),
/// on one line and without leading heading or list markers.
fn excerpt(text: &str, max_words: usize) -> String {
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
fn first_sentence(text: &str) -> &str {
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
fn prose(text: &str) -> String {
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
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` ending as a sentence, without doubling the stop after a "…".
fn end_sentence(text: &str) -> String {
    if text.ends_with(['.', '!', '?', '…']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

/// Without trailing punctuation, so a phrase can be embedded in a sentence.
fn strip_end(text: &str) -> &str {
    text.trim_end_matches(['.', '!', '?', ',', ';', ':', ' '])
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        // Only a capitalised word is lowered: "SEO", "Q3" and "A" stay.
        Some(first) if chars.next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(text.chars().skip(1)).collect()
        }
        _ => text.to_string(),
    }
}

fn non_empty<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.trim().is_empty() {
        fallback
    } else {
        text.trim()
    }
}

fn plural(n: usize, noun: &str) -> String {
    match n {
        1 => format!("one {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// "a", "a and b", "a, b and c".
fn join_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn deliverables_phrase(ctx: &ModelContext) -> String {
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
fn the_deliverables(ctx: &ModelContext) -> String {
    match deliverables_phrase(ctx) {
        phrase if ctx.deliverables.iter().all(|d| d.trim().is_empty()) => phrase,
        phrase => format!("the {phrase}"),
    }
}

/// "Brief “Client brief”", from the source's kind and title.
fn source_label(source: &SourceBrief) -> String {
    let kind = match source.kind.to_uppercase().as_str() {
        "BRIEF" => "Brief",
        "SAMPLE" => "Sample",
        "NOTES" => "Notes",
        _ => "Source",
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
fn key_terms(ctx: &ModelContext, n: usize) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use futures_util::StreamExt;

    use super::*;
    use crate::llm::AgentBrief;

    fn source(kind: &str, title: &str, content: &str) -> SourceBrief {
        SourceBrief {
            kind: kind.into(),
            title: Some(title.into()),
            content: content.into(),
        }
    }

    fn agent(id: &str, name: &str, instructions: &str) -> AgentBrief {
        AgentBrief {
            id: id.into(),
            name: name.into(),
            instructions: instructions.into(),
            client_name: Some("Acme Bakery".into()),
        }
    }

    /// A typical workroom: a goal, two deliverables, three sources.
    fn context() -> ModelContext {
        ModelContext {
            goal: "Win the Acme Bakery spring campaign with a clear, affordable plan.".into(),
            deliverables: vec!["Proposal".into(), "Weekly report".into()],
            deliverable: Some("Proposal".into()),
            sources: vec![
                source("BRIEF", "Client brief", "Acme Bakery wants more weekday foot traffic. Budget is tight and the launch is in March."),
                source("SAMPLE", "Last year's proposal", "# Proposal\n\nWe grew Acme's newsletter by 40% in one quarter through seasonal offers."),
                source("NOTES", "Kickoff call", "The owner prefers local radio over social ads; she wants weekly numbers."),
            ],
            ..ModelContext::default()
        }
    }

    fn request(purpose: Purpose, context: ModelContext, max_output_tokens: u32) -> ModelRequest {
        ModelRequest {
            purpose,
            system: "You are the Composer.".into(),
            prompt: "Write the deliverable.".into(),
            context,
            max_output_tokens,
        }
    }

    /// Runs a call to the end: its tokens and the usage of its `Done`.
    async fn run(model: &BuiltinModel, request: ModelRequest) -> (Vec<String>, Usage) {
        let mut stream = model.stream(request);
        let (mut tokens, mut usage) = (Vec::new(), None);
        while let Some(event) = stream.next().await {
            assert!(usage.is_none(), "nothing may follow Done");
            match event.expect("the built-in model does not fail") {
                ModelEvent::Token(token) => tokens.push(token),
                ModelEvent::Done(done) => usage = Some(done),
            }
        }
        (tokens, usage.expect("the stream ends with Done"))
    }

    fn model() -> BuiltinModel {
        BuiltinModel::new(Duration::ZERO)
    }

    fn plan_of(ctx: ModelContext) -> PlanSpec {
        serde_json::from_str(&model().output_text(&request(Purpose::Plan, ctx, 10_000)))
            .expect("the plan is PlanSpec JSON")
    }

    fn compose_text(ctx: ModelContext) -> String {
        model().output_text(&request(Purpose::Compose, ctx, 10_000))
    }

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

    #[tokio::test]
    async fn same_request_same_tokens_and_usage() {
        let m = model();
        for purpose in [Purpose::Plan, Purpose::Agent, Purpose::Compose] {
            let first = run(&m, request(purpose, context(), 10_000)).await;
            let second = run(&m, request(purpose, context(), 10_000)).await;
            assert_eq!(first, second);
            assert!(!first.0.is_empty());
        }
    }

    #[tokio::test]
    async fn tokens_concatenate_to_the_text_and_usage_counts_them() {
        let m = model();
        for purpose in [Purpose::Plan, Purpose::Agent, Purpose::Compose] {
            let req = request(purpose, context(), 10_000);
            let text = m.output_text(&req);
            let (tokens, usage) = run(&m, req).await;
            assert_eq!(tokens.concat(), text);
            assert_eq!(usage.output_tokens as usize, tokens.len());
            assert_eq!(usage.output_tokens, m.count_tokens(&text));
        }
    }

    #[tokio::test]
    async fn output_is_capped_at_max_output_tokens() {
        let m = model();
        let (tokens, usage) = run(&m, request(Purpose::Compose, context(), 5)).await;
        assert_eq!(tokens.len(), 5);
        assert_eq!(usage.output_tokens, 5);
        let full = m.output_text(&request(Purpose::Compose, context(), 5));
        assert!(full.starts_with(&tokens.concat()));

        let (tokens, usage) = run(&m, request(Purpose::Compose, context(), 0)).await;
        assert!(tokens.is_empty());
        assert_eq!(usage.output_tokens, 0);
    }

    #[tokio::test]
    async fn prompt_tokens_count_system_and_prompt() {
        let mut req = request(Purpose::Agent, context(), 3);
        req.system = "Hello, world!".into(); // 4 tokens
        req.prompt = "a b".into(); // 2 tokens
        let (_, usage) = run(&model(), req).await;
        assert_eq!(usage.prompt_tokens, 6);
        assert_eq!(usage.total(), 9);
    }

    #[test]
    fn plan_without_custom_agents_drafts_then_composes() {
        let plan = plan_of(context());
        let shape: Vec<(&str, &str)> = plan
            .tasks
            .iter()
            .map(|t| (t.key.as_str(), t.kind.as_str()))
            .collect();
        assert_eq!(shape, [("draft", "AGENT"), ("compose", "COMPOSE")]);
        assert_eq!(plan.tasks[0].agent_id, None);
        assert!(plan.tasks[0].depends_on.is_empty());
        assert!(plan.tasks[0].title.contains("Proposal and Weekly report"));
        assert_eq!(plan.tasks[1].depends_on, ["draft"]);
        assert_eq!(plan.tasks[1].title, "Compose Proposal and Weekly report");
    }

    #[test]
    fn plan_gives_each_custom_agent_a_task() {
        let mut ctx = context();
        ctx.custom_agents = vec![
            agent(
                "QWdlbnQ6MQ==",
                "Copywriter",
                "Write punchy, friendly headlines. Avoid jargon.",
            ),
            agent("QWdlbnQ6Mg==", "Analyst", ""),
        ];
        let plan = plan_of(ctx);
        assert_eq!(plan.tasks.len(), 3);
        let (first, second, compose) = (&plan.tasks[0], &plan.tasks[1], &plan.tasks[2]);
        assert_eq!(
            (first.key.as_str(), first.kind.as_str()),
            ("agent-1", "AGENT")
        );
        assert_eq!(first.agent_id.as_deref(), Some("QWdlbnQ6MQ=="));
        assert!(first
            .title
            .starts_with("Copywriter: write punchy, friendly headlines"));
        assert_eq!(second.agent_id.as_deref(), Some("QWdlbnQ6Mg=="));
        assert!(second.title.starts_with("Analyst: "));
        assert_eq!(compose.kind, "COMPOSE");
        assert_eq!(compose.depends_on, ["agent-1", "agent-2"]);
    }

    #[test]
    fn plan_with_approval_puts_it_before_the_single_compose() {
        let mut ctx = context();
        ctx.custom_agents = vec![
            agent("a1", "Copywriter", "Write."),
            agent("a2", "Analyst", "Check numbers."),
        ];
        ctx.approval = Some(("ADMIN".into(), 2));
        let plan = plan_of(ctx);
        let kinds: Vec<&str> = plan.tasks.iter().map(|t| t.kind.as_str()).collect();
        assert_eq!(kinds, ["AGENT", "AGENT", "APPROVAL", "COMPOSE"]);
        let approval = &plan.tasks[2];
        assert_eq!(approval.title, "Approval before composing (2 × ADMIN)");
        assert_eq!(approval.depends_on, ["agent-1", "agent-2"]);
        assert_eq!(plan.tasks[3].depends_on, ["approval"]);
        // Keys are unique and every dependency names an earlier task.
        for (i, task) in plan.tasks.iter().enumerate() {
            assert!(plan.tasks[..i].iter().all(|t| t.key != task.key));
            for dep in &task.depends_on {
                assert!(plan.tasks[..i].iter().any(|t| &t.key == dep), "{dep}");
            }
        }
    }

    #[test]
    fn plan_works_with_an_empty_context() {
        let plan = plan_of(ModelContext::default());
        assert_eq!(plan.tasks.last().map(|t| t.kind.as_str()), Some("COMPOSE"));
        assert_eq!(plan.tasks.len(), 2);
    }

    #[test]
    fn agent_notes_draw_on_the_context() {
        let m = model();
        let mut ctx = context();
        ctx.agent = Some(agent(
            "a1",
            "Copywriter",
            "Write punchy, friendly headlines. Avoid jargon.",
        ));
        ctx.task_title = Some("Copywriter: write headlines".into());
        ctx.dependency_outputs = vec![(
            "Research".into(),
            "## Research\n\n- Weekday sales dip on Tuesdays.\n".into(),
        )];
        let notes = m.output_text(&request(Purpose::Agent, ctx, 10_000));
        assert!(notes.starts_with("## Copywriter\n"));
        for expected in [
            "Win the Acme Bakery spring campaign",
            "Write punchy, friendly headlines.",
            "Acme Bakery",
            "Brief “Client brief”:** Acme Bakery wants more weekday foot traffic.",
            "Builds on Research:** Weekday sales dip on Tuesdays.",
        ] {
            assert!(notes.contains(expected), "missing {expected:?} in\n{notes}");
        }
        let tokens = m.count_tokens(&notes);
        assert!((80..=350).contains(&tokens), "{tokens} tokens");

        let drafting = m.output_text(&request(Purpose::Agent, ModelContext::default(), 10_000));
        assert!(drafting.starts_with("## Drafting notes\n"));
    }

    #[test]
    fn compose_writes_the_deliverable_from_goal_sources_and_notes() {
        let m = model();
        let mut ctx = context();
        let notes = m.output_text(&request(Purpose::Agent, context(), 10_000));
        ctx.dependency_outputs = vec![("Draft the key points".into(), notes)];
        let text = compose_text(ctx);
        assert!(text.starts_with("# Proposal\n"));
        for expected in [
            "the goal: win the Acme Bakery spring campaign with a clear, affordable plan.",
            "“Acme Bakery wants more weekday foot traffic.”",
            "## Background",
            "## Key points",
            "**Notes “Kickoff call”:**",
            "## Next steps",
            "Weekly report",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        let tokens = m.count_tokens(&text);
        assert!((200..=600).contains(&tokens), "{tokens} tokens:\n{text}");
    }

    #[test]
    fn revisions_visibly_change_the_composition() {
        let before = compose_text(context());
        assert!(!before.contains("## Revisions"));
        let mut ctx = context();
        ctx.revision_notes = vec![
            "Add more background on the budget.".into(),
            "Make the tone warmer".into(),
        ];
        let after = compose_text(ctx);
        assert_ne!(before, after);
        let section = after
            .split("## Revisions")
            .nth(1)
            .expect("a Revisions section");
        let first = section
            .find("Add more background on the budget")
            .expect("first note");
        let latest = section.find("Make the tone warmer").expect("latest note");
        assert!(first < latest, "the latest note comes last");
        assert!(section.contains("(latest)"));
        assert!(after.contains("reflects the latest request: “Make the tone warmer”"));
    }

    #[test]
    fn style_override_is_followed_visibly() {
        let plain = compose_text(context());
        let mut ctx = context();
        ctx.style_override = Some("Concise and friendly.".into());
        let styled = compose_text(ctx);
        assert!(styled.contains("requested style: Concise and friendly"));
        assert!(model().count_tokens(&styled) < model().count_tokens(&plain) + 15);
    }

    #[test]
    fn compose_works_with_an_empty_context() {
        let text = compose_text(ModelContext::default());
        assert!(text.starts_with("# Deliverable\n"));
        assert!(text.contains("## Key points\n\n- "));
        assert!(model().count_tokens(&text) > 30);
    }

    #[tokio::test]
    async fn tokens_are_paced_by_the_delay() {
        let m = BuiltinModel::new(Duration::from_millis(10));
        let started = Instant::now();
        let (tokens, _) = run(&m, request(Purpose::Compose, context(), 5)).await;
        assert_eq!(tokens.len(), 5);
        // Four gaps between five tokens.
        assert!(
            started.elapsed() >= Duration::from_millis(40),
            "{:?}",
            started.elapsed()
        );
    }
}
