//! Requests and contexts the built-in model's unit tests share.

use std::time::Duration;

use super::BuiltinModel;
use crate::llm::{AgentBrief, ModelContext, ModelRequest, Purpose, SourceBrief};
use entity::enums::SourceKind;

pub(super) fn source(kind: SourceKind, title: &str, content: &str) -> SourceBrief {
    SourceBrief {
        kind,
        title: Some(title.into()),
        content: content.into(),
    }
}

pub(super) fn agent(id: &str, name: &str, instructions: &str) -> AgentBrief {
    AgentBrief {
        id: id.into(),
        name: name.into(),
        instructions: instructions.into(),
        client_name: Some("Acme Bakery".into()),
    }
}

/// A typical workroom: a goal, two deliverables, three sources.
pub(super) fn context() -> ModelContext {
    ModelContext {
        goal: "Win the Acme Bakery spring campaign with a clear, affordable plan.".into(),
        deliverables: vec!["Proposal".into(), "Weekly report".into()],
        deliverable: Some("Proposal".into()),
        sources: vec![
            source(SourceKind::Brief, "Client brief", "Acme Bakery wants more weekday foot traffic. Budget is tight and the launch is in March."),
            source(SourceKind::Sample, "Last year's proposal", "# Proposal\n\nWe grew Acme's newsletter by 40% in one quarter through seasonal offers."),
            source(SourceKind::Notes, "Kickoff call", "The owner prefers local radio over social ads; she wants weekly numbers."),
        ],
        ..ModelContext::default()
    }
}

pub(super) fn request(
    purpose: Purpose,
    context: ModelContext,
    max_output_tokens: u32,
) -> ModelRequest {
    ModelRequest {
        purpose,
        system: "You are the Composer.".into(),
        prompt: "Write the deliverable.".into(),
        context,
        max_output_tokens,
        functions: Vec::new(),
        exchanges: Vec::new(),
    }
}

pub(super) fn model() -> BuiltinModel {
    BuiltinModel::new(Duration::ZERO)
}
