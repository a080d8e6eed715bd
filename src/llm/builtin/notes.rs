//! An AGENT task's output: a custom agent's (or the drafting task's) notes,
//! written from the context as that agent reads it.

use super::{
    phrases::{deliverables_phrase, focus_phrase, key_terms, source_label, the_deliverables},
    text::{end_sentence, excerpt, gist_of, join_list, lower_first, non_empty, squash, strip_end},
};
use crate::llm::ModelContext;
use entity::enums::SourceKind;

/// The labels of the context bullets of agent notes. The Composer leaves
/// them out of Key points: the deliverable states the goal, the deliverables
/// and the sources elsewhere already.
pub(super) const CONTEXT_FIELDS: [&str; 4] = ["Goal:", "Focus:", "Client:", "Deliverables:"];

/// An agent's (or the drafting task's) notes: a heading, the context as the
/// agent read it, then its recommendations.
pub(super) fn agent_notes(ctx: &ModelContext) -> String {
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

pub(super) fn context_bullets(ctx: &ModelContext) -> Vec<String> {
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
pub(super) fn recommendations(ctx: &ModelContext) -> Vec<String> {
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
        match source.kind {
            SourceKind::Brief if !text.is_empty() => {
                lines.push(format!("Answer the brief head-on: “{text}”."))
            }
            SourceKind::Sample => lines.push(format!(
                "Reuse what worked in the {}.",
                lower_first(&source_label(source))
            )),
            _ => {}
        }
    }
    lines.push("Close with a concrete next step, an owner and a date.".into());
    lines
}

#[cfg(test)]
mod tests {
    use crate::llm::{
        builtin::fixtures::{agent, context, model, request},
        LanguageModel, ModelContext, Purpose,
    };

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
}
