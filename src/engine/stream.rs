//! Consuming a model's stream: the output cap, and a check (or a flush of
//! the text so far) every batch interval, which is where a pause, cancel or
//! lost lease stops the call at the next token.

use std::time::Duration;

use futures_util::StreamExt;

use crate::{
    error::AppResult,
    llm::{FunctionCall, ModelEvent, ModelStream, Usage},
};

/// How the call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Finished,
    /// The run must stop: the workroom left the state the step started in, or the lease was lost.
    Interrupted,
    Failed(String),
}

pub struct Outcome {
    /// Everything the model produced (within the cap).
    pub text: String,
    /// Text produced since the last flush (the caller writes it with its results).
    pub tail: String,
    pub usage: Usage,
    pub ending: Ending,
    /// Tool calls the model asked for (only when offered functions).
    pub calls: Vec<FunctionCall>,
}

impl Outcome {
    /// A call that produced nothing, ended this way.
    pub fn empty(ending: Ending) -> Outcome {
        Outcome {
            text: String::new(),
            tail: String::new(),
            usage: Usage::default(),
            ending,
            calls: Vec::new(),
        }
    }
}

/// Runs a call whose output is only kept (not streamed into the history):
/// between batches it checks that the workroom is still in `state` and ours.
#[tracing::instrument(level = "debug", skip_all, fields(state = %state))]
pub async fn call(
    engine: &super::Engine,
    request: crate::llm::ModelRequest,
    prompt_tokens: u32,
    workroom: uuid::Uuid,
    state: crate::workroom::model::WorkroomState,
) -> AppResult<Outcome> {
    let cap = request.max_output_tokens;
    let check = move |_: String| super::steps::still(engine, workroom, state);
    let stream = engine.model.stream(request);
    consume(
        stream,
        prompt_tokens,
        cap,
        super::steps::BATCH,
        &engine.state.interrupted,
        check,
    )
    .await
}

/// Reads `stream` to its end, at most `cap` output tokens. Every `interval`
/// it hands `flush` the text produced since the last call; `flush` answers
/// whether the run may go on. The tokens used count in the metrics, however
/// the call ended.
pub async fn consume<F, Fut>(
    stream: ModelStream,
    prompt_tokens: u32,
    cap: u32,
    interval: Duration,
    interrupted: &tokio::sync::Notify,
    flush: F,
) -> AppResult<Outcome>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = AppResult<bool>>,
{
    let outcome = read(stream, prompt_tokens, cap, interval, interrupted, flush).await?;
    let tokens =
        |direction| metrics::counter!(crate::telemetry::MODEL_TOKENS, "direction" => direction);
    tokens("prompt").increment(outcome.usage.prompt_tokens.into());
    tokens("output").increment(outcome.usage.output_tokens.into());
    Ok(outcome)
}

async fn read<F, Fut>(
    mut stream: ModelStream,
    prompt_tokens: u32,
    cap: u32,
    interval: Duration,
    interrupted: &tokio::sync::Notify,
    mut flush: F,
) -> AppResult<Outcome>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = AppResult<bool>>,
{
    let (mut text, mut tail, mut output) = (String::new(), String::new(), 0u32);
    let mut calls = Vec::new();
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    let end = |text, tail, output, ending| Outcome {
        text,
        tail,
        usage: Usage {
            prompt_tokens,
            output_tokens: output,
        },
        ending,
        calls: Vec::new(),
    };
    loop {
        tokio::select! {
            item = stream.next() => match item {
                Some(Ok(ModelEvent::Token(token))) if output < cap => {
                    output += 1;
                    text.push_str(&token);
                    tail.push_str(&token);
                }
                // Output past the cap was not paid for: the call ends there.
                Some(Ok(ModelEvent::Token(_))) => return Ok(end(text, tail, output, Ending::Finished)),
                Some(Ok(ModelEvent::ToolCall(call))) => calls.push(call),
                Some(Ok(ModelEvent::Done(usage))) => {
                    let mut outcome = end(text, tail, output, Ending::Finished);
                    outcome.calls = calls;
                    outcome.usage.prompt_tokens = usage.prompt_tokens;
                    // The model's own count of its output (one chunk may hold
                    // several tokens), never past the cap the hold paid for.
                    outcome.usage.output_tokens = usage.output_tokens.min(cap);
                    return Ok(outcome);
                }
                Some(Err(err)) => return Ok(end(text, tail, output, Ending::Failed(err.0))),
                None => return Ok(end(text, tail, output, Ending::Failed("the model's stream ended early".into()))),
            },
            // A change on this instance checks at once; one on another, at the next tick.
            _ = tick.tick() => {
                if !flush(std::mem::take(&mut tail)).await? {
                    return Ok(end(text, String::new(), output, Ending::Interrupted));
                }
            }
            _ = interrupted.notified() => {
                if !flush(std::mem::take(&mut tail)).await? {
                    return Ok(end(text, String::new(), output, Ending::Interrupted));
                }
            }
        }
    }
}
