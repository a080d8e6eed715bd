//! The data the HTTP scenarios read, made through Atelya's GraphQL API: a
//! team on the Agency plan, custom agents, and completed workrooms whose
//! plans hold one AGENT task per agent and a COMPOSE task.
//!
//! The API lets a workroom have at most 10 custom agents (11 tasks), so the
//! 50-task page is a completed 10-agent workroom whose plan is then extended
//! in its SQLite file: copies of its AGENT tasks (new ids, their outputs)
//! are inserted before its COMPOSE task. The 10-task page is made by the API alone.

use entity::enums::TaskKind;
use std::{
    path::Path,
    time::{Duration, Instant},
};

use entity::task;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde_json::json;

use crate::api::gql;

/// Custom agents the API lets one workroom have.
const AGENTS_PER_WORKROOM: usize = 10;

/// The signed-in member and the pages' workrooms.
pub struct Prepared {
    pub token: String,
    /// Workroom ids by number of tasks, e.g. `[(50, "wrm_…"), (10, "wrm_…")]`.
    pub pages: Vec<(usize, String)>,
}

/// Makes a completed workroom of each task count (2 to 50) in `tasks`.
pub async fn prepare(url: &str, database: &Path, tasks: &[usize]) -> Prepared {
    let token = crate::api::sign_up(url).await;
    let token = token.as_str();
    gql(
        url,
        Some(token),
        "mutation { changePlan(plan: AGENCY) { plan } }",
        json!({}),
    )
    .await;
    let mut agents = Vec::new();
    for i in 1..=AGENTS_PER_WORKROOM {
        let input = json!({
            "name": format!("Specialist {i}"),
            "instructions": format!("You plan the media mix for channel {i} and name one measurable outcome."),
        });
        let agent = gql(
            url,
            Some(token),
            "mutation($i: AgentInput!) { createAgent(input: $i) { id } }",
            json!({ "i": input }),
        )
        .await;
        agents.push(agent["createAgent"]["id"].as_str().unwrap().to_owned());
    }
    let mut pages = Vec::new();
    for &count in tasks {
        assert!((2..=50).contains(&count), "a page holds 2 to 50 tasks");
        let through_api = (count - 1).min(AGENTS_PER_WORKROOM);
        let input = json!({
            "title": format!("Northwind retainer, {count} tasks"),
            "goal": "Win the Q3 retainer with Northwind by proposing a content calendar for their outdoor gear",
            "deliverables": ["Content calendar"],
            "agentIds": agents[..through_api],
            "sources": [{ "kind": "BRIEF", "title": "Client brief", "content": "Northwind sells outdoor gear. They want three posts a week, a monthly newsletter and a seasonal campaign." }]
        });
        let created = gql(
            url,
            Some(token),
            "mutation($i: CreateWorkroomInput!) { createWorkroom(input: $i) { id } }",
            json!({ "i": input }),
        )
        .await;
        let id = created["createWorkroom"]["id"].as_str().unwrap().to_owned();
        pages.push((count, id));
    }
    for (count, id) in &pages {
        complete(url, token, id).await;
        extend(database, id, *count).await;
    }
    Prepared {
        token: token.to_owned(),
        pages,
    }
}

/// Waits until the workroom is COMPLETED, topping credits up and resuming when they run out.
async fn complete(url: &str, token: &str, id: &str) {
    let started = Instant::now();
    loop {
        let data = gql(
            url,
            Some(token),
            "query($w: ID!) { workroom(id: $w) { state stateReason } }",
            json!({ "w": id }),
        )
        .await;
        let room = &data["workroom"];
        match (room["state"].as_str(), room["stateReason"].as_str()) {
            (Some("COMPLETED"), _) => return,
            (Some("PAUSED"), Some("INSUFFICIENT_CREDITS")) => {
                eprintln!("out of credits: buying a top-up and resuming {id}");
                gql(
                    url,
                    Some(token),
                    "mutation($k: String!) { purchaseTopUp(credits: 1000000, idempotencyKey: $k) { id } }",
                    json!({ "k": uuid::Uuid::now_v7().to_string() }),
                )
                .await;
                gql(
                    url,
                    Some(token),
                    "mutation($w: ID!) { resumeWorkroom(id: $w) { id } }",
                    json!({ "w": id }),
                )
                .await;
            }
            (Some("FAILED" | "CANCELLED"), _) => panic!("the workroom did not complete: {room}"),
            _ => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the workroom did not complete within 10 minutes: {room}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Copies the workroom's AGENT tasks until its plan holds `count` tasks, the COMPOSE task last.
async fn extend(database: &Path, id: &str, count: usize) {
    let url = format!("sqlite://{}?mode=rw", database.display());
    let db = sea_orm::Database::connect(&url)
        .await
        .expect("open the database");
    let workroom = uuid::Uuid::try_parse(id.trim_start_matches("wrm_")).expect("a workroom id");
    let mut plan = task::Entity::find()
        .filter(task::Column::WorkroomId.eq(workroom))
        .filter(task::Column::State.ne("DISCARDED"))
        .all(&db)
        .await
        .expect("the plan");
    plan.sort_by_key(|t| (t.plan_round, t.position));
    if plan.len() >= count {
        return;
    }
    let compose = plan.pop().expect("a COMPOSE task");
    assert_eq!(
        compose.kind,
        TaskKind::Compose,
        "the plan ends with COMPOSE"
    );
    let last = plan.iter().map(|t| t.position).max().unwrap_or(0);
    let agent_tasks: Vec<task::Model> = plan
        .into_iter()
        .filter(|t| t.kind == TaskKind::Agent)
        .collect();
    let missing = count - agent_tasks.len() - 1;
    let mut compose = compose.into_active_model();
    compose.position = Set(last + 1 + missing as i32);
    compose.update(&db).await.expect("move COMPOSE last");
    for (i, original) in agent_tasks.iter().cycle().take(missing).enumerate() {
        let mut copy = original.clone();
        copy.id = uuid::Uuid::now_v7();
        copy.position = last + 1 + i as i32;
        copy.title = format!("{} (part {})", original.title, i + 2);
        copy.into_active_model()
            .reset_all()
            .insert(&db)
            .await
            .expect("insert a task");
    }
    db.close().await.expect("close the database");
}
