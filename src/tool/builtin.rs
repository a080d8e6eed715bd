//! The built-in tools: offline and deterministic, and read-only.
//!
//! - `workspace.search_deliverables`: this workspace's composed deliverables
//!   of other workrooms that share words with a query (never another
//!   workspace's), best match first.
//! - `workroom.read_source`: one source of the calling workroom in full.
//! - `web.fetch`: a public URL as text, through the same address checks as
//!   webhooks, bounded in bytes and time, HTML reduced to text. Offered only
//!   when `ATELYA_TOOLS_WEB=true`.

use std::time::Duration;

use entity::{deliverable, source, workroom};
use futures_util::StreamExt;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{bounded, RESULT_MAX_BYTES};
use crate::{
    error::AppResult,
    ids::{self, Kind},
    outbound,
};

pub const SEARCH_DELIVERABLES: &str = "workspace.search_deliverables";
pub const READ_SOURCE: &str = "workroom.read_source";
pub const WEB_FETCH: &str = "web.fetch";

/// Deliverables a search looks through: the workspace's latest composed ones.
const SEARCHED: u64 = 500;
/// Characters of each found deliverable that a search shows.
const EXCERPT: usize = 600;
/// Bytes `web.fetch` reads at most before it stops.
pub const FETCH_MAX_BYTES: usize = 1024 * 1024;
/// Time `web.fetch` may take in all.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// A built-in tool as the registry lists it.
pub struct Builtin {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub input_schema: Value,
}

/// The built-in tools, `web.fetch` only when `web` is on.
pub fn catalog(web: bool) -> Vec<Builtin> {
    let mut tools = vec![
        Builtin {
            name: SEARCH_DELIVERABLES,
            title: "Search past deliverables",
            description: "Finds this workspace's earlier deliverables (from other workrooms) that share words with the query, best match first, with an excerpt of each.",
            input_schema: json!({
                "type": "object",
                "properties": {
                    "query": { "type": "string", "minLength": 1, "maxLength": 200 },
                    "limit": { "type": "integer", "minimum": 1, "maximum": 10 }
                },
                "required": ["query"],
                "additionalProperties": false
            }),
        },
        Builtin {
            name: READ_SOURCE,
            title: "Read a source",
            description: "Returns one source of this workroom in full, named by its id or its title.",
            input_schema: json!({
                "type": "object",
                "properties": { "source": { "type": "string", "minLength": 1, "maxLength": 200 } },
                "required": ["source"],
                "additionalProperties": false
            }),
        },
    ];
    if web {
        tools.push(Builtin {
            name: WEB_FETCH,
            title: "Fetch a web page",
            description: "Fetches a public http(s) URL and returns it as text (HTML reduced to text), at most 64 KiB.",
            input_schema: json!({
                "type": "object",
                "properties": { "url": { "type": "string", "minLength": 1, "maxLength": 2048 } },
                "required": ["url"],
                "additionalProperties": false
            }),
        });
    }
    tools
}

/// Where a built-in tool is called from.
pub struct Caller<'a, C> {
    pub db: &'a C,
    pub workspace_id: Uuid,
    pub workroom_id: Uuid,
    /// Whether `web.fetch` may reach private addresses (`ATELYA_WEBHOOK_ALLOW_PRIVATE`).
    pub allow_private: bool,
}

/// Calls the built-in tool `name`: its text result, or the error it
/// answers with (`Err` of the outer result is a failure of the server).
pub async fn call<C: ConnectionTrait>(
    caller: &Caller<'_, C>,
    name: &str,
    arguments: &Value,
) -> AppResult<Result<String, String>> {
    let text = |key: &str| arguments[key].as_str().unwrap_or_default().to_owned();
    match name {
        SEARCH_DELIVERABLES => {
            let limit = arguments["limit"].as_u64().unwrap_or(5).clamp(1, 10) as usize;
            search_deliverables(caller, &text("query"), limit).await
        }
        READ_SOURCE => read_source(caller, &text("source")).await,
        WEB_FETCH => Ok(fetch(&text("url"), caller.allow_private).await),
        other => Ok(Err(format!("no built-in tool is called {other}"))),
    }
}

/// Lower-case words of at least three letters or digits.
pub fn words(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .collect();
    found.sort();
    found.dedup();
    found
}

