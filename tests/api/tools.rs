//! Tools: the workspace's registry (built-in tools and MCP servers'),
//! policies, MCP servers connected as integrations, TOOL tasks planned and
//! run by the engine, approvals of tool calls, and rejections that send a
//! workroom back to its Planner.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::{helpers::*, mcp_fixture, rooms::*};

const TOOLS: &str = "{ workspace { tools { name title description source integration { id } inputSchema readOnly requiresApproval enabled } } }";

const CONNECT: &str = "mutation($input: McpServerInput!) { connectMcpServer(input: $input) {
    id provider kind url status lastError checkedAt scopes
    tools { name source readOnly requiresApproval enabled } } }";

const REFRESH: &str = "mutation($id: ID!) { refreshIntegrationTools(id: $id) { id status lastError tools { name } } }";

const POLICY: &str = "mutation($input: ToolPolicyInput!) { setToolPolicy(input: $input) { name enabled requiresApproval readOnly } }";

const REJECT: &str = "mutation($t: ID!, $r: String!) { rejectApproval(taskId: $t, reason: $r) { id state rejectionReason allowedActions } }";

const GRANT: &str = "mutation($t: ID!) { grantApproval(taskId: $t) { id state allowedActions } }";

const TASKS: &str = "query($id: ID!) { workroom(id: $id) { state tasks { id title kind state output error rejectionReason allowedActions
    approval { requiredRole requiredApprovals grants { user { id } } }
    toolCalls { id tool arguments state result isError creditsUsed approval { requiredApprovals grants { user { id } } } startedAt finishedAt } } } }";

fn allow_private(config: &mut atelya::config::Config) {
    config.webhook_allow_private = true;
}

fn names(tools: &Value) -> Vec<String> {
    tools
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn connect(app: &TestApp, token: &str, name: &str, url: &str, access: Option<&str>) -> Value {
    let mut input = json!({ "name": name, "url": url });
    if let Some(access) = access {
        input["accessToken"] = json!(access);
    }
    app.gql(Some(token), CONNECT, json!({ "input": input }))
        .await
}

async fn set_policy(app: &TestApp, token: &str, name: &str, policy: Value) -> Value {
    let mut input = policy;
    input["name"] = json!(name);
    app.gql(Some(token), POLICY, json!({ "input": input }))
        .await
}

/// Disables every tool of the `crm` server but `keep`, so the built-in
/// Planner plans exactly the tools a test is about.
async fn keep_only(app: &TestApp, token: &str, keep: &[&str]) {
    for tool in [
        "lookup",
        "send_report",
        "slow_lookup",
        "broken_lookup",
        "huge_lookup",
        "change_tools",
    ] {
        if !keep.contains(&tool) {
            let body = set_policy(
                app,
                token,
                &format!("crm.{tool}"),
                json!({ "enabled": false }),
            )
            .await;
            assert!(body.get("errors").is_none(), "{body}");
        }
    }
}

fn room_input(title: &str, label: &str) -> Value {
    let mut input = input(title);
    input["deliverables"] = json!([label]);
    input
}

async fn tasks(app: &TestApp, token: &str, id: &str) -> Value {
    app.ok(Some(token), TASKS, json!({ "id": id })).await["workroom"].clone()
}

fn task_of<'a>(room: &'a Value, kind: &str) -> &'a Value {
    room["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} task in {room}"))
}

