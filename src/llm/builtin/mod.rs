//! The built-in language model: deterministic, offline, and the default.
//!
//! It never calls out. It writes its answer straight from the structured
//! [`ModelContext`] of the request — the plan from the custom agents and
//! deliverables, agent notes and deliverables from the goal, the sources and
//! the dependency outputs — and then streams that text token by token at a
//! configurable pace. The same request always yields the same tokens and the
//! same usage, which keeps runs, billing and tests reproducible.
//!
//! Here live the model and its pacing. The texts are written by `plan`
//! (with its TOOL tasks from `tools`),
//! `notes` and `compose`, worded with the helpers of `phrases` and `text`,
//! and cut into tokens by `tokens`.

mod compose;
#[cfg(test)]
mod fixtures;
mod notes;
mod phrases;
mod plan;
mod text;
mod tokens;
mod tools;
mod voice;

use std::time::Duration;

use futures_util::stream;

use super::{
    LanguageModel, ModelContext, ModelError, ModelEvent, ModelRequest, ModelStream, Purpose, Usage,
};

pub use tokens::split_tokens;

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

/// The full answer for a purpose.
fn render(purpose: Purpose, ctx: &ModelContext) -> String {
    match purpose {
        // Serializing plain strings and vectors cannot fail.
        Purpose::Plan => serde_json::to_string(&plan::plan(ctx)).unwrap_or_default(),
        Purpose::Agent => voice::apply(&notes::agent_notes(ctx), ctx.voice.as_ref()),
        Purpose::Compose => voice::apply(&compose::compose(ctx), ctx.voice.as_ref()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use futures_util::StreamExt;

    use super::fixtures::{context, model, request};
    use super::*;

    /// Runs a call to the end: its tokens and the usage of its `Done`.
    async fn run(model: &BuiltinModel, request: ModelRequest) -> (Vec<String>, Usage) {
        let mut stream = model.stream(request);
        let (mut tokens, mut usage) = (Vec::new(), None);
        while let Some(event) = stream.next().await {
            assert!(usage.is_none(), "nothing may follow Done");
            match event.expect("the built-in model does not fail") {
                ModelEvent::Token(token) => tokens.push(token),
                ModelEvent::Done(done) => usage = Some(done),
                ModelEvent::ToolCall(call) => panic!("the built-in model never calls {call:?}"),
            }
        }
        (tokens, usage.expect("the stream ends with Done"))
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
