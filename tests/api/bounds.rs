//! Every buffer of outside input is bounded in bytes: over its bound the
//! input is refused, and the server's memory stays flat however often the
//! hostile input comes.
//!
//! Memory is measured as this process's resident set (the server runs in
//! it): after a warm-up round, then after the hostile input, held at once
//! where it could pile up. Resident memory is the whole process's, so each
//! of these tests runs alone ([`alone`]), and [`SLACK`] is what a bounded
//! server may still move by: allocator arenas, connection pools, SQLite's
//! page cache. Each hostile input is sized so that an unbounded buffer would
//! pass the slack several times over.

use std::{convert::Infallible, future::Future, time::Duration};

use atelya::{
    config::LlmSettings,
    llm::{openai::OpenAiModel, LanguageModel, ModelContext, ModelEvent, ModelRequest, Purpose},
};
use axum::{
    body::{Body, Bytes},
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};

use crate::{helpers::*, persisted_queries::hash, rooms::*, ws_client::*};

/// How far resident memory may move under a bounded server (see the module's
/// documentation): a few MiB of arenas and caches, with room to spare.
const SLACK: u64 = 16 * 1024 * 1024;
/// Times each hostile input is sent.
const TIMES: usize = 100;
/// The copy of the test binary that runs a test alone finds its name here.
const ALONE: &str = "ATELYA_TEST_ALONE";

/// Runs `body` alone: this test binary is started again, filtered to the
/// test named `path` (its `module_path!` and variant), and the copy, which
/// finds that name in [`ALONE`], runs it on a runtime of its own.
fn alone<F: Future<Output = ()>>(path: &str, body: impl FnOnce() -> F) {
    let name = path.split_once("::").map_or(path, |(_, rest)| rest);
    if std::env::var(ALONE).as_deref() == Ok(name) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        return runtime.block_on(body());
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(ALONE, name)
        .output()
        .expect("the test binary starts again");
    let (out, err) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    eprint!("{err}");
    assert!(
        output.status.success() && out.contains("1 passed"),
        "{name} failed alone:\n{out}\n{err}"
    );
}

/// A test that runs alone: without a server (`fn name();`), or as
/// `db_test!` writes them, on SQLite and, when `TEST_DATABASE_URL` is set,
/// on PostgreSQL.
macro_rules! alone_test {
    (async fn $name:ident(); $body:block) => {
        #[test]
        fn $name() {
            alone(concat!(module_path!(), "::", stringify!($name)), || async $body);
        }
    };
    (async fn $name:ident($app:ident) $(with $tweak:expr)? ; $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[allow(unused_assignments)]
            async fn run(backend: Backend) {
                #[allow(unused_mut)]
                let mut tweak: Box<dyn FnOnce(&mut atelya::config::Config)> = Box::new(|_| {});
                $(tweak = Box::new($tweak);)?
                let $app = spawn_app(backend, tweak).await;
                $body
            }

            #[test]
            fn sqlite() {
                super::alone(concat!(module_path!(), "::sqlite"), || run(Backend::Sqlite));
            }

            #[test]
            #[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set")]
            fn postgres() {
                super::alone(concat!(module_path!(), "::postgres"), || async {
                    if let Some(backend) = Backend::postgres() {
                        run(backend).await;
                    }
                });
            }
        }
    };
}

/// Resident memory now, and the check that it grew by at most [`SLACK`] since `before`.
fn assert_flat(before: u64, what: &str) {
    let after = rss_bytes();
    let grown = after.saturating_sub(before);
    eprintln!(
        "{what}: resident memory {} MiB -> {} MiB",
        before >> 20,
        after >> 20
    );
    assert!(
        grown <= SLACK,
        "{what}: resident memory grew by {} MiB (from {} MiB)",
        grown >> 20,
        before >> 20
    );
}

/// The highest resident memory seen over `within`, sampled every 50 ms.
async fn peak_over(within: Duration) -> u64 {
    let deadline = tokio::time::Instant::now() + within;
    let mut peak = rss_bytes();
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        peak = peak.max(rss_bytes());
    }
    peak
}