/// Grants the approval the workroom's TOOL task waits for, as `token`.
async fn grant_tool(app: &TestApp, token: &str, room: &Value) {
    let body = app
        .gql(
            Some(token),
            GRANT,
            json!({ "t": task_of(room, "TOOL")["id"] }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
}

async fn activity(app: &TestApp, token: &str, action: &str) -> Vec<Value> {
    let query = "query($a: String) { workspace { activity(filter: { action: $a }, first: 100) { nodes { action actor { id } targetId metadata summary } } } }";
    app.ok(Some(token), query, json!({ "a": action })).await["workspace"]["activity"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

db_test! {
    async fn the_built_in_tools_are_listed_to_every_role_and_only_owners_and_admins_set_policy(app);
    {
        let (owner, team) = app.team(&["ADMIN", "MEMBER", "VIEWER"]).await;
        let (admin, member, viewer) = (&team[0], &team[1], &team[2]);
        for account in [&owner, admin, member, viewer] {
            let tools = app.ok(Some(&account.token), TOOLS, json!({})).await;
            assert_eq!(
                names(&tools["workspace"]["tools"]),
                ["workspace.search_deliverables", "workroom.read_source"],
                "web.fetch is off unless ATELYA_TOOLS_WEB is set"
            );
        }
        let tools = app.ok(Some(&member.token), TOOLS, json!({})).await;
        let search = &tools["workspace"]["tools"][0];
        assert_eq!(search["source"], "BUILTIN");
        assert_eq!(search["readOnly"], true);
        assert_eq!(search["requiresApproval"], false);
        assert_eq!(search["inputSchema"]["required"], json!(["query"]));

        for account in [member, viewer] {
            let body = set_policy(&app, &account.token, "workroom.read_source", json!({ "enabled": false })).await;
            assert_eq!(code(&body), "FORBIDDEN", "{body}");
        }
        let body = set_policy(&app, &admin.token, "nobody.nothing", json!({ "enabled": false })).await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
        let body = set_policy(&app, &admin.token, "workroom.read_source", json!({})).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert!(activity(&app, &owner.token, "tool.policy_changed").await.is_empty(), "refusals change nothing");

        let body = set_policy(&app, &admin.token, "workroom.read_source", json!({ "enabled": false, "requiresApproval": true })).await;
        assert_eq!(body["data"]["setToolPolicy"], json!({ "name": "workroom.read_source", "enabled": false, "requiresApproval": true, "readOnly": true }));
        let tools = app.ok(Some(&viewer.token), TOOLS, json!({})).await;
        assert_eq!(tools["workspace"]["tools"][1]["enabled"], false);
        let logged = activity(&app, &owner.token, "tool.policy_changed").await;
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0]["metadata"]["tool"], "workroom.read_source");
        assert_eq!(logged[0]["metadata"]["enabled"], false);
    }
}

db_test! {
    async fn an_mcp_server_is_connected_with_its_paginated_tools_and_only_by_owners_and_admins(app) with allow_private;
    {
        let server = mcp_fixture::start(mcp_fixture::Access::Open).await;
        let (owner, team) = app.team(&["MEMBER", "VIEWER"]).await;
        for account in &team {
            let body = connect(&app, &account.token, "crm", &server.url, None).await;
            assert_eq!(code(&body), "FORBIDDEN", "{body}");
        }
        let body = connect(&app, &owner.token, "crm", &server.url, None).await;
        let crm = &body["data"]["connectMcpServer"];
        assert_eq!(crm["kind"], "MCP", "{body}");
        assert_eq!(crm["provider"], "crm");
        assert_eq!(crm["url"], server.url.as_str());
        assert_eq!(crm["status"], "CONNECTED");
        assert!(crm["checkedAt"].is_string());
        assert_eq!(
            names(&crm["tools"]),
            ["crm.lookup", "crm.send_report", "crm.slow_lookup", "crm.broken_lookup", "crm.huge_lookup", "crm.change_tools"],
            "every page of the list is read"
        );
        let send = &crm["tools"][1];
        assert_eq!(send["readOnly"], false);
        assert_eq!(send["requiresApproval"], true, "a tool that is not read-only asks first");
        assert_eq!(crm["tools"][0]["requiresApproval"], false);

        // Members see the workspace's tools, built-in first; another workspace sees none of them.
        let tools = app.ok(Some(&team[0].token), TOOLS, json!({})).await;
        let listed = names(&tools["workspace"]["tools"]);
        assert_eq!(listed.len(), 8);
        assert_eq!(&listed[..2], ["workspace.search_deliverables", "workroom.read_source"]);
        assert_eq!(tools["workspace"]["tools"][2]["source"], "MCP");
        let stranger = app.signup("stranger@example.com", "Elsewhere").await;
        let theirs = app.ok(Some(&stranger.token), TOOLS, json!({})).await;
        assert_eq!(names(&theirs["workspace"]["tools"]).len(), 2);
        let body = set_policy(&app, &stranger.token, "crm.lookup", json!({ "enabled": false })).await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");

        let logged = activity(&app, &owner.token, "integration.connected").await;
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0]["metadata"]["kind"], "MCP");
    }
}

db_test! {
    async fn a_server_that_cannot_be_used_is_bad_user_input_and_nothing_is_stored(app) with allow_private;
    {
        let owner = app.signup("ann@example.com", "Acme").await;
        let garbage = mcp_fixture::start_garbage().await;
        let body = connect(&app, &owner.token, "junk", &garbage.url, None).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");

        let locked = mcp_fixture::start(mcp_fixture::Access::Bearer("s3cret-token-4242")).await;
        let body = connect(&app, &owner.token, "locked", &locked.url, None).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        let body = connect(&app, &owner.token, "locked", &locked.url, Some("wrong")).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        for bad in [json!({ "name": "Bad Name", "url": locked.url }), json!({ "name": "ok", "url": "ftp://example.com/mcp" })] {
            let body = app.gql(Some(&owner.token), CONNECT, json!({ "input": bad })).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        }
        let listed = app.ok(Some(&owner.token), "{ workspace { integrations { id } } }", json!({})).await;
        assert_eq!(listed["workspace"]["integrations"], json!([]), "nothing was stored");
        assert!(activity(&app, &owner.token, "integration.connected").await.is_empty());

        let body = connect(&app, &owner.token, "locked", &locked.url, Some("s3cret-token-4242")).await;
        assert_eq!(body["data"]["connectMcpServer"]["status"], "CONNECTED", "{body}");
        let id = body["data"]["connectMcpServer"]["id"].as_str().unwrap().to_owned();
        // The token is sealed at rest.
        let (_, uuid) = atelya::ids::decode_any(&id).unwrap();
        let row = {
            use sea_orm::EntityTrait;
            entity::integration::Entity::find_by_id(uuid).one(app.state.db.conn()).await.unwrap().unwrap()
        };
        let sealed = String::from_utf8_lossy(&row.sealed_access_token).into_owned();
        assert!(!sealed.contains("s3cret-token-4242"));

        // The server goes away: a refresh records the failure and keeps the tools.
        drop(locked);
        let body = app.gql(Some(&owner.token), REFRESH, json!({ "id": id })).await;
        let refreshed = &body["data"]["refreshIntegrationTools"];
        assert_eq!(refreshed["status"], "FAILING", "{body}");
        assert!(refreshed["lastError"].as_str().is_some_and(|e| !e.contains("s3cret")), "{body}");
        assert_eq!(names(&refreshed["tools"]).len(), 6);
    }
}

