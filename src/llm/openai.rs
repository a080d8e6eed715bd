//! Any OpenAI-compatible chat-completions endpoint, streamed (OpenAI, vLLM,
//! llama.cpp's server, Ollama).
//!
//! - Connect and read timeouts come from the settings; a call refused with
//!   429 or 5xx, or that could not connect, is retried with exponential
//!   backoff a bounded number of times, but never once output has started
//!   (the tokens already handed on cannot be taken back).
//! - Usage is read from the stream (`stream_options.include_usage`); a
//!   provider that omits it is counted here, the same way holds are sized.
//! - The call runs in a task that stops at the next chunk once the stream is
//!   dropped, which is how a pause or cancel reaches the provider.
//! - `max_tokens` is the task's output cap, so the provider stops there too.
//! - Function calling: the request's `functions` are offered as `tools`
//!   (named by [`wire_name`]), and earlier rounds are replayed as assistant
//!   `tool_calls` and `tool` messages; the calls the model asks for are
//!   assembled from their streamed pieces and handed on before `Done`.
//! - What the endpoint sends is bounded in bytes: an answer past
//!   `LLM_MAX_RESPONSE_BYTES` fails (so neither a line without its newline
//!   nor an event without its end can grow a buffer here), and of an error's
//!   body only the first [`ERROR_BODY_MAX`] bytes are read.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::{
    FunctionCall, LanguageModel, ModelError, ModelEvent, ModelRequest, ModelStream, ToolBrief,
    Usage,
};
use crate::config::LlmSettings;

/// The first retry's wait; each further one doubles it.
const BACKOFF: Duration = Duration::from_millis(500);
/// Events buffered between the call's task and the engine.
const BUFFER: usize = 64;
/// Bytes read of an error's body: the message keeps 300 characters of it.
pub const ERROR_BODY_MAX: usize = 4 * 1024;

/// The endpoint and how to call it; shared by every call's task.
pub struct OpenAiModel {
    inner: std::sync::Arc<Endpoint>,
}

struct Endpoint {
    client: reqwest::Client,
    url: String,
    api_key: Option<String>,
    model: String,
    max_retries: u32,
    backoff: Duration,
    /// Most bytes of one streamed answer.
    max_response_bytes: usize,
}

impl OpenAiModel {
    pub fn new(settings: &LlmSettings) -> Result<OpenAiModel, String> {
        let (Some(base), Some(model)) = (&settings.base_url, &settings.model) else {
            return Err("LLM_BASE_URL and LLM_MODEL are required".into());
        };
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(settings.connect_timeout_secs.max(1)))
            .read_timeout(Duration::from_secs(settings.read_timeout_secs.max(1)))
            .build()
            .map_err(|e| format!("the HTTP client does not build: {e}"))?;
        let endpoint = Endpoint {
            client,
            url: format!("{}/chat/completions", base.trim_end_matches('/')),
            api_key: settings.api_key.as_ref().map(|k| k.expose().to_owned()),
            model: model.clone(),
            max_retries: settings.max_retries,
            backoff: BACKOFF,
            max_response_bytes: settings.max_response_bytes.max(1),
        };
        Ok(OpenAiModel {
            inner: std::sync::Arc::new(endpoint),
        })
    }

    /// The same model waiting `backoff` before its first retry (tests shorten it).
    pub fn with_backoff(self, backoff: Duration) -> OpenAiModel {
        let mut endpoint = std::sync::Arc::into_inner(self.inner).expect("not yet shared");
        endpoint.backoff = backoff;
        OpenAiModel {
            inner: std::sync::Arc::new(endpoint),
        }
    }
}