/// 64 KiB of one byte, for hostile bodies made as they are sent (the
/// sender holds nothing).
static CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// `head`, then `chunks` times [`CHUNK`].
fn endless(
    head: &'static str,
    chunks: usize,
) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let head = futures_util::stream::once(async move { Bytes::from_static(head.as_bytes()) });
    let rest = futures_util::stream::repeat(Bytes::from_static(&CHUNK)).take(chunks);
    head.chain(rest).map(Ok)
}

// The OpenAI-compatible provider: what the endpoint sends is bounded.

/// A hostile endpoint: `ok` answers normally, `error` fails with a 64 MiB
/// body, `line` streams a 64 MiB line without its newline, `event` a 64 MiB
/// event of many `data:` lines without the blank line that ends it.
async fn hostile_endpoint() -> String {
    async fn answer(Path(kind): Path<String>) -> Response {
        let sse = [("content-type", "text/event-stream")];
        match kind.as_str() {
            "ok" => {
                let chunk = json!({ "choices": [{ "delta": { "content": "Hello" } }] });
                let body = format!("data: {chunk}\n\ndata: [DONE]\n\n");
                (sse, body).into_response()
            }
            "error" => {
                let body = Body::from_stream(endless("", 1024));
                (StatusCode::INTERNAL_SERVER_ERROR, body).into_response()
            }
            "line" => (sse, Body::from_stream(endless("data: ", 1024))).into_response(),
            _ => {
                let lines = futures_util::stream::repeat(Bytes::from_static(b"data: x\n"));
                let body = Body::from_stream(lines.take(8 << 20).map(Ok::<_, Infallible>));
                (sse, body).into_response()
            }
        }
    }
    let app = Router::new().route("/{kind}/v1/chat/completions", post(answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn provider(base: &str, kind: &str) -> OpenAiModel {
    OpenAiModel::new(&LlmSettings {
        provider: "openai".into(),
        base_url: Some(format!("{base}/{kind}/v1")),
        api_key: None,
        model: Some("fake-1".into()),
        connect_timeout_secs: 2,
        read_timeout_secs: 5,
        max_retries: 0,
        max_response_bytes: 256 * 1024,
    })
    .unwrap()
}

/// Runs one call to its end: its text, or its error.
async fn call(model: &OpenAiModel) -> Result<String, String> {
    let request = ModelRequest {
        purpose: Purpose::Compose,
        system: "Write well.".into(),
        prompt: "A proposal.".into(),
        context: ModelContext::default(),
        max_output_tokens: 100,
        functions: Vec::new(),
        exchanges: Vec::new(),
    };
    let mut stream = model.stream(request);
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(ModelEvent::Token(token)) => text.push_str(&token),
            Ok(ModelEvent::Done(_)) => return Ok(text),
            Ok(ModelEvent::ToolCall(call)) => {
                return Err(format!("no function was offered: {call:?}"))
            }
            Err(err) => return Err(err.0),
        }
    }
    Err("the stream ended without Done".into())
}

alone_test! {
    async fn a_models_error_body_is_read_only_to_its_first_kilobytes();
    {
        let base = hostile_endpoint().await;
        assert_eq!(call(&provider(&base, "ok")).await.unwrap(), "Hello");
        let failing = provider(&base, "error");
        let before = rss_bytes();
        for _ in 0..TIMES {
            let error = call(&failing).await.unwrap_err();
            assert!(error.contains("500") && error.contains("xxx"), "{error}");
            // The message keeps 300 characters of the body, after its own words.
            assert!(error.len() < 400, "{} bytes", error.len());
        }
        assert_flat(before, "100 errors with 64 MiB bodies");
    }
}

alone_test! {
    async fn a_models_line_or_event_past_the_answer_limit_fails_the_call();
    {
        let base = hostile_endpoint().await;
        assert_eq!(call(&provider(&base, "ok")).await.unwrap(), "Hello");
        let (line, event) = (provider(&base, "line"), provider(&base, "event"));
        let before = rss_bytes();
        for _ in 0..TIMES {
            let error = call(&line).await.unwrap_err();
            assert!(error.contains("larger than 262144 bytes"), "{error}");
        }
        assert_flat(before, "100 answers of a 64 MiB line");
        let error = call(&event).await.unwrap_err();
        assert!(error.contains("larger than 262144 bytes"), "{error}");
    }
}

// Websockets: what one socket may hold.

/// A result of about 400 KB: the brief and two sources of 200,000 characters.
const BIG: &str = "query($w: ID!) { workroom(id: $w) { sources { content } } }";

async fn room_with_big_sources(app: &TestApp, token: &str) -> String {
    let id = app.create_workroom(token, input("Big sources")).await;
    let add = "mutation($w: ID!, $s: SourceInput!) { addSource(workroomId: $w, input: $s) { id } }";
    for _ in 0..2 {
        let source = json!({ "kind": "NOTES", "content": "y".repeat(200_000) });
        app.ok(Some(token), add, json!({ "w": id, "s": source }))
            .await;
    }
    id
}

alone_test! {
    async fn a_socket_that_reads_nothing_holds_a_bounded_number_of_bytes_of_results(app)
        with |c: &mut atelya::config::Config| {
            c.sockets.queue_bytes = 64 * 1024;
            c.sockets.max_operations = 250;
            c.sockets.idle_secs = 300;
            c.sockets.write_timeout_secs = 300;
        };
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = room_with_big_sources(&app, &ann.token).await;
        app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        let mut reader = Client::connect(&app, &ann.token).await;
        for op in ["1", "2", "3", "4", "5", "6"] {
            reader.subscribe(op, BIG, json!({ "w": id })).await;
        }
        for op in ["1", "2", "3", "4", "5", "6"] {
            let sources = reader.next_of(op).await["workroom"]["sources"].clone();
            assert_eq!(sources.as_array().unwrap().len(), 3);
        }
        let before = rss_bytes();
        // 250 results of 400 KB for a client that reads none: 100 MB if the
        // queue held them all, a few results when it holds 64 KiB.
        let mut stalled = Client::connect_with_small_buffer(&app, &ann.token).await;
        for op in 0..250 {
            stalled.subscribe(&op.to_string(), BIG, json!({ "w": id })).await;
        }
        let peak = peak_over(Duration::from_secs(3)).await;
        assert_flat_peak(before, peak, "250 results of 400 KB for a socket that reads nothing");
        // The socket still works once it reads: every result, whole.
        for op in 0..250 {
            let sources = stalled.next_of(&op.to_string()).await["workroom"]["sources"].clone();
            assert_eq!(sources[1]["content"].as_str().unwrap().len(), 200_000);
        }
    }
}

