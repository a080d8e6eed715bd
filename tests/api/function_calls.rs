//! Function calling: an AGENT task on an OpenAI-compatible model calls the
//! workspace's read-only tools while it works, within the per-task limit;
//! tools that are not read-only are never offered nor made; a TOOL task's
//! result reaches the Composer; all through the real server on both databases.

use std::sync::{atomic::Ordering, Arc};

use atelya::llm::{Exchange, FunctionCall, LanguageModel, ModelEvent, ToolBrief};
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::{
    helpers::*,
    mcp_fixture,
    openai_provider::{fake, model, request, stream, Fake, Reply},
    rooms::*,
};

/// The SQLite and the PostgreSQL test of a scenario taking its backend.
macro_rules! on_both_databases {
    ($scenario:ident, $sqlite:ident, $postgres:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            $scenario(Backend::Sqlite).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set")]
        async fn $postgres() {
            if let Some(backend) = Backend::postgres() {
                $scenario(backend).await;
            }
        }
    };
}

const TASKS: &str = "query($id: ID!) { workroom(id: $id) { state creditsSpent
    tasks { id title kind state output toolCalls { tool arguments state result creditsUsed } }
    deliverables { content } } }";

fn calls(list: &[(&str, &str, Value)]) -> Reply {
    Reply::Calls(
        list.iter()
            .map(|(id, name, arguments)| (id.to_string(), name.to_string(), arguments.to_string()))
            .collect(),
    )
}

/// The request the fake got at `index`.
fn sent(fake: &Fake, index: usize) -> Value {
    fake.requests.lock().unwrap()[index].1.clone()
}