db_test! {
    async fn a_read_only_mcp_tool_is_planned_called_once_and_its_result_feeds_the_deliverable(app) with allow_private;
    {
        let server = mcp_fixture::start(mcp_fixture::Access::Open).await;
        let owner = app.signup("ann@example.com", "Acme").await;
        let body = connect(&app, &owner.token, "crm", &server.url, None).await;
        assert!(body.get("errors").is_none(), "{body}");
        keep_only(&app, &owner.token, &["lookup"]).await;

        let id = app.create_workroom(&owner.token, room_input("Northwind record", "Client record")).await;
        let room = app.wait_for(&owner.token, &id, &["COMPLETED", "FAILED"]).await;
        assert_eq!(room["state"], "COMPLETED", "{room}");

        let room = tasks(&app, &owner.token, &id).await;
        let tool = task_of(&room, "TOOL");
        assert_eq!(tool["state"], "COMPLETED", "{room}");
        assert_eq!(tool["title"], "Call crm.lookup for Client record");
        let calls = tool["toolCalls"].as_array().unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0]["tool"], "crm.lookup");
        assert_eq!(calls[0]["state"], "COMPLETED");
        assert_eq!(calls[0]["creditsUsed"], 1);
        assert_eq!(calls[0]["approval"], Value::Null, "a read-only tool asks no one");
        let result = calls[0]["result"].as_str().unwrap();
        assert!(result.contains("12 stores"), "{result}");
        assert_eq!(tool["output"], result);
        assert_eq!(server.shared.calls_of("lookup").len(), 1, "called once");
        assert!(task_of(&room, "AGENT")["output"].as_str().unwrap().contains("12 stores"), "{room}");

        let events = app.history(&owner.token, &id).await;
        let started = events.iter().find(|e| e["kind"] == "TOOL_CALL_STARTED").unwrap();
        assert_eq!(started["data"]["tool"], "crm.lookup");
        assert_eq!(started["data"]["callId"], calls[0]["id"]);
        assert_eq!(started["taskId"], tool["id"]);
        let finished = events.iter().find(|e| e["kind"] == "TOOL_CALL_FINISHED").unwrap();
        assert_eq!(finished["data"]["state"], "COMPLETED");
        assert_eq!(finished["text"], result);
        assert!(started["seq"].as_i64() < finished["seq"].as_i64());

        let logged = activity(&app, &owner.token, "tool.called").await;
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0]["metadata"]["tool"], "crm.lookup");
        assert_eq!(logged[0]["metadata"]["state"], "COMPLETED");
        assert!(!logged[0]["metadata"].to_string().contains("12 stores"), "never the result");
    }
}

db_test! {
    async fn a_destructive_tool_waits_for_a_grant_and_runs_once_after_it(app) with allow_private;
    {
        let server = mcp_fixture::start(mcp_fixture::Access::Open).await;
        let (owner, team) = app.team(&["MEMBER", "VIEWER"]).await;
        let (member, viewer) = (&team[0], &team[1]);
        connect(&app, &owner.token, "crm", &server.url, None).await;
        keep_only(&app, &owner.token, &["send_report"]).await;

        let id = app.create_workroom(&owner.token, room_input("Weekly", "Weekly report")).await;
        let events = app.wait_for_event(&owner.token, &id, "APPROVAL_REQUESTED").await;
        app.assert_quiet(&owner.token, &id).await;
        assert_eq!(server.shared.sends.load(Ordering::SeqCst), 0, "nothing is sent before a grant");
        let requested = events.iter().find(|e| e["kind"] == "APPROVAL_REQUESTED").unwrap();
        assert_eq!(requested["data"]["tool"], "crm.send_report");
        assert_eq!(requested["data"]["requiredRole"], "MEMBER");
        assert!(requested["data"]["arguments"]["client"].is_string(), "{requested}");

        let room = tasks(&app, &member.token, &id).await;
        let tool = task_of(&room, "TOOL");
        assert_eq!(tool["state"], "AWAITING_APPROVAL");
        assert_eq!(tool["allowedActions"], json!(["GRANT_APPROVAL", "REJECT_APPROVAL"]));
        assert_eq!(tool["toolCalls"][0]["state"], "AWAITING_APPROVAL");
        assert_eq!(tool["toolCalls"][0]["approval"]["requiredApprovals"], 1);
        let viewers = tasks(&app, &viewer.token, &id).await;
        assert_eq!(task_of(&viewers, "TOOL")["allowedActions"], json!([]));
        let body = app.gql(Some(&viewer.token), GRANT, json!({ "t": tool["id"] })).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");

        let body = app.gql(Some(&member.token), GRANT, json!({ "t": tool["id"] })).await;
        assert!(body.get("errors").is_none(), "{body}");
        let room = app.wait_for(&owner.token, &id, &["COMPLETED", "FAILED"]).await;
        assert_eq!(room["state"], "COMPLETED", "{room}");
        assert_eq!(server.shared.sends.load(Ordering::SeqCst), 1, "sent once");
        let room = tasks(&app, &owner.token, &id).await;
        let calls = task_of(&room, "TOOL")["toolCalls"].as_array().unwrap().clone();
        assert_eq!(calls.len(), 1, "the approved call is the one made");
        assert_eq!(calls[0]["state"], "COMPLETED");
        assert_eq!(calls[0]["approval"]["grants"][0]["user"]["id"], member.user_id.as_str());
    }
}