fn assert_flat_peak(before: u64, peak: u64, what: &str) {
    let grown = peak.saturating_sub(before);
    eprintln!(
        "{what}: resident memory {} MiB, at most {} MiB",
        before >> 20,
        peak >> 20
    );
    assert!(
        grown <= SLACK,
        "{what}: resident memory grew by {} MiB",
        grown >> 20
    );
}

alone_test! {
    async fn operations_holding_too_many_bytes_on_one_socket_are_refused(app)
        with |c: &mut atelya::config::Config| {
            c.limits.max_body_bytes = 64 * 1024;
            c.sockets.operations_bytes = 256 * 1024;
        };
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let id = app.create_workroom(&ann.token, input("Padded")).await;
        app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        // A comment is no token: 60 KiB of it pass every document limit.
        let padded = format!("{WATCH} # {}", "x".repeat(60 * 1024));
        let mut warm = Client::connect(&app, &ann.token).await;
        warm.subscribe("w", &padded, json!({ "w": id })).await;
        warm.next_of("w").await;
        drop(warm);
        let before = rss_bytes();
        // Ten sockets each try 100 such subscriptions: 60 MB held if all ran;
        // four of them (240 KiB) per socket may.
        let mut sockets = Vec::new();
        for _ in 0..10 {
            let mut client = Client::connect(&app, &ann.token).await;
            let mut running = 0;
            for op in 0..TIMES {
                client.subscribe(&op.to_string(), &padded, json!({ "w": id })).await;
                let frame = client.frame_of(&op.to_string()).await;
                match frame["type"].as_str() {
                    Some("next") => running += 1,
                    _ => assert_eq!(frame["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{frame}"),
                }
            }
            assert_eq!(running, 4);
            sockets.push(client);
        }
        assert_flat(before, "1,000 subscriptions of 60 KiB on ten sockets");
        // Completing one makes room again.
        let client = &mut sockets[0];
        send(&mut client.socket, json!({ "type": "complete", "id": "0" })).await;
        let mut attempt = TIMES;
        loop {
            let op = attempt.to_string();
            client.subscribe(&op, &padded, json!({ "w": id })).await;
            if client.frame_of(&op).await["type"] == "next" {
                break;
            }
            assert!(attempt < TIMES + 100, "completing an operation never made room");
            attempt += 1;
        }
    }
}

