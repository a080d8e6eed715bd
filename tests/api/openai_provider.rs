//! The OpenAI-compatible provider against a local fake endpoint that speaks
//! the same wire format (server-sent `chat.completion.chunk`s): streaming,
//! usage, retries on 429 and 5xx but never after output started, timeouts,
//! a provider that omits usage, cancellation mid-stream, and a whole
//! workroom run through the real server with it.

use std::{
    collections::VecDeque,
    convert::Infallible,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use atelya::{
    config::{LlmSettings, Secret},
    llm::{
        openai::OpenAiModel, LanguageModel, ModelContext, ModelEvent, ModelRequest, Purpose, Usage,
    },
};
use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::{helpers::*, rooms::*};

/// What the fake answers to one request.
#[derive(Clone)]
pub enum Reply {
    Status(u16),
    /// These content chunks, then usage (when given), then `[DONE]` (unless cut).
    Stream {
        chunks: Vec<String>,
        usage: Option<(u32, u32)>,
        every: Duration,
        cut: bool,
    },
    /// Headers only after `after`.
    Slow(Duration),
    /// Asks for these tool calls as (id, function name, arguments), each
    /// streamed in pieces the way OpenAI does, then usage and `[DONE]`.
    Calls(Vec<(String, String, String)>),
}

pub fn stream(chunks: &[&str], usage: Option<(u32, u32)>) -> Reply {
    Reply::Stream {
        chunks: chunks.iter().map(|c| c.to_string()).collect(),
        usage,
        every: Duration::ZERO,
        cut: false,
    }
}

#[derive(Default)]
pub struct Fake {
    pub script: Mutex<VecDeque<Reply>>,
    /// Answers when the script is empty.
    pub fallback: Mutex<Option<Reply>>,
    pub requests: Mutex<Vec<(HeaderMap, Value)>>,
    calls: AtomicUsize,
    /// Set when a stream's reader went away before the stream ended.
    abandoned: Arc<AtomicBool>,
}

async fn completions(State(fake): State<Arc<Fake>>, headers: HeaderMap, body: Bytes) -> Response {
    fake.calls.fetch_add(1, Ordering::SeqCst);
    let body: Value = serde_json::from_slice(&body).unwrap();
    fake.requests.lock().unwrap().push((headers, body));
    let reply = fake
        .script
        .lock()
        .unwrap()
        .pop_front()
        .or_else(|| fake.fallback.lock().unwrap().clone())
        .expect("a scripted reply");
    match reply {
        Reply::Status(code) => (
            StatusCode::from_u16(code).unwrap(),
            "{\"error\":\"scripted\"}",
        )
            .into_response(),
        Reply::Slow(after) => {
            tokio::time::sleep(after).await;
            (StatusCode::OK, "").into_response()
        }
        Reply::Calls(calls) => {
            let chunk = |delta: Value| {
                format!(
                    "data: {}\n\n",
                    json!({ "object": "chat.completion.chunk", "choices": [{ "index": 0, "delta": delta }] })
                )
            };
            let mut body = String::new();
            for (index, (id, name, arguments)) in calls.iter().enumerate() {
                let (head, tail) = arguments.split_at(arguments.len() / 2);
                body += &chunk(
                    json!({ "tool_calls": [{ "index": index, "id": id, "type": "function", "function": { "name": name, "arguments": head } }] }),
                );
                body += &chunk(
                    json!({ "tool_calls": [{ "index": index, "function": { "arguments": tail } }] }),
                );
            }
            body += &format!(
                "data: {}\n\n",
                json!({ "object": "chat.completion.chunk", "choices": [{ "index": 0, "delta": {}, "finish_reason": "tool_calls" }] })
            );
            body += &format!(
                "data: {}\n\n",
                json!({ "object": "chat.completion.chunk", "choices": [], "usage": { "prompt_tokens": 30, "completion_tokens": 10, "total_tokens": 40 } })
            );
            body += "data: [DONE]\n\n";
            Response::builder()
                .header("content-type", "text/event-stream")
                .body(Body::from(body))
                .unwrap()
        }
        Reply::Stream {
            chunks,
            usage,
            every,
            cut,
        } => {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bytes, Infallible>>(4);
            let abandoned = fake.abandoned.clone();
            tokio::spawn(async move {
                let mut events: Vec<String> = chunks
                    .iter()
                    .map(|c| json!({ "object": "chat.completion.chunk", "choices": [{ "index": 0, "delta": { "content": c } }] }).to_string())
                    .collect();
                if let Some((prompt, completion)) = usage {
                    events.push(json!({ "object": "chat.completion.chunk", "choices": [], "usage": { "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion } }).to_string());
                }
                if !cut {
                    events.push("[DONE]".into());
                }
                for event in events {
                    tokio::time::sleep(every).await;
                    if tx
                        .send(Ok(Bytes::from(format!("data: {event}\n\n"))))
                        .await
                        .is_err()
                    {
                        abandoned.store(true, Ordering::SeqCst);
                        return;
                    }
                }
            });
            let body = Body::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
            Response::builder()
                .header("content-type", "text/event-stream")
                .body(body)
                .unwrap()
        }
    }
}

/// A fake endpoint on a free port; returns it and its base URL.
pub async fn fake(script: Vec<Reply>) -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake {
        script: Mutex::new(script.into()),
        ..Fake::default()
    });
    let app = Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, format!("http://{addr}/v1"))
}

fn settings(base: &str) -> LlmSettings {
    LlmSettings {
        provider: "openai".into(),
        base_url: Some(base.into()),
        api_key: Some(Secret("sk-test-key".into())),
        model: Some("fake-1".into()),
        connect_timeout_secs: 2,
        read_timeout_secs: 1,
        max_retries: 2,
        max_response_bytes: 1024 * 1024,
    }
}

pub fn model(base: &str) -> OpenAiModel {
    OpenAiModel::new(&settings(base))
        .unwrap()
        .with_backoff(Duration::from_millis(10))
}

pub fn request(max: u32) -> ModelRequest {
    ModelRequest {
        purpose: Purpose::Compose,
        system: "Write well.".into(),
        prompt: "Goal: a proposal.".into(),
        context: ModelContext::default(),
        max_output_tokens: max,
        functions: Vec::new(),
        exchanges: Vec::new(),
    }
}

/// Reads a call to its end: the text, the usage of `Done`, or the error.
async fn run(model: &OpenAiModel, request: ModelRequest) -> Result<(String, Usage), String> {
    let mut stream = model.stream(request);
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(ModelEvent::Token(t)) => text.push_str(&t),
            Ok(ModelEvent::Done(usage)) => return Ok((text, usage)),
            Ok(ModelEvent::ToolCall(call)) => {
                return Err(format!("no function was offered: {call:?}"))
            }
            Err(err) => return Err(err.0),
        }
    }
    Err("the stream ended without Done".into())
}