db_test! {
    async fn a_rejected_tool_call_is_never_made_and_the_workroom_replans_without_it(app) with allow_private;
    {
        let server = mcp_fixture::start(mcp_fixture::Access::Open).await;
        let (owner, team) = app.team(&["MEMBER"]).await;
        connect(&app, &owner.token, "crm", &server.url, None).await;
        keep_only(&app, &owner.token, &["send_report"]).await;
        let balance = |data: Value| data["workspace"]["credits"]["balance"].as_i64().unwrap();
        let id = app.create_workroom(&owner.token, room_input("Weekly", "Weekly report")).await;
        app.wait_for_event(&owner.token, &id, "APPROVAL_REQUESTED").await;
        app.assert_quiet(&owner.token, &id).await;
        let before = balance(app.ok(Some(&owner.token), "{ workspace { credits { balance } } }", json!({})).await);
        let room = tasks(&app, &owner.token, &id).await;
        let tool_id = task_of(&room, "TOOL")["id"].clone();

        let body = app.gql(Some(&team[0].token), REJECT, json!({ "t": tool_id, "r": "Not before the client call on Friday" })).await;
        let rejected = &body["data"]["rejectApproval"];
        assert_eq!(rejected["state"], "REJECTED", "{body}");
        assert_eq!(rejected["rejectionReason"], "Not before the client call on Friday");
        assert_eq!(rejected["allowedActions"], json!([]));

        let room = app.wait_for(&owner.token, &id, &["COMPLETED", "FAILED"]).await;
        assert_eq!(room["state"], "COMPLETED", "{room}");
        assert_eq!(server.shared.sends.load(Ordering::SeqCst), 0, "the rejected call is never made");
        // The rejected task stays in the plan, REJECTED; the new round has no tool task.
        let shape: Vec<(&str, &str)> = room["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["kind"].as_str().unwrap(), t["state"].as_str().unwrap()))
            .collect();
        assert_eq!(shape, [("TOOL", "REJECTED"), ("AGENT", "COMPLETED"), ("COMPOSE", "COMPLETED")], "{room}");
        let agent = &room["tasks"][1];
        assert!(agent["title"].as_str().unwrap().contains("addressing a rejection: Not before the client call on Friday"), "{agent}");

        let events = app.history(&owner.token, &id).await;
        let rejection = events.iter().find(|e| e["kind"] == "APPROVAL_REJECTED").unwrap();
        assert_eq!(rejection["text"], "Not before the client call on Friday");
        assert_eq!(rejection["data"]["tool"], "crm.send_report");
        assert_eq!(rejection["taskId"], tool_id);
        assert!(rejection["actor"]["id"].is_string());
        let charges: Vec<&Value> = events
            .iter()
            .filter(|e| e["kind"] == "CREDITS_CHARGED" && e["data"]["attempt"].as_str().is_some_and(|a| a.starts_with("tool:")))
            .collect();
        assert!(charges.is_empty(), "no charge for a call that was rejected: {charges:?}");
        let logged = activity(&app, &owner.token, "approval.rejected").await;
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0]["metadata"]["reason"], "Not before the client call on Friday");
        let after = balance(app.ok(Some(&owner.token), "{ workspace { credits { balance } } }", json!({})).await);
        assert!(after < before, "the replanned run was charged for its model use");
    }
}

async fn tool_calls_of(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let room = tasks(app, token, id).await;
    task_of(&room, "TOOL")["toolCalls"]
        .as_array()
        .unwrap()
        .clone()
}

fn tool_charges(events: &[Value]) -> Vec<i64> {
    events
        .iter()
        .filter(|e| {
            e["kind"] == "CREDITS_CHARGED"
                && e["data"]["attempt"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("tool:"))
        })
        .map(|e| e["data"]["credits"].as_i64().unwrap())
        .collect()
}