alone_test! {
    async fn a_message_in_fragments_past_the_size_limit_closes_the_socket_with_1009(app)
        with |c: &mut atelya::config::Config| c.limits.max_body_bytes = 64 * 1024;
    {
        use tokio_tungstenite::tungstenite::{
            protocol::frame::{coding::{Data, OpCode}, Frame},
            Message,
        };
        let ann = app.signup("ann@example.com", "Acme").await;
        // Ten rounds of ten sockets at once, each sending a text message in
        // 256 fragments of 32 KiB (8 MiB, 80 MiB a round); the limit is
        // 64 KiB a message.
        let hostile = || (0..TIMES / 10).map(|_| async {
            let (mut sink, mut stream) = initialised(&app, &ann.token).await.split();
            let piece = Bytes::from_static(&CHUNK[..32 * 1024]);
            let sending = async {
                let mut frame = Frame::message(piece.clone(), OpCode::Data(Data::Text), false);
                for _ in 0..256 {
                    if sink.send(Message::Frame(frame)).await.is_err() {
                        break;
                    }
                    frame = Frame::message(piece.clone(), OpCode::Data(Data::Continue), false);
                }
                std::future::pending::<()>().await;
            };
            // Read while sending: the close frame comes while the message does.
            let closed = async {
                loop {
                    match stream.next().await {
                        Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
                        Some(Ok(_)) => continue,
                        other => panic!("no close frame: {other:?}"),
                    }
                }
            };
            tokio::select! {
                code = closed => code,
                () = sending => unreachable!(),
            }
        });
        // The warm-up round opens as many sockets, each sending a ping.
        let warm = (0..TIMES / 10).map(|_| async {
            let mut socket = initialised(&app, &ann.token).await;
            send(&mut socket, json!({ "type": "ping" })).await;
            assert_eq!(recv(&mut socket).await["type"], "pong");
        });
        futures_util::future::join_all(warm).await;
        let before = rss_bytes();
        for _ in 0..10 {
            let codes = futures_util::future::join_all(hostile()).await;
            assert!(codes.iter().all(|&code| code == 1009), "{codes:?}");
        }
        assert_flat(before, "100 messages of 8 MiB in fragments");
    }
}

// HTTP: request bodies.