fn function_names(request: &Value) -> Vec<String> {
    request["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .map(|t| t["function"]["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn calls_stream_in_pieces_and_earlier_rounds_are_replayed_as_tool_messages() {
    let (fake, base) = fake(vec![calls(&[
        (
            "call_1",
            "web_fetch",
            json!({ "url": "https://example.com/a" }),
        ),
        ("call_2", "nobody_knows", json!({})),
    ])])
    .await;
    let mut asking = request(64);
    asking.functions = vec![ToolBrief {
        name: "web.fetch".into(),
        description: "Fetches a page.".into(),
        input_schema: json!({ "type": "object", "properties": { "url": { "type": "string" } } }),
        read_only: true,
    }];
    let mut events = model(&base).stream(asking.clone());
    let mut seen = Vec::new();
    while let Some(event) = events.next().await {
        seen.push(event.unwrap());
    }
    let asked = |id: &str, name: &str, arguments: Value| {
        ModelEvent::ToolCall(FunctionCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.to_string(),
        })
    };
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(
        seen[0],
        asked(
            "call_1",
            "web.fetch",
            json!({ "url": "https://example.com/a" })
        ),
        "the function's name maps back to the tool's"
    );
    assert_eq!(seen[1], asked("call_2", "nobody_knows", json!({})));
    assert!(matches!(seen[2], ModelEvent::Done(_)));
    let body = sent(&fake, 0);
    assert_eq!(function_names(&body), ["web_fetch"]);
    assert_eq!(
        body["tools"][0]["function"]["parameters"]["properties"]["url"]["type"],
        "string"
    );

    // The next round carries the calls and their answers.
    let (fake, base) = fake_answering("Done.").await;
    asking.exchanges = vec![Exchange {
        text: String::new(),
        calls: vec![(
            FunctionCall {
                id: "call_1".into(),
                name: "web.fetch".into(),
                arguments: "{\"url\":\"https://example.com/a\"}".into(),
            },
            "Example Domain".into(),
        )],
    }];
    let mut events = model(&base).stream(asking);
    while events.next().await.is_some() {}
    let messages = sent(&fake, 0)["messages"].clone();
    assert_eq!(messages.as_array().unwrap().len(), 4, "{messages}");
    assert_eq!(messages[2]["role"], "assistant");
    assert_eq!(messages[2]["tool_calls"][0]["id"], "call_1");
    assert_eq!(
        messages[2]["tool_calls"][0]["function"]["name"],
        "web_fetch"
    );
    assert_eq!(
        messages[3],
        json!({ "role": "tool", "tool_call_id": "call_1", "content": "Example Domain" })
    );
}

async fn fake_answering(text: &str) -> (Arc<Fake>, String) {
    fake(vec![stream(&[text], Some((5, 2)))]).await
}

/// The Planner answers with this plan; everything after the script with a short text.
fn script(fake: &Fake, plan: Value, rounds: Vec<Reply>) {
    let mut script = fake.script.lock().unwrap();
    script.push_back(stream(&[&plan.to_string()], Some((40, 20))));
    script.extend(rounds);
    *fake.fallback.lock().unwrap() = Some(stream(&["The ", "deliverable."], Some((50, 2))));
}

fn research_then_compose() -> Value {
    json!({ "tasks": [
        { "key": "research", "title": "Research the client", "kind": "AGENT", "dependsOn": [] },
        { "key": "compose", "title": "Write it", "kind": "COMPOSE", "dependsOn": ["research"] },
    ] })
}

async fn an_agent_calls_read_only_tools_within_the_limit(backend: Backend) {
    let crm = mcp_fixture::start(mcp_fixture::Access::Open).await;
    let (fake, base) = fake(vec![]).await;
    script(
        &fake,
        research_then_compose(),
        vec![
            calls(&[
                (
                    "c1",
                    "workroom_read_source",
                    json!({ "source": "Client brief" }),
                ),
                (
                    "c2",
                    "crm_send_report",
                    json!({ "client": "Northwind", "body": "hi" }),
                ),
                ("c3", "crm_lookup", json!({ "client": "Northwind" })),
                (
                    "c4",
                    "workspace_search_deliverables",
                    json!({ "query": "proposal" }),
                ),
            ]),
            stream(&["Northwind ", "wants three posts a week."], Some((60, 6))),
        ],
    );
    let model: Arc<dyn LanguageModel> = Arc::new(model(&base));
    let app = spawn_app_with_model(
        backend,
        Box::new(|config| {
            config.webhook_allow_private = true;
            config.tools.max_tool_calls_per_task = 3;
        }),
        Some(model),
    )
    .await;
    let ann = app.signup("ann@example.com", "Acme").await;
    let connect = "mutation($input: McpServerInput!) { connectMcpServer(input: $input) { id } }";
    app.ok(
        Some(&ann.token),
        connect,
        json!({ "input": { "name": "crm", "url": crm.url } }),
    )
    .await;

    let id = app.create_workroom(&ann.token, input("Q3 proposal")).await;
    app.wait_for(&ann.token, &id, &["COMPLETED"]).await;

    // Offered: the read-only tools, never one with side effects.
    let first_round = sent(&fake, 1);
    let offered = function_names(&first_round);
    for name in [
        "workspace_search_deliverables",
        "workroom_read_source",
        "crm_lookup",
    ] {
        assert!(offered.contains(&name.to_owned()), "{name} in {offered:?}");
    }
    assert!(
        !offered.contains(&"crm_send_report".to_owned()),
        "{offered:?}"
    );

    // The second round has every answer, and no tools: the limit is reached.
    let second_round = sent(&fake, 2);
    assert!(second_round.get("tools").is_none(), "{second_round}");
    let messages = second_round["messages"].as_array().unwrap();
    let answer = |id: &str| {
        messages
            .iter()
            .find(|m| m["role"] == "tool" && m["tool_call_id"] == id)
            .unwrap_or_else(|| panic!("no answer to {id}: {messages:?}"))["content"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        answer("c1").contains("three posts a week"),
        "{}",
        answer("c1")
    );
    assert!(
        answer("c2").starts_with("error: crm_send_report is not a tool"),
        "{}",
        answer("c2")
    );
    assert!(answer("c3").contains("Northwind"), "{}", answer("c3"));
    assert!(
        answer("c4").contains("at most 3 tool calls"),
        "{}",
        answer("c4")
    );
    assert_eq!(
        crm.shared.sends.load(Ordering::SeqCst),
        0,
        "the destructive tool never ran"
    );
    assert_eq!(crm.shared.calls_of("lookup").len(), 1);

    let room = app.ok(Some(&ann.token), TASKS, json!({ "id": id })).await["workroom"].clone();
    let research = room["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "AGENT")
        .unwrap()
        .clone();
    assert_eq!(research["output"], "Northwind wants three posts a week.");
    let made: Vec<(&str, &str)> = research["toolCalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["tool"].as_str().unwrap(), c["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        made,
        [
            ("workroom.read_source", "COMPLETED"),
            ("crm.lookup", "COMPLETED")
        ],
        "made: the calls that passed; refused ones are not calls"
    );
    for call in research["toolCalls"].as_array().unwrap() {
        assert_eq!(call["creditsUsed"], 1, "each call charged once: {call}");
    }

    let events = app.history(&ann.token, &id).await;
    let kinds = |kind: &str| events.iter().filter(|e| e["kind"] == kind).count();
    assert_eq!(kinds("TOOL_CALL_STARTED"), 2);
    assert_eq!(kinds("TOOL_CALL_FINISHED"), 2);
    let query = "{ workspace { activity(filter: { action: \"tool.called\" }, first: 10) { nodes { metadata } } } }";
    let logged = app.ok(Some(&ann.token), query, json!({})).await;
    assert_eq!(
        logged["workspace"]["activity"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{logged}"
    );
    // The research feeds the Composer.
    let compose = sent(&fake, 3);
    let prompt = compose["messages"][1]["content"].as_str().unwrap();
    assert!(prompt.contains("wants three posts a week"), "{prompt}");
}

on_both_databases!(
    an_agent_calls_read_only_tools_within_the_limit,
    an_agent_calls_read_only_tools_within_the_limit_sqlite,
    an_agent_calls_read_only_tools_within_the_limit_postgres
);

async fn a_planned_source_read_reaches_the_composer(backend: Backend) {
    let (fake, base) = fake(vec![]).await;
    let plan = json!({ "tasks": [
        { "key": "read", "title": "Read the brief", "kind": "TOOL", "tool": "workroom.read_source",
          "arguments": { "source": "Client brief" }, "dependsOn": [] },
        { "key": "compose", "title": "Write it", "kind": "COMPOSE", "dependsOn": ["read"] },
    ] });
    script(&fake, plan, vec![]);
    let model: Arc<dyn LanguageModel> = Arc::new(model(&base));
    let app = spawn_app_with_model(backend, Box::new(|_| {}), Some(model)).await;
    let ann = app.signup("ann@example.com", "Acme").await;

    let id = app.create_workroom(&ann.token, input("Q3 proposal")).await;
    let room = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;

    let read = room["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "TOOL")
        .unwrap();
    let output = read["output"].as_str().unwrap();
    assert!(output.contains("Northwind sells outdoor gear"), "{output}");
    let compose = sent(&fake, 1);
    let prompt = compose["messages"][1]["content"].as_str().unwrap();
    assert!(
        prompt.contains("the result of the tool workroom.read_source"),
        "the prompt says where the text came from: {prompt}"
    );
    assert!(prompt.contains("three posts a week"), "{prompt}");
}

on_both_databases!(
    a_planned_source_read_reaches_the_composer,
    a_planned_source_read_reaches_the_composer_sqlite,
    a_planned_source_read_reaches_the_composer_postgres
);