db_test! {
    async fn pausing_during_a_call_drops_it_at_once_charges_it_once_and_resuming_calls_again(app) with allow_private;
    {
        let server = mcp_fixture::start(mcp_fixture::Access::Open).await;
        server.shared.slow_ms.store(20_000, Ordering::SeqCst);
        let owner = app.signup("ann@example.com", "Acme").await;
        connect(&app, &owner.token, "crm", &server.url, None).await;
        keep_only(&app, &owner.token, &["slow_lookup"]).await;
        let id = app.create_workroom(&owner.token, room_input("Slow", "Lookup summary")).await;
        app.wait_for_event(&owner.token, &id, "TOOL_CALL_STARTED").await;

        let paused_at = std::time::Instant::now();
        app.ok(Some(&owner.token), "mutation($id: ID!) { pauseWorkroom(id: $id) { state } }", json!({ "id": id })).await;
        let events = app.wait_for_event(&owner.token, &id, "TOOL_CALL_FINISHED").await;
        assert!(paused_at.elapsed() < std::time::Duration::from_secs(3), "the call is dropped at once, not after 20 s");
        let finished = events.iter().find(|e| e["kind"] == "TOOL_CALL_FINISHED").unwrap();
        assert_eq!(finished["data"]["state"], "FAILED");
        assert!(finished["text"].as_str().unwrap().starts_with("abandoned"), "{finished}");
        app.assert_quiet(&owner.token, &id).await;
        let calls = tool_calls_of(&app, &owner.token, &id).await;
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0]["creditsUsed"], 1, "charged once");
        assert_eq!(tool_charges(&app.history(&owner.token, &id).await), [1]);
        let room = tasks(&app, &owner.token, &id).await;
        assert_eq!(room["state"], "PAUSED");
        assert_eq!(task_of(&room, "TOOL")["state"], "PENDING", "it runs again on resume");

        server.shared.slow_ms.store(0, Ordering::SeqCst);
        app.ok(Some(&owner.token), "mutation($id: ID!) { resumeWorkroom(id: $id) { state } }", json!({ "id": id })).await;
        let room = app.wait_for(&owner.token, &id, &["COMPLETED", "FAILED"]).await;
        assert_eq!(room["state"], "COMPLETED", "{room}");
        let calls = tool_calls_of(&app, &owner.token, &id).await;
        let states: Vec<&str> = calls.iter().map(|c| c["state"].as_str().unwrap()).collect();
        assert_eq!(states, ["FAILED", "COMPLETED"]);
        assert_eq!(tool_charges(&app.history(&owner.token, &id).await), [1, 1], "each call charged once");
    }
}

db_test! {
    async fn an_error_answer_is_retried_for_a_read_only_tool_and_a_long_answer_is_cut(app) with allow_private;
    {
        let server = mcp_fixture::start(mcp_fixture::Access::Open).await;
        let owner = app.signup("ann@example.com", "Acme").await;
        connect(&app, &owner.token, "crm", &server.url, None).await;
        keep_only(&app, &owner.token, &["broken_lookup"]).await;
        let id = app.create_workroom(&owner.token, room_input("Broken", "Lookup summary")).await;
        let room = app.wait_for(&owner.token, &id, &["COMPLETED", "FAILED"]).await;
        assert_eq!(room["state"], "FAILED", "{room}");
        assert_eq!(room["stateReason"], "TASK_FAILED");
        let calls = tool_calls_of(&app, &owner.token, &id).await;
        assert_eq!(calls.len(), 3, "a read-only call is tried the task's attempts");
        assert!(calls.iter().all(|c| c["isError"] == true && c["state"] == "FAILED" && c["result"] == "the CRM is down"), "{calls:?}");
        assert_eq!(tool_charges(&app.history(&owner.token, &id).await), [1, 1, 1]);

        keep_only(&app, &owner.token, &["huge_lookup"]).await;
        set_policy(&app, &owner.token, "crm.huge_lookup", json!({ "enabled": true })).await;
        set_policy(&app, &owner.token, "crm.broken_lookup", json!({ "enabled": false })).await;
        let id = app.create_workroom(&owner.token, room_input("Huge", "Lookup summary")).await;
        let room = app.wait_for(&owner.token, &id, &["COMPLETED", "FAILED"]).await;
        assert_eq!(room["state"], "COMPLETED", "{room}");
        let calls = tool_calls_of(&app, &owner.token, &id).await;
        let result = calls[0]["result"].as_str().unwrap();
        assert!(result.len() <= 64 * 1024, "{}", result.len());
        assert!(result.ends_with("[cut: the result was longer]"));
        let events = app.history(&owner.token, &id).await;
        let finished = events.iter().find(|e| e["kind"] == "TOOL_CALL_FINISHED").unwrap();
        assert!(finished["text"].as_str().unwrap().len() <= 4 * 1024, "events carry 4 KiB at most");

        // An answer past the transport's bound is an error, never buffered whole.
        server.shared.huge.store(3 * 1024 * 1024, Ordering::SeqCst);
        let id = app.create_workroom(&owner.token, room_input("Huger", "Lookup summary")).await;
        let room = app.wait_for(&owner.token, &id, &["COMPLETED", "FAILED"]).await;
        assert_eq!(room["state"], "FAILED", "{room}");
        let calls = tool_calls_of(&app, &owner.token, &id).await;
        assert!(calls.iter().all(|c| c["state"] == "FAILED" && c["isError"] == false), "{calls:?}");
    }
}

