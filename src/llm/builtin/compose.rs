//! The Composer's answer: one deliverable as Markdown, built from the goal,
//! the sources, the notes of the tasks before it, revisions and style.

use super::{
    notes::CONTEXT_FIELDS,
    phrases::{key_terms, source_label},
    text::{
        bullet_text, excerpt, gist_of, join_list, lower_first, plain, plural, squash, strip_end,
    },
};
use crate::llm::ModelContext;

/// One deliverable as Markdown: title, opening, background, key points, next
/// steps, then revisions and the style line when there are any.
pub(super) fn compose(ctx: &ModelContext) -> String {
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

pub(super) fn opening(ctx: &ModelContext, label: &str) -> String {
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

pub(super) fn background(ctx: &ModelContext, label: &str, concise: bool) -> String {
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
pub(super) fn key_points(ctx: &ModelContext) -> String {
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
pub(super) fn restates_context(ctx: &ModelContext, bullet: &str) -> bool {
    CONTEXT_FIELDS.iter().any(|field| bullet.starts_with(field))
        || ctx
            .sources
            .iter()
            .any(|s| bullet.starts_with(&format!("{}:", source_label(s))))
}

/// Key points when no task produced any: from the goal and its key terms.
pub(super) fn fallback_points(ctx: &ModelContext) -> Vec<String> {
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

pub(super) fn next_steps(ctx: &ModelContext, label: &str) -> String {
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
pub(super) fn revisions(notes: &[String]) -> String {
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
pub(super) fn addressed_in(note: &str) -> &'static str {
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

pub(super) fn is_concise(style: &str) -> bool {
    let style = style.to_lowercase();
    ["concise", "brief", "short", "terse"]
        .iter()
        .any(|w| style.contains(w))
}

#[cfg(test)]
mod tests {
    use crate::llm::{
        builtin::fixtures::{context, model, request},
        LanguageModel, ModelContext, Purpose,
    };

    fn compose_text(ctx: ModelContext) -> String {
        model().output_text(&request(Purpose::Compose, ctx, 10_000))
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
}