alone_test! {
    async fn bodies_past_the_size_limit_sent_at_once_hold_no_more_than_the_limit(app)
        with |c: &mut atelya::config::Config| c.limits.max_body_bytes = 64 * 1024;
    {
        let warm = app.gql(None, "{ __typename }", json!({})).await;
        assert_eq!(warm["data"]["__typename"], "Query");
        let before = rss_bytes();
        // A hundred bodies of 64 MiB at once, without a length.
        let hostile = (0..TIMES).map(|_| {
            app.client
                .post(&app.url)
                .header("content-type", "application/json")
                .body(reqwest::Body::wrap_stream(endless("{\"query\":\"# ", 1024)))
                .send()
        });
        // The server answers before the body ends, and may close the
        // connection while the client still sends: some see the answer.
        let answered: Vec<_> = futures_util::future::join_all(hostile)
            .await
            .into_iter()
            .flatten()
            .map(|response| response.status())
            .collect();
        assert!(!answered.is_empty());
        assert!(answered.iter().all(|&status| status == StatusCode::PAYLOAD_TOO_LARGE), "{answered:?}");
        assert_flat(before, "100 bodies of 64 MiB at once");
    }
}

/// The status of a raw GET of `/graphql?query=<query>` with a header
/// `x-padding: <padding>` (raw, as no client sends a URI this long); the
/// server may close the connection before all of it is sent.
async fn raw_get(app: &TestApp, query: &str, padding: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "GET /graphql?query={query} HTTP/1.1\r\nhost: {}\r\naccept: application/json\r\nx-padding: {padding}\r\nconnection: close\r\n\r\n",
        app.addr
    );
    let _ = tcp.write_all(head.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    let status = String::from_utf8_lossy(&answer[..answer.len().min(12)]).into_owned();
    status[9..12]
        .parse()
        .unwrap_or_else(|_| panic!("no status line: {status:?}"))
}

alone_test! {
    async fn a_query_string_or_headers_past_what_the_server_reads_are_refused(app);
    {
        const TYPENAME: &str = "%7B__typename%7D";
        assert_eq!(raw_get(&app, TYPENAME, "x").await, 200);
        let long_query = format!("{TYPENAME}%23{}", "x".repeat(70_000));
        let long_header = "x".repeat(512 * 1024);
        let before = rss_bytes();
        for _ in 0..TIMES {
            assert_eq!(raw_get(&app, &long_query, "x").await, 414);
            assert_eq!(raw_get(&app, TYPENAME, &long_header).await, 431);
        }
        assert_flat(before, "100 URIs of 70 KB and heads of 512 KiB");
    }
}

// Sources and style samples: bounded together, not only one by one.

const ADD_SOURCE: &str =
    "mutation($w: ID!, $s: SourceInput!) { addSource(workroomId: $w, input: $s) { id } }";

alone_test! {
    async fn a_workrooms_sources_past_their_byte_limit_are_refused_and_change_nothing(app)
        with |c: &mut atelya::config::Config| c.limits.sources_max_bytes = 900_000;
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let source = |n| json!({ "kind": "NOTES", "content": "s".repeat(n) });
        let mut created = input("Full");
        created["sources"] = json!([source(200_000)]);
        let id = app.create_workroom(&ann.token, created).await;
        for _ in 0..3 {
            app.ok(Some(&ann.token), ADD_SOURCE, json!({ "w": id, "s": source(200_000) })).await;
        }
        let logged = sources_added(&app, &ann.token).await;
        // 800,000 bytes are taken: 100,001 more are one too many.
        let refused = app.gql(Some(&ann.token), ADD_SOURCE, json!({ "w": id, "s": source(100_001) })).await;
        assert_eq!(code(&refused), "BAD_USER_INPUT", "{refused}");
        assert!(refused["errors"][0]["message"].as_str().unwrap().contains("900000 bytes"), "{refused}");
        // The run reads every source into its prompts: it is done before memory is measured.
        app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        let hostile = || async {
            for _ in 0..TIMES {
                let refused = app.gql(Some(&ann.token), ADD_SOURCE, json!({ "w": id, "s": source(200_000) })).await;
                assert_eq!(code(&refused), "BAD_USER_INPUT");
            }
        };
        hostile().await;
        let before = rss_bytes();
        hostile().await;
        assert_flat(before, "100 sources past the limit");
        assert_eq!(sources_added(&app, &ann.token).await, logged);
        app.ok(Some(&ann.token), ADD_SOURCE, json!({ "w": id, "s": source(100_000) })).await;
        let sources = app.ok(Some(&ann.token), "query($w: ID!) { workroom(id: $w) { sources { id } } }", json!({ "w": id })).await;
        assert_eq!(sources["workroom"]["sources"].as_array().unwrap().len(), 5);
        assert_eq!(sources_added(&app, &ann.token).await, logged + 1);
        // At creation too.
        let mut created = input("Too full");
        created["sources"] = json!([source(200_000), source(200_000), source(200_000), source(200_000), source(100_001)]);
        let refused = app.gql(Some(&ann.token), CREATE, json!({ "input": created })).await;
        assert_eq!(code(&refused), "BAD_USER_INPUT", "{refused}");
        assert!(refused["errors"][0]["message"].as_str().unwrap().contains("900000 bytes"), "{refused}");
    }
}