db_test! {
    async fn a_server_that_changes_its_tools_updates_the_registry_and_a_vanished_tool_fails_its_task(app) with allow_private;
    {
        let server = mcp_fixture::start(mcp_fixture::Access::Open).await;
        let owner = app.signup("ann@example.com", "Acme").await;
        let body = connect(&app, &owner.token, "crm", &server.url, None).await;
        let crm = body["data"]["connectMcpServer"]["id"].clone();
        keep_only(&app, &owner.token, &["change_tools", "send_report"]).await;
        let body = set_policy(&app, &owner.token, "crm.change_tools", json!({ "requiresApproval": false })).await;
        assert_eq!(body["data"]["setToolPolicy"]["requiresApproval"], false, "{body}");

        // The plan calls change_tools, then asks to approve send_report.
        let id = app.create_workroom(&owner.token, room_input("Changing", "Report and tool list")).await;
        app.wait_for_event(&owner.token, &id, "APPROVAL_REQUESTED").await;
        assert!(server.shared.changed.load(Ordering::SeqCst));

        // The server announced the change on its open session: the registry follows.
        let (client, token) = (&app, owner.token.as_str());
        eventually(std::time::Duration::from_secs(10), move || async move {
            let tools = client.ok(Some(token), TOOLS, json!({})).await;
            let listed = names(&tools["workspace"]["tools"]);
            if listed.contains(&"crm.archive".to_owned()) && !listed.contains(&"crm.send_report".to_owned()) {
                return Ok(());
            }
            Err(format!("the change has not reached the registry: {listed:?}"))
        })
        .await;
        // A refresh reads the same list.
        let body = app.gql(Some(&owner.token), REFRESH, json!({ "id": crm })).await;
        let listed = names(&body["data"]["refreshIntegrationTools"]["tools"]);
        assert!(listed.contains(&"crm.archive".to_owned()), "{body}");
        assert!(!listed.contains(&"crm.send_report".to_owned()), "{body}");
        let tools = app.ok(Some(&owner.token), TOOLS, json!({})).await;
        assert!(!names(&tools["workspace"]["tools"]).contains(&"crm.send_report".to_owned()));

        // Granted now, the call of the vanished tool fails its task, clearly; nothing is sent.
        let room = tasks(&app, &owner.token, &id).await;
        let send = room["tasks"].as_array().unwrap().iter().find(|t| t["title"].as_str().unwrap().contains("send_report")).unwrap().clone();
        let body = app.gql(Some(&owner.token), GRANT, json!({ "t": send["id"] })).await;
        assert!(body.get("errors").is_none(), "{body}");
        let room = app.wait_for(&owner.token, &id, &["COMPLETED", "FAILED"]).await;
        assert_eq!(room["state"], "FAILED", "{room}");
        let room = tasks(&app, &owner.token, &id).await;
        let send = room["tasks"].as_array().unwrap().iter().find(|t| t["id"] == send["id"]).unwrap();
        assert_eq!(send["state"], "FAILED", "{room}");
        assert_eq!(send["error"], "the tool crm.send_report is no longer offered in this workspace");
        assert_eq!(server.shared.sends.load(Ordering::SeqCst), 0);
    }
}

/// Two instances on one database: the first is killed during a call, the
/// second takes the workroom over.
async fn killed_during_a_call(
    backend: Backend,
    tool: &str,
    label: &str,
) -> (
    Instance,
    TestDatabase,
    mcp_fixture::McpServer,
    Account,
    String,
) {
    let database = TestDatabase::create(backend).await;
    let server = mcp_fixture::start(mcp_fixture::Access::Open).await;
    server.shared.slow_ms.store(1_500, Ordering::SeqCst);
    server.shared.send_ms.store(1_500, Ordering::SeqCst);
    let config = |c: &mut atelya::config::Config| {
        c.lease_ttl = 1;
        c.webhook_allow_private = true;
    };
    let mut first = Instance::start(&database.url, config).await;
    let owner = first.app.signup("ann@example.com", "Acme").await;
    connect(&first.app, &owner.token, "crm", &server.url, None).await;
    keep_only(&first.app, &owner.token, &[tool]).await;
    let id = first
        .app
        .create_workroom(&owner.token, room_input("Crash", label))
        .await;
    if tool == "send_report" {
        first
            .app
            .wait_for_event(&owner.token, &id, "APPROVAL_REQUESTED")
            .await;
        let room = tasks(&first.app, &owner.token, &id).await;
        grant_tool(&first.app, &owner.token, &room).await;
    }
    first
        .app
        .wait_for_event(&owner.token, &id, "TOOL_CALL_STARTED")
        .await;
    // The request reaches the server, then the instance dies mid-call.
    let shared = &server.shared;
    eventually(std::time::Duration::from_secs(10), move || async move {
        match shared.calls_of(tool).is_empty() {
            true => Err("the call has not reached the server".to_owned()),
            false => Ok(()),
        }
    })
    .await;
    first.kill();
    let second = Instance::start(&database.url, config).await;
    (second, database, server, owner, id)
}