impl Endpoint {
    fn body(&self, request: &ModelRequest) -> serde_json::Value {
        let mut messages = vec![
            json!({ "role": "system", "content": request.system }),
            json!({ "role": "user", "content": request.prompt }),
        ];
        for exchange in &request.exchanges {
            let calls: Vec<serde_json::Value> = exchange
                .calls
                .iter()
                .map(|(call, _)| {
                    json!({
                        "id": call.id,
                        "type": "function",
                        "function": { "name": wire_name(&call.name), "arguments": call.arguments },
                    })
                })
                .collect();
            let text = (!exchange.text.is_empty()).then_some(exchange.text.as_str());
            messages.push(json!({ "role": "assistant", "content": text, "tool_calls": calls }));
            for (call, answer) in &exchange.calls {
                messages
                    .push(json!({ "role": "tool", "tool_call_id": call.id, "content": answer }));
            }
        }
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "stream": true,
            "stream_options": { "include_usage": true },
            "max_tokens": request.max_output_tokens,
        });
        if !request.functions.is_empty() {
            let tools: Vec<serde_json::Value> = request
                .functions
                .iter()
                .map(|tool| {
                    json!({
                        "type": "function",
                        "function": {
                            "name": wire_name(&tool.name),
                            "description": tool.description,
                            "parameters": tool.input_schema,
                        },
                    })
                })
                .collect();
            body["tools"] = tools.into();
        }
        body
    }

    /// Sends the request, retrying what may be retried; the response is a stream to read.
    async fn connect(&self, body: &serde_json::Value) -> Result<reqwest::Response, ModelError> {
        let mut attempt = 0;
        loop {
            let mut call = self.client.post(&self.url).json(body);
            if let Some(key) = &self.api_key {
                call = call.bearer_auth(key);
            }
            let failure = match call.send().await {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => {
                    let status = response.status();
                    let retry = status.as_u16() == 429 || status.is_server_error();
                    let detail = error_detail(response).await;
                    let message = format!(
                        "the model answered {status}: {}",
                        detail.chars().take(300).collect::<String>()
                    );
                    (retry, message)
                }
                Err(err) => (
                    err.is_connect() || err.is_timeout(),
                    format!("the model could not be reached: {err}"),
                ),
            };
            if !failure.0 || attempt >= self.max_retries {
                return Err(ModelError(failure.1));
            }
            tracing::warn!(attempt, error = %failure.1, "model call failed; retrying");
            tokio::time::sleep(self.backoff * 2u32.saturating_pow(attempt)).await;
            attempt += 1;
        }
    }

    /// Runs one call, sending its events to `out` until it ends or `out` is dropped.
    #[tracing::instrument(level = "debug", name = "model_call", skip_all, fields(purpose = ?request.purpose))]
    async fn run(&self, request: ModelRequest, out: mpsc::Sender<Result<ModelEvent, ModelError>>) {
        let response = match self.connect(&self.body(&request)).await {
            Ok(response) => response,
            Err(err) => {
                let _ = out.send(Err(err)).await;
                return;
            }
        };
        let mut events = capped(response.bytes_stream(), self.max_response_bytes).eventsource();
        let (mut text, mut usage, mut done) = (String::new(), None, false);
        let mut calls = PartialCalls::default();
        while let Some(event) = events.next().await {
            let event = match event {
                Ok(event) => event,
                Err(err) => {
                    let _ = out
                        .send(Err(ModelError(format!("the model's stream broke: {err}"))))
                        .await;
                    return;
                }
            };
            if event.data.trim() == "[DONE]" {
                done = true;
                break;
            }
            let chunk: Chunk = match serde_json::from_str(&event.data) {
                Ok(chunk) => chunk,
                Err(err) => {
                    let _ = out
                        .send(Err(ModelError(format!(
                            "the model sent an unreadable chunk: {err}"
                        ))))
                        .await;
                    return;
                }
            };
            if let Some(u) = chunk.usage {
                usage = Some(Usage {
                    prompt_tokens: u.prompt_tokens,
                    output_tokens: u.completion_tokens,
                });
            }
            for choice in chunk.choices {
                calls.add(choice.delta.tool_calls);
                let Some(content) = choice.delta.content.filter(|c| !c.is_empty()) else {
                    continue;
                };
                text.push_str(&content);
                // The engine dropped the stream (a pause, a cancel): stop here.
                if out.send(Ok(ModelEvent::Token(content))).await.is_err() {
                    return;
                }
            }
        }
        // A stream cut before `[DONE]` is a broken answer, not a short one.
        if !done {
            let _ = out
                .send(Err(ModelError(
                    "the model's stream ended before [DONE]".into(),
                )))
                .await;
            return;
        }
        let calls = calls.finish(&request.functions);
        let usage = usage.unwrap_or_else(|| Usage {
            prompt_tokens: approximate_tokens(&request.system)
                + approximate_tokens(&request.prompt),
            output_tokens: approximate_tokens(&text)
                + calls
                    .iter()
                    .map(|c| approximate_tokens(&c.arguments))
                    .sum::<u32>(),
        });
        for call in calls {
            if out.send(Ok(ModelEvent::ToolCall(call))).await.is_err() {
                return;
            }
        }
        let _ = out.send(Ok(ModelEvent::Done(usage))).await;
    }
}

impl LanguageModel for OpenAiModel {
    fn stream(&self, request: ModelRequest) -> ModelStream {
        let (tx, mut rx) = mpsc::channel(BUFFER);
        let endpoint = self.inner.clone();
        // In the caller's span, so the call's log lines name the workroom it is for.
        let task = tokio::spawn(async move { endpoint.run(request, tx).await }.in_current_span());
        let abort = task.abort_handle();
        // Dropping the stream aborts the call at once (and the connection with it).
        let guard = AbortOnDrop(abort);
        Box::pin(futures_util::stream::poll_fn(move |cx| {
            let _keep = &guard;
            rx.poll_recv(cx)
        }))
    }

    fn count_tokens(&self, text: &str) -> u32 {
        approximate_tokens(text)
    }

    fn calls_functions(&self) -> bool {
        true
    }
}