async fn search_deliverables<C: ConnectionTrait>(
    caller: &Caller<'_, C>,
    query: &str,
    limit: usize,
) -> AppResult<Result<String, String>> {
    let wanted = words(query);
    if wanted.is_empty() {
        return Ok(Err("the query has no word of three letters or more".into()));
    }
    let rows = deliverable::Entity::find()
        .filter(deliverable::Column::WorkspaceId.eq(caller.workspace_id))
        .filter(deliverable::Column::WorkroomId.ne(caller.workroom_id))
        .filter(deliverable::Column::Content.is_not_null())
        .order_by_desc(deliverable::Column::UpdatedAt)
        .order_by_desc(deliverable::Column::Id)
        .limit(SEARCHED)
        .all(caller.db)
        .await?;
    let mut scored: Vec<(usize, deliverable::Model)> = rows
        .into_iter()
        .filter_map(|d| {
            let have = words(&format!(
                "{} {}",
                d.label,
                d.content.as_deref().unwrap_or("")
            ));
            let score = wanted
                .iter()
                .filter(|w| have.binary_search(w).is_ok())
                .count();
            (score > 0).then_some((score, d))
        })
        .collect();
    // Stable: equal scores keep the newest first.
    scored.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
    scored.truncate(limit);
    if scored.is_empty() {
        return Ok(Ok(format!("No earlier deliverable matches \"{query}\".")));
    }
    let rooms = workroom::Entity::find()
        .filter(workroom::Column::Id.is_in(scored.iter().map(|(_, d)| d.workroom_id)))
        .all(caller.db)
        .await?;
    let mut out = String::new();
    for (_, d) in scored {
        let room = rooms.iter().find(|r| r.id == d.workroom_id);
        let excerpt: String = d
            .content
            .unwrap_or_default()
            .chars()
            .take(EXCERPT)
            .collect();
        out.push_str(&format!(
            "## {} (workroom \"{}\", {})\n{}\n\n",
            d.label,
            room.map_or("", |r| r.title.as_str()),
            d.updated_at.format("%Y-%m-%d"),
            excerpt.trim()
        ));
    }
    Ok(Ok(bounded(out.trim_end().to_owned(), RESULT_MAX_BYTES)))
}

async fn read_source<C: ConnectionTrait>(
    caller: &Caller<'_, C>,
    wanted: &str,
) -> AppResult<Result<String, String>> {
    let sources = source::Entity::find()
        .filter(source::Column::WorkroomId.eq(caller.workroom_id))
        .filter(source::Column::WorkspaceId.eq(caller.workspace_id))
        .order_by_asc(source::Column::Id)
        .all(caller.db)
        .await?;
    let wanted = wanted.trim();
    let found = sources.into_iter().find(|s| {
        ids::encode(Kind::Source, s.id) == wanted
            || s.title
                .as_deref()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(wanted))
    });
    Ok(match found {
        Some(s) => Ok(bounded(s.content, RESULT_MAX_BYTES)),
        None => Err(format!("this workroom has no source {wanted:?}")),
    })
}

/// `web.fetch`: the page as text, or why not.
pub async fn fetch(url: &str, allow_private: bool) -> Result<String, String> {
    match tokio::time::timeout(FETCH_TIMEOUT, fetch_within(url, allow_private)).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "the page did not arrive within {} s",
            FETCH_TIMEOUT.as_secs()
        )),
    }
}

async fn fetch_within(url: &str, allow_private: bool) -> Result<String, String> {
    let target = outbound::check(url, allow_private)
        .await
        .map_err(|e| e.to_string())?;
    let client = target
        .client(outbound::builder())
        .map_err(|e| e.to_string())?;
    let response = client
        .get(target.url().clone())
        .header("accept", "text/html, text/plain;q=0.9, */*;q=0.5")
        .send()
        .await
        .map_err(|e| format!("the page could not be fetched: {}", e.without_url()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the server answered {status}"));
    }
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let html = kind.contains("html");
    if !(html || kind.starts_with("text/") || kind.contains("json") || kind.contains("xml")) {
        return Err(format!("the page is not text ({kind})"));
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("the page broke off: {}", e.without_url()))?;
        let room = FETCH_MAX_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= FETCH_MAX_BYTES {
            break;
        }
    }
    let text = if html {
        html2text::from_read(&body[..], 100)
            .map_err(|e| format!("the page is not readable HTML: {e}"))?
    } else {
        String::from_utf8_lossy(&body).into_owned()
    };
    Ok(bounded(text, RESULT_MAX_BYTES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lower_case_unique_and_three_letters_or_more() {
        assert_eq!(
            words("Like our LAST launch, a Q3 launch-plan!"),
            ["last", "launch", "like", "our", "plan"]
        );
    }

    #[test]
    fn web_fetch_is_listed_only_when_allowed() {
        let names = |web| catalog(web).into_iter().map(|t| t.name).collect::<Vec<_>>();
        assert_eq!(names(false), [SEARCH_DELIVERABLES, READ_SOURCE]);
        assert_eq!(names(true), [SEARCH_DELIVERABLES, READ_SOURCE, WEB_FETCH]);
        for tool in catalog(true) {
            assert!(
                jsonschema::validator_for(&tool.input_schema).is_ok(),
                "{}",
                tool.name
            );
        }
    }

    #[tokio::test]
    async fn web_fetch_refuses_private_addresses_unless_allowed() {
        let refused = fetch("http://127.0.0.1:9/", false).await.unwrap_err();
        assert!(refused.contains("public address"), "{refused}");
        let refused = fetch("file:///etc/passwd", true).await.unwrap_err();
        assert!(refused.contains("http or https"), "{refused}");
    }
}