async fn a_destructive_call_cut_by_a_crash_waits_for_a_person(backend: Backend) {
    let (second, _database, server, owner, id) =
        killed_during_a_call(backend, "send_report", "Weekly report").await;
    let app = &second.app;
    let (token, room_id) = (owner.token.as_str(), id.as_str());
    let waiting = eventually(std::time::Duration::from_secs(20), move || async move {
        let events = app.history(token, room_id).await;
        let unknown = events
            .iter()
            .any(|e| e["kind"] == "TOOL_CALL_FINISHED" && e["data"]["state"] == "OUTCOME_UNKNOWN");
        match events.last() {
            Some(last) if unknown && last["kind"] == "APPROVAL_REQUESTED" => Ok(events),
            _ => Err("the cut call is not waiting for a person yet".to_owned()),
        }
    })
    .await;
    let asked = waiting.last().unwrap();
    assert_eq!(asked["data"]["callState"], "OUTCOME_UNKNOWN");
    assert_eq!(asked["data"]["tool"], "crm.send_report");
    // The cut request finishes on the server; nothing calls it again.
    let shared = &server.shared;
    eventually(std::time::Duration::from_secs(10), move || async move {
        match shared.sends.load(std::sync::atomic::Ordering::SeqCst) {
            0 => Err("the cut request has not finished on the server".to_owned()),
            _ => Ok(()),
        }
    })
    .await;
    app.assert_quiet(&owner.token, &id).await;
    assert_eq!(
        server.shared.calls_of("send_report").len(),
        1,
        "never called twice without a person"
    );
    let calls = tool_calls_of(app, &owner.token, &id).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["state"], "OUTCOME_UNKNOWN");
    assert_eq!(
        calls[0]["creditsUsed"], 1,
        "the call was made: charged once"
    );
    let room = tasks(app, &owner.token, &id).await;
    assert_eq!(task_of(&room, "TOOL")["state"], "AWAITING_APPROVAL");
    assert_eq!(
        task_of(&room, "TOOL")["allowedActions"],
        json!(["GRANT_APPROVAL", "REJECT_APPROVAL"])
    );

    // A person decides: call again.
    grant_tool(app, &owner.token, &room).await;
    let room = app
        .wait_for(&owner.token, &id, &["COMPLETED", "FAILED"])
        .await;
    assert_eq!(room["state"], "COMPLETED", "{room}");
    assert_eq!(server.shared.calls_of("send_report").len(), 2);
    let calls = tool_calls_of(app, &owner.token, &id).await;
    let states: Vec<&str> = calls.iter().map(|c| c["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["OUTCOME_UNKNOWN", "COMPLETED"]);
    assert_eq!(tool_charges(&app.history(&owner.token, &id).await), [1, 1]);
}

async fn a_read_only_call_cut_by_a_crash_is_made_again(backend: Backend) {
    let (second, _database, server, owner, id) =
        killed_during_a_call(backend, "slow_lookup", "Lookup summary").await;
    let app = &second.app;
    let room = app
        .wait_for(&owner.token, &id, &["COMPLETED", "FAILED"])
        .await;
    assert_eq!(room["state"], "COMPLETED", "{room}");
    assert_eq!(server.shared.calls_of("slow_lookup").len(), 2);
    let calls = tool_calls_of(app, &owner.token, &id).await;
    let states: Vec<&str> = calls.iter().map(|c| c["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["FAILED", "COMPLETED"]);
    assert_eq!(
        calls[0]["creditsUsed"], 0,
        "the cut read-only call's hold is released"
    );
    assert_eq!(tool_charges(&app.history(&owner.token, &id).await), [1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destructive_call_cut_by_a_crash_waits_for_a_person_sqlite() {
    a_destructive_call_cut_by_a_crash_waits_for_a_person(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set")]
async fn a_destructive_call_cut_by_a_crash_waits_for_a_person_postgres() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    a_destructive_call_cut_by_a_crash_waits_for_a_person(backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_call_cut_by_a_crash_is_made_again_sqlite() {
    a_read_only_call_cut_by_a_crash_is_made_again(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set")]
async fn a_read_only_call_cut_by_a_crash_is_made_again_postgres() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    a_read_only_call_cut_by_a_crash_is_made_again(backend).await;
}

fn private_and_paced(c: &mut atelya::config::Config) {
    c.webhook_allow_private = true;
    c.engine.builtin_token_delay_ms = 2;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(postgres_tests, redis_tests)),
    ignore = "TEST_DATABASE_URL and TEST_REDIS_URL are not both set"
)]
async fn tool_call_events_reach_watchers_on_two_instances_in_order() {
    use crate::{scale_out::cluster, ws_client::*};
    let Some(redis) = crate::scale_out::services() else {
        return;
    };
    let cluster = cluster(redis, private_and_paced).await;
    let (a, b) = (&cluster.a.app, &cluster.b.app);
    let server = mcp_fixture::start(mcp_fixture::Access::Open).await;
    let (owner, members) = b.team(&["VIEWER"]).await;
    connect(b, &owner.token, "crm", &server.url, None).await;
    keep_only(b, &owner.token, &["send_report"]).await;
    let id = b
        .create_workroom(&owner.token, room_input("Across", "Weekly report"))
        .await;
    b.wait_for_event(&owner.token, &id, "APPROVAL_REQUESTED")
        .await;

    let mut on_a = Client::connect(a, &members[0].token).await;
    on_a.subscribe("w", WATCH, json!({ "w": id })).await;
    let mut on_b = Client::connect(b, &owner.token).await;
    on_b.subscribe("w", WATCH, json!({ "w": id })).await;
    let room = tasks(b, &owner.token, &id).await;
    grant_tool(a, &owner.token, &room).await;

    let seen_on_a = on_a.events_until("w", reached("COMPLETED")).await;
    let seen_on_b = on_b.events_until("w", reached("COMPLETED")).await;
    let history = b.history(&owner.token, &id).await;
    assert_eq!(
        seen_on_a, history,
        "A streamed the run B made, gap-free and in order"
    );
    assert_eq!(seen_on_b, history);
    let kinds: Vec<&str> = history
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    let started = kinds
        .iter()
        .position(|k| *k == "TOOL_CALL_STARTED")
        .expect("a call started");
    let finished = kinds
        .iter()
        .position(|k| *k == "TOOL_CALL_FINISHED")
        .expect("a call finished");
    assert!(started < finished);
    assert_eq!(server.shared.sends.load(Ordering::SeqCst), 1);
}

fn web_and_private(config: &mut atelya::config::Config) {
    config.webhook_allow_private = true;
    config.tools.web = true;
}

/// A page server on a loopback port: `/page` is HTML, `/binary` is not text.
async fn page_server() -> (String, tokio::task::JoinHandle<()>) {
    use axum::{http::header, routing::get, Router};
    let router = Router::new()
        .route(
            "/page",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    "<html><head><script>alert(1)</script></head><body><h1>Northwind trails</h1><p>Spring sale: <b>30%</b> off tents.</p></body></html>",
                )
            }),
        )
        .route("/binary", get(|| async { ([(header::CONTENT_TYPE, "image/png")], vec![0u8, 1, 2]) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (format!("http://{address}"), task)
}

db_test! {
    async fn web_fetch_reads_each_url_of_the_sources_as_text_and_search_finds_earlier_work(app) with web_and_private;
    {
        let (site, _pages) = page_server().await;
        let owner = app.signup("ann@example.com", "Acme").await;
        let tools = app.ok(Some(&owner.token), TOOLS, json!({})).await;
        assert!(names(&tools["workspace"]["tools"]).contains(&"web.fetch".to_owned()));

        let mut first = room_input("Trails", "Spring campaign");
        first["sources"] = json!([{ "kind": "BRIEF", "title": "Brief", "content": format!("Northwind sells outdoor gear. See {site}/page and {site}/binary.") }]);
        let id = app.create_workroom(&owner.token, first).await;
        let room = app.wait_for(&owner.token, &id, &["COMPLETED", "FAILED"]).await;
        let room_tasks = tasks(&app, &owner.token, &id).await;
        let fetches: Vec<&Value> = room_tasks["tasks"].as_array().unwrap().iter().filter(|t| t["kind"] == "TOOL").collect();
        assert_eq!(fetches.len(), 2, "{room_tasks}");
        let page = fetches[0]["toolCalls"][0].clone();
        assert_eq!(page["tool"], "web.fetch");
        assert_eq!(page["state"], "COMPLETED", "{page}");
        let text = page["result"].as_str().unwrap();
        assert!(text.contains("Northwind trails") && text.contains("30%"), "{text}");
        assert!(!text.contains("<b>") && !text.contains("alert(1)"), "HTML reduced to text: {text}");
        let binary = fetches[1]["toolCalls"][0].clone();
        assert!(binary["result"].as_str().unwrap().contains("not text"), "{binary}");
        // A read-only fetch that keeps failing fails its task after its attempts.
        assert_eq!(room["state"], "FAILED", "{room}");

        // An earlier completed workroom, then one whose goal refers back to it.
        let id = app.create_workroom(&owner.token, room_input("Kayaks", "Kayak launch plan")).await;
        app.wait_for(&owner.token, &id, &["COMPLETED"]).await;
        let mut again = room_input("Kayaks again", "Proposal");
        again["goal"] = json!("A kayak launch plan like our last one");
        let id = app.create_workroom(&owner.token, again).await;
        let room = app.wait_for(&owner.token, &id, &["COMPLETED", "FAILED"]).await;
        assert_eq!(room["state"], "COMPLETED", "{room}");
        let room_tasks = tasks(&app, &owner.token, &id).await;
        let search = task_of(&room_tasks, "TOOL");
        assert_eq!(search["toolCalls"][0]["tool"], "workspace.search_deliverables");
        let found = search["output"].as_str().unwrap();
        assert!(found.contains("## Kayak launch plan (workroom \"Kayaks\""), "{found}");
        assert!(!found.contains("Kayaks again"), "never the workroom's own deliverables: {found}");
    }
}