/// The first [`ERROR_BODY_MAX`] bytes of an error's body, as text; the rest
/// is never read (the connection is dropped with it).
async fn error_detail(response: reqwest::Response) -> String {
    let mut body = response.bytes_stream();
    let mut kept = Vec::new();
    while kept.len() < ERROR_BODY_MAX {
        let Some(Ok(chunk)) = body.next().await else {
            break;
        };
        let room = ERROR_BODY_MAX - kept.len();
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// The answer's bytes, failing once more than `limit` of them came: the
/// event parser after it then holds at most that much.
fn capped<B: AsRef<[u8]>, E: std::fmt::Display>(
    bytes: impl Stream<Item = Result<B, E>>,
    limit: usize,
) -> impl Stream<Item = Result<B, String>> {
    let mut read = 0usize;
    bytes
        .map(move |chunk| {
            let chunk = chunk.map_err(|e| e.to_string())?;
            read = read.saturating_add(chunk.as_ref().len());
            if read > limit {
                return Err(format!("the answer is larger than {limit} bytes"));
            }
            Ok(chunk)
        })
        // Nothing is read past the first error.
        .scan(false, |failed, item| {
            let end = *failed;
            *failed |= item.is_err();
            std::future::ready((!end).then_some(item))
        })
}

/// About four characters a token, as OpenAI's tokenizers average on English.
fn approximate_tokens(text: &str) -> u32 {
    u32::try_from(text.chars().count().div_ceil(4)).unwrap_or(u32::MAX)
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Delta,
}

#[derive(Deserialize, Default)]
struct Delta {
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<CallDelta>,
}

/// A piece of a tool call: the first names it, the rest add to its arguments.
#[derive(Deserialize)]
struct CallDelta {
    #[serde(default)]
    index: u32,
    id: Option<String>,
    #[serde(default)]
    function: FunctionDelta,
}

#[derive(Deserialize, Default)]
struct FunctionDelta {
    name: Option<String>,
    arguments: Option<String>,
}

/// Tool calls as their pieces arrive, by the index the provider gives
/// them (a map: an index is the provider's word, not a length to allocate).
/// Their size is bounded by the answer's.
#[derive(Default)]
struct PartialCalls(std::collections::BTreeMap<u32, FunctionCall>);

impl PartialCalls {
    fn add(&mut self, pieces: Vec<CallDelta>) {
        for piece in pieces {
            let call = self.0.entry(piece.index).or_insert_with(|| FunctionCall {
                id: String::new(),
                name: String::new(),
                arguments: String::new(),
            });
            if let Some(id) = piece.id {
                call.id = id;
            }
            if let Some(name) = piece.function.name {
                call.name.push_str(&name);
            }
            if let Some(arguments) = piece.function.arguments {
                call.arguments.push_str(&arguments);
            }
        }
    }

    /// The calls in order, each named by the workspace's name of the tool
    /// it was offered as (a name no offered tool has is kept, and refused later).
    fn finish(self, offered: &[ToolBrief]) -> Vec<FunctionCall> {
        // Once per answer, so each call's lookup costs the same however many tools there are.
        let mut names = std::collections::HashMap::with_capacity(offered.len());
        for tool in offered {
            names
                .entry(wire_name(&tool.name))
                .or_insert(tool.name.as_str());
        }
        self.0
            .into_values()
            .enumerate()
            .map(|(n, mut call)| {
                if let Some(name) = names.get(&call.name) {
                    call.name = (*name).to_owned();
                }
                if call.id.is_empty() {
                    call.id = format!("call_{n}");
                }
                call
            })
            .collect()
    }
}

/// A tool's name as a function name: OpenAI allows `[A-Za-z0-9_-]{1,64}`,
/// so a dot (`web.fetch`) becomes an underscore.
pub fn wire_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}

#[derive(Deserialize)]
struct WireUsage {
    prompt_tokens: u32,
    completion_tokens: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(index: u32, id: Option<&str>, name: Option<&str>, arguments: &str) -> CallDelta {
        CallDelta {
            index,
            id: id.map(str::to_owned),
            function: FunctionDelta {
                name: name.map(str::to_owned),
                arguments: Some(arguments.to_owned()),
            },
        }
    }

    #[test]
    fn function_names_keep_only_what_openai_allows() {
        assert_eq!(wire_name("web.fetch"), "web_fetch");
        assert_eq!(wire_name("crm.send-report_2"), "crm_send-report_2");
        assert_eq!(wire_name("é/x y"), "__x_y", "one underscore a character");
        assert_eq!(wire_name(&"a".repeat(100)).len(), 64);
    }

    #[test]
    fn calls_are_assembled_from_their_pieces_in_index_order() {
        let offered = [ToolBrief {
            name: "web.fetch".into(),
            description: String::new(),
            input_schema: json!({}),
            read_only: true,
        }];
        let mut calls = PartialCalls::default();
        calls.add(vec![
            piece(7, None, Some("nothing_offered"), "{}"),
            piece(0, Some("call_a"), Some("web_fetch"), "{\"url\":"),
        ]);
        calls.add(vec![piece(0, None, None, "\"https://example.com\"}")]);
        let calls = calls.finish(&offered);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].id, "call_a");
        assert_eq!(calls[0].name, "web.fetch", "mapped back to the tool's name");
        assert_eq!(calls[0].arguments, "{\"url\":\"https://example.com\"}");
        assert_eq!(
            calls[1].name, "nothing_offered",
            "kept, to be refused by name"
        );
        assert_eq!(calls[1].id, "call_1", "a call without an id gets one");
    }
}
