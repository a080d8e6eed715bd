//! The HTTP baselines: what plain axum does with the least work, and what a
//! hand-written axum + sea-orm endpoint does for the same page Atelya serves.
//!
//! - `GET /plaintext`: `Hello, World!`.
//! - `POST /page`: the body Atelya's page query takes (only `variables.id`
//!   is read); answers `{"data":{"workroom":…}}` with the bytes Atelya's
//!   GraphQL layer writes for the page document: keys in sorted order (it
//!   serializes through `serde_json::Value`), ids as `<prefix>_<uuid hex>`,
//!   the plan's tasks (not discarded) by plan round then position,
//!   deliverables by position. No authentication.
//! - `GET /stats`: SQL statements run so far, counted by sea-orm's metric
//!   callback as Atelya counts its own.
//!
//! The database is Atelya's SQLite file, opened read-only. Stock axum settings.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use entity::{deliverable, task, workroom};
use sea_orm::{
    ColumnTrait, ConnectOptions, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone)]
struct Page {
    db: DatabaseConnection,
    statements: Arc<AtomicU64>,
}

pub async fn serve(bind: SocketAddr, database: Option<String>) {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .expect("bind the HTTP baseline server");
    let statements = Arc::new(AtomicU64::new(0));
    let mut app: Router = Router::new().route("/plaintext", get(plaintext));
    if let Some(url) = database {
        let mut options = ConnectOptions::new(url);
        options
            .sqlx_logging(false)
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10));
        let mut db = sea_orm::Database::connect(options)
            .await
            .expect("open the database read-only");
        let counter = statements.clone();
        db.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let page = Page { db, statements };
        app = app.merge(
            Router::new()
                .route("/page", post(workroom_page))
                .route("/stats", get(stats))
                .with_state(page),
        );
    }
    println!("listening {}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.expect("serve");
}

async fn plaintext() -> &'static str {
    "Hello, World!"
}

async fn stats(State(page): State<Page>) -> String {
    page.statements.load(Ordering::Relaxed).to_string()
}

#[derive(Deserialize)]
struct PageRequest {
    variables: PageVariables,
}

#[derive(Deserialize)]
struct PageVariables {
    id: String,
}

// Fields in the order the page selects them, as Atelya's JSON has them.
#[derive(Serialize)]
struct Body {
    data: Data,
}

#[derive(Serialize)]
struct Data {
    workroom: Option<Room>,
}

#[derive(Serialize)]
struct Room {
    id: String,
    title: String,
    state: String,
    tasks: Vec<Task>,
    deliverables: Vec<Deliverable>,
}

#[derive(Serialize)]
struct Task {
    id: String,
    title: String,
    kind: String,
    state: String,
    output: Option<String>,
}

#[derive(Serialize)]
struct Deliverable {
    id: String,
    label: String,
    version: i32,
    content: Option<String>,
}

async fn workroom_page(State(page): State<Page>, Json(request): Json<PageRequest>) -> Response {
    let id = request
        .variables
        .id
        .strip_prefix("wrm_")
        .and_then(|hex| Uuid::try_parse(hex).ok());
    let room = match id {
        Some(id) => match load(&page.db, id).await {
            Ok(room) => room,
            Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        },
        None => None,
    };
    let body = serde_json::to_vec(&Body {
        data: Data { workroom: room },
    })
    .expect("a page serializes");
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn load(db: &DatabaseConnection, id: Uuid) -> Result<Option<Room>, sea_orm::DbErr> {
    let Some(room) = workroom::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let tasks = task::Entity::find()
        .filter(task::Column::WorkroomId.eq(id))
        .filter(task::Column::State.ne("DISCARDED"))
        .order_by_asc(task::Column::PlanRound)
        .order_by_asc(task::Column::Position)
        .all(db);
    let deliverables = deliverable::Entity::find()
        .filter(deliverable::Column::WorkroomId.eq(id))
        .order_by_asc(deliverable::Column::Position)
        .all(db);
    let (tasks, deliverables) = tokio::try_join!(tasks, deliverables)?;
    Ok(Some(Room {
        deliverables: deliverables
            .into_iter()
            .map(|d| Deliverable {
                content: d.content,
                id: format!("dlv_{}", d.id.simple()),
                label: d.label,
                version: d.version,
            })
            .collect(),
        id: format!("wrm_{}", room.id.simple()),
        state: room.state.to_string(),
        tasks: tasks
            .into_iter()
            .map(|t| Task {
                id: format!("tsk_{}", t.id.simple()),
                kind: t.kind.to_string(),
                output: t.output,
                state: t.state.to_string(),
                title: t.title,
            })
            .collect(),
        title: room.title,
    }))
}