/// How many `workroom.source_added` entries the activity log holds.
async fn sources_added(app: &TestApp, token: &str) -> usize {
    let log = "{ workspace { activity(first: 100) { nodes { action } } } }";
    let log = app.ok(Some(token), log, json!({})).await;
    let nodes = log["workspace"]["activity"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    nodes
        .iter()
        .filter(|n| n["action"] == "workroom.source_added")
        .count()
}

const ADD_SAMPLE: &str =
    "mutation($a: ID!, $t: String!) { addStyleSample(agentId: $a, text: $t) { styleMemory { version } } }";

alone_test! {
    async fn an_agents_style_samples_past_their_byte_limit_are_refused_and_change_nothing(app)
        with |c: &mut atelya::config::Config| c.limits.samples_max_bytes = 300_000;
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let agent = json!({ "name": "Voice", "instructions": "Write for Northwind." });
        let created = app.ok(Some(&ann.token), "mutation($i: AgentInput!) { createAgent(input: $i) { id } }", json!({ "i": agent })).await;
        let agent = created["createAgent"]["id"].as_str().unwrap().to_owned();
        let sample = |n| "We write plainly. ".repeat(n);
        for version in 1..=3 {
            let added = app.ok(Some(&ann.token), ADD_SAMPLE, json!({ "a": agent, "t": sample(5_000) })).await;
            assert_eq!(added["addStyleSample"]["styleMemory"]["version"], version);
        }
        // 270,000 bytes are taken: 36,000 more pass the limit.
        let refused = app.gql(Some(&ann.token), ADD_SAMPLE, json!({ "a": agent, "t": sample(2_000) })).await;
        assert_eq!(code(&refused), "BAD_USER_INPUT", "{refused}");
        assert!(refused["errors"][0]["message"].as_str().unwrap().contains("300000 bytes"), "{refused}");
        let hostile = || async {
            for _ in 0..TIMES {
                let refused = app.gql(Some(&ann.token), ADD_SAMPLE, json!({ "a": agent, "t": sample(5_000) })).await;
                assert_eq!(code(&refused), "BAD_USER_INPUT");
            }
        };
        hostile().await;
        let before = rss_bytes();
        hostile().await;
        assert_flat(before, "100 samples past the limit");
        let added = app.ok(Some(&ann.token), ADD_SAMPLE, json!({ "a": agent, "t": sample(1_000) })).await;
        assert_eq!(added["addStyleSample"]["styleMemory"]["version"], 4);
    }
}

// The bus: another instance, or anything else that can publish on Redis, is a trust boundary too.