#[tokio::test]
async fn a_streamed_answer_arrives_token_by_token_with_the_providers_usage() {
    let (fake, base) = fake(vec![stream(&["Hello", ", ", "world."], Some((12, 3)))]).await;

    let (text, usage) = run(&model(&base), request(64)).await.unwrap();

    assert_eq!(text, "Hello, world.");
    assert_eq!(
        usage,
        Usage {
            prompt_tokens: 12,
            output_tokens: 3
        }
    );
    let requests = fake.requests.lock().unwrap();
    let (headers, body) = &requests[0];
    assert_eq!(headers["authorization"], "Bearer sk-test-key");
    assert_eq!(body["model"], "fake-1");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({ "include_usage": true }));
    assert_eq!(
        body["max_tokens"], 64,
        "the output is capped at the provider too"
    );
    assert_eq!(
        body["messages"],
        json!([{ "role": "system", "content": "Write well." }, { "role": "user", "content": "Goal: a proposal." }])
    );
}

#[tokio::test]
async fn a_429_and_a_503_are_retried_and_then_the_answer_streams() {
    let (fake, base) = fake(vec![
        Reply::Status(429),
        Reply::Status(503),
        stream(&["ok"], Some((1, 1))),
    ])
    .await;

    let (text, _) = run(&model(&base), request(8)).await.unwrap();

    assert_eq!(text, "ok");
    assert_eq!(fake.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retries_are_bounded_and_a_client_error_is_not_retried() {
    let (five_hundreds, base) = fake(vec![Reply::Status(500); 5]).await;
    let err = run(&model(&base), request(8)).await.unwrap_err();
    assert!(err.contains("500"), "{err}");
    assert_eq!(
        five_hundreds.calls.load(Ordering::SeqCst),
        3,
        "one call and two retries"
    );

    let (bad_request, base) = fake(vec![Reply::Status(400), stream(&["never"], None)]).await;
    let err = run(&model(&base), request(8)).await.unwrap_err();
    assert!(err.contains("400"), "{err}");
    assert_eq!(bad_request.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_stream_cut_after_output_started_fails_and_is_not_retried() {
    let cut = Reply::Stream {
        chunks: vec!["Half".into(), " an answer".into()],
        usage: None,
        every: Duration::ZERO,
        cut: true,
    };
    let (fake, base) = fake(vec![cut, stream(&["second try"], None)]).await;

    let err = run(&model(&base), request(8)).await.unwrap_err();

    assert!(err.contains("[DONE]"), "{err}");
    assert_eq!(
        fake.calls.load(Ordering::SeqCst),
        1,
        "output had started: no retry"
    );
}

#[tokio::test]
async fn a_provider_that_never_answers_times_out() {
    let (fake, base) = fake(vec![Reply::Slow(Duration::from_secs(5)); 3]).await;
    let mut no_retries = settings(&base);
    no_retries.max_retries = 0;
    let model = OpenAiModel::new(&no_retries).unwrap();

    let started = std::time::Instant::now();
    let err = run(&model, request(8)).await.unwrap_err();

    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        err.contains("could not be reached") || err.contains("timed out"),
        "{err}"
    );
    assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn without_usage_in_the_stream_the_tokens_are_counted_here() {
    let (_, base) = fake(vec![stream(&["abcd", "efgh", "ij"], None)]).await;
    let model = model(&base);

    let (text, usage) = run(&model, request(64)).await.unwrap();

    assert_eq!(text, "abcdefghij");
    let prompt = model.count_tokens("Write well.") + model.count_tokens("Goal: a proposal.");
    assert_eq!(
        usage,
        Usage {
            prompt_tokens: prompt,
            output_tokens: model.count_tokens("abcdefghij")
        }
    );
    assert_eq!(usage.output_tokens, 3);
}

#[tokio::test]
async fn dropping_the_stream_mid_answer_ends_the_call_at_the_provider() {
    let chunks: Vec<String> = (0..200).map(|i| format!("t{i} ")).collect();
    let slow = Reply::Stream {
        chunks,
        usage: Some((5, 200)),
        every: Duration::from_millis(20),
        cut: false,
    };
    let (fake, base) = fake(vec![slow]).await;
    let model = model(&base);

    let mut stream = model.stream(request(500));
    for _ in 0..3 {
        assert!(matches!(
            stream.next().await,
            Some(Ok(ModelEvent::Token(_)))
        ));
    }
    drop(stream);

    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while !fake.abandoned.load(Ordering::SeqCst) {
        assert!(
            std::time::Instant::now() < deadline,
            "the provider kept streaming to nobody"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The fake answers the Planner with a one-task plan and everything else with `words`.
fn planner_aware(fake: &Fake, words: usize) {
    let plan = json!({ "tasks": [{ "key": "compose", "title": "Write it", "kind": "COMPOSE", "dependsOn": [] }] }).to_string();
    fake.script
        .lock()
        .unwrap()
        .push_back(stream(&[&plan], Some((40, 20))));
    let chunks: Vec<String> = (0..words).map(|i| format!("word{i} ")).collect();
    *fake.fallback.lock().unwrap() = Some(Reply::Stream {
        chunks,
        usage: Some((50, words as u32)),
        every: Duration::ZERO,
        cut: false,
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workroom_runs_on_the_provider_and_its_output_is_capped_at_the_hold() {
    let (fake, base) = fake(vec![]).await;
    planner_aware(&fake, 100);
    let model: Arc<dyn LanguageModel> = Arc::new(model(&base));
    let database = TestDatabase::create(Backend::Sqlite).await;
    let mut config = test_config(&database.url);
    config.engine.compose_max_tokens = 30;
    let app = serve(config, Some(model)).await;
    let ann = app.signup("ann@example.com", "Acme").await;

    let id = app.create_workroom(&ann.token, input("Q3 proposal")).await;
    let room = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;

    let content = room["deliverables"][0]["content"].as_str().unwrap();
    assert!(content.starts_with("word0 word1 "), "{content}");
    assert_eq!(
        content.split_whitespace().count(),
        30,
        "capped at the hold's 30 tokens: {content}"
    );
    let requests = fake.requests.lock().unwrap();
    let (_, compose) = requests.last().unwrap();
    assert_eq!(compose["max_tokens"], 30);
    let prompt = compose["messages"][1]["content"].as_str().unwrap();
    assert!(prompt.contains("Write the deliverable"), "{prompt}");
    let plan = &requests[0].1;
    assert!(
        plan["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("Answer with the plan as JSON"),
        "{plan}"
    );
}
