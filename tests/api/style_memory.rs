//! Style Memory through the API: samples make versions with their history,
//! two agents taught different samples write visibly different
//! deliverables, and samples stay within their workspace.

use serde_json::{json, Value};

use crate::{helpers::*, rooms::*};

const ADD: &str = "mutation($a: ID!, $t: String!) { addStyleSample(agentId: $a, text: $t) { id \
    styleMemory { version summary traits sampleCount updatedAt history { version summary reason actor { id } createdAt } } } }";
const CREATE_AGENT: &str = "mutation($input: AgentInput!) { createAgent(input: $input) { id } }";

const FORMAL_BRITISH: &str = "We are delighted to present our proposal for the programme. \
    Our organisation has considered the behaviour of your customers with great care. \
    We shall therefore prioritise the centre of the high street, in keeping with our partnership. \
    We look forward to the next stage of our partnership.";
const CASUAL_AMERICAN: &str =
    "Hey, you're gonna love this! 🎉 Your customers will totally dig the new color scheme! \
    We'll optimize your favorite stuff, so you can relax. 🚀 You're gonna love this, trust us!";

async fn agent(app: &TestApp, token: &str, name: &str) -> String {
    let input = json!({ "name": name, "instructions": format!("Write as {name}.") });
    app.ok(Some(token), CREATE_AGENT, json!({ "input": input }))
        .await["createAgent"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn teach(app: &TestApp, token: &str, agent: &str, text: &str) -> Value {
    app.ok(Some(token), ADD, json!({ "a": agent, "t": text }))
        .await["addStyleSample"]["styleMemory"]
        .clone()
}

db_test! {
    async fn each_sample_makes_a_new_version_derived_from_all_samples_with_its_history(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let writer = agent(&app, &ann.token, "Copywriter").await;
        let before = app.ok(Some(&ann.token), "{ workspace { agents { name styleMemory { version } } } }", json!({})).await;
        assert!(before["workspace"]["agents"].as_array().unwrap().iter().all(|a| a["styleMemory"].is_null()));

        let first = teach(&app, &ann.token, &writer, FORMAL_BRITISH).await;
        let second = teach(&app, &ann.token, &writer, CASUAL_AMERICAN).await;

        assert_eq!((&first["version"], &first["sampleCount"]), (&json!(1), &json!(1)));
        assert_eq!(first["traits"]["register"], "formal");
        assert_eq!(first["traits"]["spelling"], "british");
        assert_eq!(first["traits"]["person"], "we");
        assert!(first["summary"].as_str().unwrap().starts_with("A formal voice, British spelling"), "{first}");
        assert_eq!((&second["version"], &second["sampleCount"]), (&json!(2), &json!(2)));
        assert!(second["traits"]["formality"].as_f64() < first["traits"]["formality"].as_f64(), "both samples count: {second}");
        let history = second["history"].as_array().unwrap();
        assert_eq!(history.iter().map(|v| v["version"].clone()).collect::<Vec<_>>(), [json!(2), json!(1)]);
        for version in history {
            assert_eq!(version["reason"], "sample added");
            assert_eq!(version["actor"]["id"], ann.user_id.as_str());
        }
        assert_eq!(history[1]["summary"], first["summary"]);
        let log = app.ok(Some(&ann.token), "{ workspace { activity(first: 2) { nodes { action targetId metadata } } } }", json!({})).await;
        let entries = log["workspace"]["activity"]["nodes"].as_array().unwrap();
        assert!(entries.iter().all(|e| e["action"] == "agent.style_memory_updated" && e["targetId"] == writer.as_str()));
        assert_eq!(entries[0]["metadata"]["version"], 2);
    }
}

/// The finished deliverable of a workroom run with `agent` alone.
async fn deliverable_by(app: &TestApp, token: &str, agent: &str) -> (String, String) {
    let mut room = input("Spring campaign");
    room["agentIds"] = json!([agent]);
    let id = app.create_workroom(token, room).await;
    let done = app.wait_for(token, &id, &["COMPLETED"]).await;
    let notes = done["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "AGENT")
        .unwrap()["output"]
        .as_str()
        .unwrap()
        .to_owned();
    (
        done["deliverables"][0]["content"]
            .as_str()
            .unwrap()
            .to_owned(),
        notes,
    )
}

db_test! {
    async fn two_agents_taught_different_samples_write_visibly_different_deliverables(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        app.change_plan(&ann.token, "PRO").await;
        let british = agent(&app, &ann.token, "Formal Brit").await;
        let american = agent(&app, &ann.token, "Casual Yank").await;
        let formal = teach(&app, &ann.token, &british, FORMAL_BRITISH).await;
        let casual = teach(&app, &ann.token, &american, CASUAL_AMERICAN).await;
        assert_ne!(formal["traits"], casual["traits"]);

        let (formal_text, formal_notes) = deliverable_by(&app, &ann.token, &british).await;
        let (casual_text, casual_notes) = deliverable_by(&app, &ann.token, &american).await;

        assert_ne!(formal_text, casual_text);
        assert!(formal_text.contains("We remain committed to “our partnership”"), "{formal_text}");
        assert!(formal_text.contains("_Written in Formal Brit's voice._"), "{formal_text}");
        assert!(!formal_text.contains('✨') && !formal_text.contains('🎉') && !formal_text.contains("!\n"), "{formal_text}");
        assert!(casual_text.lines().next().unwrap().ends_with('✨'), "{casual_text}");
        assert!(casual_text.contains("As we always say, “you're gonna love”! 🎉"), "{casual_text}");
        assert!(casual_text.contains("_Written in Casual Yank's voice._"), "{casual_text}");
        assert!(formal_notes.contains("Formal Brit's voice") && casual_notes.contains("Casual Yank's voice"), "the AGENT tasks write in their agent's voice too");
    }
}

db_test! {
    async fn samples_are_for_members_of_the_agents_workspace_and_bad_ones_change_nothing(app);
    {
        let (owner, team) = app.team(&["MEMBER", "VIEWER"]).await;
        let eve = app.signup("eve@example.com", "Elsewhere").await;
        let mine = agent(&app, &owner.token, "Copywriter").await;
        let theirs = agent(&app, &eve.token, "Their writer").await;
        let composer = app.ok(Some(&owner.token), "{ workspace { agents { id kind } } }", json!({})).await["workspace"]["agents"]
            .as_array().unwrap().iter().find(|a| a["kind"] == "COMPOSER").unwrap()["id"].clone();

        let refusals = [
            (&team[1].token, json!(mine), "A fine sample.".to_owned(), "FORBIDDEN"),
            (&owner.token, json!(theirs), "A fine sample.".to_owned(), "NOT_FOUND"),
            (&owner.token, composer, "A fine sample.".to_owned(), "CONFLICT"),
            (&owner.token, json!(mine), "   ".to_owned(), "BAD_USER_INPUT"),
            (&owner.token, json!(mine), "a".repeat(100_001), "BAD_USER_INPUT"),
        ];
        for (token, agent_id, text, expected) in refusals {
            let body = app.gql(Some(token), ADD, json!({ "a": agent_id, "t": text })).await;
            assert_eq!(code(&body), expected, "{agent_id}: {body}");
        }
        let memory = "query($id: ID!) { node(id: $id) { ... on Agent { styleMemory { version } } } }";
        let untaught = app.ok(Some(&owner.token), memory, json!({ "id": mine })).await;
        assert_eq!(untaught["node"]["styleMemory"], Value::Null, "nothing was learned");
        let theirs_seen = app.ok(Some(&eve.token), memory, json!({ "id": theirs })).await;
        assert_eq!(theirs_seen["node"]["styleMemory"], Value::Null);

        // A member may teach; a sample of 100,000 characters is accepted.
        let taught = teach(&app, &team[0].token, &mine, &format!("{} ", "Plain words here.".repeat(5_882))).await;
        assert_eq!(taught["version"], 1);
        // Another workspace's agent never learns from this one's samples.
        let theirs_after = app.ok(Some(&eve.token), memory, json!({ "id": theirs })).await;
        assert_eq!(theirs_after["node"]["styleMemory"], Value::Null);
    }
}

db_test! {
    async fn a_deleted_agent_leaves_the_workrooms_it_wrote_for_readable(app);
    {
        let ann = app.signup("ann@example.com", "Acme").await;
        let writer = agent(&app, &ann.token, "Copywriter").await;
        teach(&app, &ann.token, &writer, FORMAL_BRITISH).await;
        let mut room = input("Spring campaign");
        room["agentIds"] = json!([writer]);
        let id = app.create_workroom(&ann.token, room).await;
        let done = app.wait_for(&ann.token, &id, &["COMPLETED"]).await;

        app.ok(Some(&ann.token), "mutation($id: ID!) { deleteAgent(id: $id) }", json!({ "id": writer })).await;

        let read = app.ok(Some(&ann.token), "query($id: ID!) { workroom(id: $id) { state deliverables { content } \
            tasks { kind agent { name styleMemory { version } } } } }", json!({ "id": id })).await;
        assert_eq!(read["workroom"]["state"], "COMPLETED");
        assert_eq!(read["workroom"]["deliverables"][0]["content"], done["deliverables"][0]["content"]);
        let task = read["workroom"]["tasks"].as_array().unwrap().iter().find(|t| t["kind"] == "AGENT").unwrap().clone();
        assert_eq!(task["agent"]["name"], "Copywriter");
        assert_eq!(task["agent"]["styleMemory"]["version"], 1);
        let again = app.gql(Some(&ann.token), ADD, json!({ "a": writer, "t": "More." })).await;
        assert_eq!(code(&again), "NOT_FOUND", "{again}");
    }
}