/// A watcher of a workroom whose channel a rogue publisher floods with
/// events of 1.5 MiB: each is dropped unread, and the watcher goes on with
/// what the database holds.
async fn forged_bus_messages_past_the_size_limit(app: TestApp) {
    use atelya::{
        ids::{decode, Kind},
        realtime::{Message, Topic},
    };
    let ann = app.signup("ann@example.com", "Acme").await;
    let id = app.create_workroom(&ann.token, input("Watched")).await;
    let room = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
    let last = room["lastSeq"].as_i64().unwrap();
    let mut watcher = Client::connect(&app, &ann.token).await;
    watcher
        .subscribe("w", WATCH, json!({ "w": id, "after": last }))
        .await;
    let post = "mutation($w: ID!, $b: String!) { postMessage(workroomId: $w, body: $b) { seq } }";
    app.ok(Some(&ann.token), post, json!({ "w": id, "b": "warm" }))
        .await;
    assert_eq!(watcher.next_of("w").await["workroomEvents"]["text"], "warm");
    let workroom_id = decode(Kind::Workroom, &id, "workroom").unwrap();
    let workspace_id = decode(Kind::Workspace, &ann.workspace_id, "workspace").unwrap();
    let channel = Topic::Workroom(workroom_id).channel(&app.state.config.redis_prefix);
    let url = app.state.config.redis_url.clone().expect("a Redis");
    let redis = redis::Client::open(url.expose()).unwrap();
    let mut publisher = redis.get_multiplexed_async_connection().await.unwrap();
    let text = "f".repeat(1536 * 1024);
    let forged: Vec<Vec<u8>> = (0..TIMES as i64)
        .map(|i| {
            let event = entity::workroom_event::Model {
                id: uuid::Uuid::now_v7(),
                workspace_id,
                workroom_id,
                seq: last + 2 + i,
                kind: entity::enums::WorkroomEventKind::Message,
                actor_id: None,
                state: None,
                task_id: None,
                deliverable_id: None,
                text: Some(text.clone()),
                data: None,
                at: chrono::Utc::now(),
            };
            Message::Event(event).encode()
        })
        .collect();
    let before = rss_bytes();
    for message in &forged {
        let _: i64 = redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(message)
            .query_async(&mut publisher)
            .await
            .unwrap();
        // Paced, so Redis's own limit on what it holds for a slow subscriber stays out of it.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A real message after them: once the watcher has it, they were all read.
    app.ok(Some(&ann.token), post, json!({ "w": id, "b": "after" }))
        .await;
    let event = watcher.next_of("w").await["workroomEvents"].clone();
    assert_eq!(
        (event["seq"].as_i64(), event["text"].as_str()),
        (Some(last + 2), Some("after"))
    );
    assert_flat(before, "100 forged bus messages of 1.5 MiB");
}

mod a_bus_message_past_the_size_limit_from_redis_is_dropped {
    use super::*;

    #[test]
    #[cfg_attr(not(redis_tests), ignore = "TEST_REDIS_URL is not set")]
    fn sqlite() {
        alone(concat!(module_path!(), "::sqlite"), || async {
            let app = spawn_app(Backend::Sqlite, Box::new(use_test_redis)).await;
            forged_bus_messages_past_the_size_limit(app).await;
        });
    }

    #[test]
    #[cfg_attr(
        not(all(postgres_tests, redis_tests)),
        ignore = "TEST_DATABASE_URL and TEST_REDIS_URL are not both set"
    )]
    fn postgres() {
        alone(concat!(module_path!(), "::postgres"), || async {
            if let Some(backend) = Backend::postgres() {
                forged_bus_messages_past_the_size_limit(spawn_app(backend, Box::new(|_| {})).await)
                    .await;
            }
        });
    }
}

