//! The GraphQL calls that prepare a run: a team, a workroom whose Composer
//! waits for an approval (so watchers join before it writes), and the approval.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub async fn gql(url: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut request = reqwest::Client::new()
        .post(url)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let body: Value = request
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("a JSON body");
    assert!(body.get("errors").is_none(), "{query}: {body}");
    body["data"].clone()
}

/// A workroom waiting for its approval, ready to compose.
pub struct Room {
    pub token: String,
    pub id: String,
    pub approval: String,
    /// Its newest seq while it waits.
    pub last_seq: i64,
}

/// Signs up a new bench account with a workspace of its own; returns its access token.
pub async fn sign_up(url: &str) -> String {
    let email = format!("bench-{}@example.com", uuid::Uuid::now_v7().simple());
    let signup = gql(
        url,
        None,
        "mutation($i: SignupInput!) { signup(input: $i) { accessToken } }",
        json!({ "i": { "email": email, "password": "a long bench passphrase", "name": "Bench", "workspaceName": "Bench" } }),
    )
    .await;
    signup["signup"]["accessToken"].as_str().unwrap().to_owned()
}

/// Signs up, creates a workroom of `deliverables` deliverables that waits for an approval.
pub async fn prepare(url: &str, deliverables: usize) -> Room {
    let token = sign_up(url).await;
    gql(
        url,
        Some(&token),
        "mutation { changePlan(plan: AGENCY) { plan } }",
        json!({}),
    )
    .await;
    let labels: Vec<String> = (1..=deliverables)
        .map(|i| format!("Deliverable {i}"))
        .collect();
    let input = json!({
        "title": "Bench",
        "goal": "Win the Q3 retainer with Northwind by proposing a content calendar for their outdoor gear",
        "deliverables": labels,
        "constraints": { "approval": { "requiredRole": "OWNER", "requiredApprovals": 1 } },
        "sources": [{ "kind": "BRIEF", "title": "Client brief", "content": "Northwind sells outdoor gear. They want three posts a week, a monthly newsletter and a seasonal campaign." }]
    });
    let created = gql(
        url,
        Some(&token),
        "mutation($i: CreateWorkroomInput!) { createWorkroom(input: $i) { id } }",
        json!({ "i": input }),
    )
    .await;
    let id = created["createWorkroom"]["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    loop {
        let room = gql(
            url,
            Some(&token),
            "query($w: ID!) { workroom(id: $w) { lastSeq tasks { id kind state } } }",
            json!({ "w": id }),
        )
        .await;
        let waiting = room["workroom"]["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["kind"] == "APPROVAL" && t["state"] == "AWAITING_APPROVAL");
        if let Some(task) = waiting {
            return Room {
                token,
                approval: task["id"].as_str().unwrap().to_owned(),
                last_seq: room["workroom"]["lastSeq"].as_i64().unwrap(),
                id,
            };
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the workroom never waited for approval"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn approve(url: &str, room: &Room) {
    gql(
        url,
        Some(&room.token),
        "mutation($t: ID!) { grantApproval(taskId: $t) { id } }",
        json!({ "t": room.approval }),
    )
    .await;
}

/// The workroom's newest seq now.
pub async fn last_seq(url: &str, room: &Room) -> i64 {
    let data = gql(
        url,
        Some(&room.token),
        "query($w: ID!) { workroom(id: $w) { lastSeq } }",
        json!({ "w": room.id }),
    )
    .await;
    data["workroom"]["lastSeq"].as_i64().unwrap()
}

/// What a watching frontend selects.
pub const SUBSCRIPTION: &str = "subscription Watch($w: ID!, $after: Int) {
  workroomEvents(workroomId: $w, afterSeq: $after) { seq kind state at deliverableId text }
}";
