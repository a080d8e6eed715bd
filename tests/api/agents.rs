//! Custom agents, and the AGENT task each gets in a workroom's plan.

use serde_json::{json, Value};

use crate::{helpers::*, rooms::*};

const CREATE: &str = "mutation($input: AgentInput!) { createAgent(input: $input) { id kind name description instructions clientName createdBy { id } } }";
const UPDATE: &str = "mutation($id: ID!, $input: AgentInput!) { updateAgent(id: $id, input: $input) { id name instructions } }";
const DELETE: &str = "mutation($id: ID!) { deleteAgent(id: $id) }";
const LIST: &str = "{ workspace { agents { id kind name } } }";

fn agent(name: &str) -> Value {
    json!({ "name": name, "instructions": format!("You write as {name} for outdoor brands."), "clientName": "Northwind" })
}

async fn names(app: &TestApp, token: &str) -> Vec<String> {
    let data = app.ok(Some(token), LIST, json!({})).await;
    data["workspace"]["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect()
}

db_test! {
    async fn every_workspace_has_a_planner_and_a_composer(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let data = app.ok(Some(&ann.token), LIST, json!({})).await;
        let kinds: Vec<&str> = data["workspace"]["agents"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["PLANNER", "COMPOSER"]);
    }
}

db_test! {
    async fn a_member_creates_edits_and_deletes_a_custom_agent(app);
    {
        let (owner, team) = app.team(&["MEMBER"]).await;
        let member = &team[0];
        let created = app.ok(Some(&member.token), CREATE, json!({ "input": agent("Copywriter") })).await["createAgent"].clone();
        assert_eq!(created["kind"], "CUSTOM");
        assert_eq!(created["clientName"], "Northwind");
        assert_eq!(created["createdBy"]["id"], member.user_id.as_str());
        let id = created["id"].as_str().unwrap();
        let updated = app.ok(Some(&owner.token), UPDATE, json!({ "id": id, "input": agent("Senior copywriter") })).await;
        assert_eq!(updated["updateAgent"]["name"], "Senior copywriter");
        assert_eq!(names(&app, &owner.token).await, ["Planner", "Composer", "Senior copywriter"]);
        assert_eq!(app.ok(Some(&member.token), DELETE, json!({ "id": id })).await["deleteAgent"], true);
        assert_eq!(names(&app, &owner.token).await, ["Planner", "Composer"]);
        assert_eq!(code(&app.gql(Some(&member.token), DELETE, json!({ "id": id })).await), "NOT_FOUND");
        let actions = app.ok(Some(&owner.token), "{ workspace { activity(filter: { targetType: \"Agent\" }) { nodes { action } } } }", json!({})).await;
        let actions: Vec<&str> = actions["workspace"]["activity"]["nodes"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["agent.deleted", "agent.updated", "agent.created"]);
    }
}

db_test! {
    async fn viewers_system_agents_bad_input_and_other_workspaces_are_refused(app);
    {
        let (owner, team) = app.team(&["VIEWER"]).await;
        assert_eq!(code(&app.gql(Some(&team[0].token), CREATE, json!({ "input": agent("Nope") })).await), "FORBIDDEN");
        for bad in [json!({ "name": " ", "instructions": "x" }), json!({ "name": "A", "instructions": "" }), json!({ "name": "n".repeat(201), "instructions": "x" })] {
            assert_eq!(code(&app.gql(Some(&owner.token), CREATE, json!({ "input": bad })).await), "BAD_USER_INPUT");
        }
        assert_eq!(names(&app, &owner.token).await, ["Planner", "Composer"], "nothing was created");
        let planner = app.ok(Some(&owner.token), LIST, json!({})).await["workspace"]["agents"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(code(&app.gql(Some(&owner.token), DELETE, json!({ "id": planner })).await), "CONFLICT");
        let bob = app.signup("bob@example.com", "Bobs").await;
        let theirs = app.ok(Some(&bob.token), CREATE, json!({ "input": agent("Theirs") })).await["createAgent"]["id"].as_str().unwrap().to_owned();
        assert_eq!(code(&app.gql(Some(&owner.token), UPDATE, json!({ "id": theirs, "input": agent("Mine") })).await), "NOT_FOUND");
        let mut with_theirs = input("Borrowed agent");
        with_theirs["agentIds"] = json!([theirs]);
        assert_eq!(code(&app.gql(Some(&owner.token), CREATE_ROOM, json!({ "input": with_theirs })).await), "NOT_FOUND");
    }
}

const CREATE_ROOM: &str =
    "mutation($input: CreateWorkroomInput!) { createWorkroom(input: $input) { id } }";

db_test! {
    async fn each_custom_agent_of_a_workroom_gets_its_task_and_its_bill(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let mut ids = Vec::new();
        for name in ["Copywriter", "Strategist"] {
            ids.push(app.ok(Some(&ann.token), CREATE, json!({ "input": agent(name) })).await["createAgent"]["id"].as_str().unwrap().to_owned());
        }
        let mut with_agents = input("With agents");
        with_agents["agentIds"] = json!(ids);
        let id = app.create_workroom(&ann.token, with_agents).await;
        app.wait_for(&ann.token, &id, &["COMPLETED"]).await;
        let query = "query($id: ID!) { workroom(id: $id) { agents { name } tasks { kind state agent { id name } output } } }";
        let room = app.ok(Some(&ann.token), query, json!({ "id": id })).await["workroom"].clone();
        assert_eq!(room["agents"], json!([{ "name": "Copywriter" }, { "name": "Strategist" }]));
        let agent_tasks: Vec<&Value> = room["tasks"].as_array().unwrap().iter().filter(|t| t["kind"] == "AGENT").collect();
        let by: Vec<&str> = agent_tasks.iter().map(|t| t["agent"]["id"].as_str().unwrap()).collect();
        assert_eq!(by, ids.iter().map(String::as_str).collect::<Vec<_>>(), "one task per agent, in order");
        assert!(agent_tasks.iter().all(|t| t["state"] == "COMPLETED" && t["output"].as_str().is_some_and(|o| !o.is_empty())));
        let usage = app.ok(Some(&ann.token), "{ workspace { creditUsage(groupBy: AGENT) { key label tasks } } }", json!({})).await;
        let labels: Vec<&str> = usage["workspace"]["creditUsage"].as_array().unwrap().iter().map(|b| b["label"].as_str().unwrap()).collect();
        for name in ["Planner", "Composer", "Copywriter", "Strategist"] {
            assert!(labels.contains(&name), "{name} is billed: {labels:?}");
        }
    }
}