alone_test! {
    async fn an_answer_past_its_byte_bound_is_refused_without_being_built(app)
        with |c: &mut atelya::config::Config| c.limits.max_answer_bytes = 2 * 1024 * 1024;
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let source = |n| json!({ "kind": "NOTES", "content": "s".repeat(n) });
        let mut created = input("Big");
        created["sources"] = json!([source(60_000), source(60_000), source(60_000), source(60_000), source(60_000)]);
        let id = app.create_workroom(&ann.token, created).await;
        app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        // Within the bound the sources come whole; thirty aliases of them
        // (9 MB) would not fit.
        let one = app.ok(Some(&ann.token), "query($w: ID!) { workroom(id: $w) { sources { content } } }", json!({ "w": id })).await;
        assert_eq!(one["workroom"]["sources"].as_array().unwrap().len(), 5);
        let aliases: String = (0..30).map(|i| format!(" a{i}: workroom(id: $w) {{ sources {{ content }} }}")).collect();
        let many = format!("query($w: ID!) {{{aliases} }}");
        let hostile = || async {
            for _ in 0..TIMES / 4 {
                let body = app.gql(Some(&ann.token), &many, json!({ "w": id })).await;
                let errors = body["errors"].as_array().unwrap();
                assert_eq!(errors.len(), 1, "one error for the lot");
                assert_eq!(code(&body), "BAD_USER_INPUT", "{}", errors[0]);
                assert!(errors[0]["message"].as_str().unwrap().contains("2097152 bytes"));
            }
        };
        hostile().await;
        let before = rss_bytes();
        let peak = async {
            let (_, peak) = tokio::join!(hostile(), peak_over(Duration::from_secs(8)));
            peak
        };
        let peak = peak.await;
        assert!(peak.saturating_sub(before) <= SLACK, "peak grew by {} MiB", peak.saturating_sub(before) >> 20);
        assert_flat(before, "25 answers past the byte bound");
    }
}

alone_test! {
    async fn documents_that_cannot_run_are_neither_kept_nor_registered(app);
    {
        // 16 KiB documents that parse and fail validation, each new, and 1 MB
        // ones sent for registration as persisted queries.
        // (What would run is skipped: the bound is on what is kept, and the
        // test need not wait for thousands of fields to resolve.)
        let invalid = |i: usize| format!("{{ n{i}: nosuchfield ... @skip(if: true) {{ plans {{ {} }} }} }}", "plan ".repeat(3_000));
        let huge = |i: usize| format!("{{ plans {{ plan }} }} # {i} {}", "#".repeat(1_000_000));
        let hostile = |round: usize| {
            let app = &app;
            async move {
                for i in 0..TIMES {
                    let i = round * TIMES + i;
                    let body = app.gql(None, &invalid(i), json!({})).await;
                    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED");
                    let document = huge(i);
                    let body = json!({ "query": document, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash(&document) } } });
                    assert_eq!(app.post(None, &body).await.status(), 200);
                }
            }
        };
        hostile(0).await;
        let before = rss_bytes();
        hostile(1).await;
        assert_flat(before, "100 invalid documents of 16 KiB (each about 1 MB parsed) and 100 documents of 1 MB");
        let known: Value = app
            .post(None, &json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash(&huge(150)) } } }))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(code(&known), "PERSISTED_QUERY_NOT_FOUND", "a 1 MB document was registered");
    }
}

alone_test! {
    async fn the_parsed_documents_kept_stay_within_their_budget(app)
        with |c: &mut atelya::config::Config| c.limits.document_cache_bytes = 8 * 1024 * 1024;
    {
        // Valid, distinct, 16 KiB each: every one is kept, within the budget.
        // (Skipped when run: the bound is on what is kept, and the test need
        // not wait for thousands of fields to resolve.)
        let valid = |i: usize| format!("{{ a{i}: __typename ... @skip(if: true) {{ plans {{ {} }} }} }}", "plan ".repeat(3_000));
        let hostile = |round: usize| {
            let app = &app;
            async move {
                for i in 0..TIMES {
                    let body = app.gql(None, &valid(round * 10_000 + i), json!({})).await;
                    assert!(body.get("errors").is_none() || code(&body) != "GRAPHQL_VALIDATION_FAILED", "{body}");
                }
            }
        };
        hostile(0).await;
        let before = rss_bytes();
        hostile(1).await;
        assert_flat(before, "100 valid documents of 16 KiB (each about 1 MB parsed)");
        assert!(app.state.documents.bytes() <= 8 * 1024 * 1024);
    }
}
