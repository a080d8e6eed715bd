//! The built-in Planner's TOOL tasks, chosen deterministically from the
//! workroom and the enabled tools:
//! - a `web.fetch` task per URL in the sources (at most five), when offered;
//! - a `workspace.search_deliverables` task when the goal refers to earlier
//!   work ("last", "previous", "again", "like our");
//! - a task for each MCP tool whose name or description shares a word with a
//!   deliverable's label, unless an approver rejected a call of it here, and
//!   only when every required argument is one it can fill (strings, numbers,
//!   booleans, enumerations).

use entity::enums::SourceKind;
use serde_json::{json, Map, Value};

use super::text::excerpt;
use crate::{
    llm::{ModelContext, PlannedTask, ToolBrief},
    tool::builtin::{words, READ_SOURCE, SEARCH_DELIVERABLES, WEB_FETCH},
};

/// Most `web.fetch` tasks in one plan.
const MAX_FETCHES: usize = 5;
/// Words of the goal that say it builds on earlier work.
const EARLIER_WORK: [&str; 3] = ["last", "previous", "again"];

/// The plan's TOOL tasks, first in the plan (the other tasks depend on them).
pub(super) fn tool_tasks(ctx: &ModelContext) -> Vec<PlannedTask> {
    let offered = |name: &str| ctx.tools.iter().any(|t| t.name == name);
    let mut tasks = Vec::new();
    if offered(WEB_FETCH) {
        for (i, url) in urls(ctx).into_iter().take(MAX_FETCHES).enumerate() {
            tasks.push(task(
                format!("fetch-{}", i + 1),
                format!("Fetch {url}"),
                WEB_FETCH,
                json!({ "url": url }),
            ));
        }
    }
    if offered(SEARCH_DELIVERABLES) && refers_to_earlier_work(&ctx.goal) {
        let query: String = excerpt(&ctx.goal, 20).chars().take(200).collect();
        tasks.push(task(
            "search".into(),
            "Search earlier deliverables".into(),
            SEARCH_DELIVERABLES,
            json!({ "query": query }),
        ));
    }
    let label_words: Vec<String> = ctx.deliverables.iter().flat_map(|l| words(l)).collect();
    let mut n = 0;
    for tool in ctx.tools.iter().filter(|t| is_mcp(t)) {
        let rejected = ctx
            .rejections
            .iter()
            .any(|r| r.tool.as_deref() == Some(&tool.name));
        let Some(label) = shared_label(ctx, tool, &label_words) else {
            continue;
        };
        let Some(arguments) = fill(&tool.input_schema, label, ctx) else {
            continue;
        };
        if rejected {
            continue;
        }
        n += 1;
        tasks.push(task(
            format!("tool-{n}"),
            format!("Call {} for {label}", tool.name),
            &tool.name,
            arguments,
        ));
    }
    tasks
}

fn task(key: String, title: String, tool: &str, arguments: Value) -> PlannedTask {
    PlannedTask {
        key,
        title,
        kind: "TOOL".into(),
        agent_id: None,
        depends_on: Vec::new(),
        tool: Some(tool.to_owned()),
        arguments: Some(arguments),
    }
}

fn is_mcp(tool: &ToolBrief) -> bool {
    ![SEARCH_DELIVERABLES, READ_SOURCE, WEB_FETCH].contains(&tool.name.as_str())
}

/// Whether the goal builds on earlier work.
fn refers_to_earlier_work(goal: &str) -> bool {
    let goal_words = words(goal);
    EARLIER_WORK
        .iter()
        .any(|w| goal_words.iter().any(|g| g == w))
        || goal.to_lowercase().contains("like our")
}

/// The http(s) URLs in the sources, in order, each once.
fn urls(ctx: &ModelContext) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for source in &ctx.sources {
        for word in source.content.split_whitespace() {
            let trimmed = word.trim_matches(|c: char| "()<>[]\"',.;:!?".contains(c));
            let is_url = trimmed.starts_with("https://") || trimmed.starts_with("http://");
            if is_url && trimmed.len() <= 2_048 && !found.iter().any(|u| u == trimmed) {
                found.push(trimmed.to_owned());
            }
        }
    }
    found
}

/// The first deliverable label that shares a word with the tool's name or description.
fn shared_label<'a>(
    ctx: &'a ModelContext,
    tool: &ToolBrief,
    label_words: &[String],
) -> Option<&'a str> {
    let tool_words = words(&format!(
        "{} {}",
        tool.name.replace(['_', '-', '.'], " "),
        tool.description
    ));
    if !label_words
        .iter()
        .any(|w| tool_words.binary_search(w).is_ok())
    {
        return None;
    }
    ctx.deliverables
        .iter()
        .find(|label| {
            words(label)
                .iter()
                .any(|w| tool_words.binary_search(w).is_ok())
        })
        .map(String::as_str)
}

/// The client a workroom is for: a custom agent's client, else the name the
/// brief opens with ("Northwind sells outdoor gear" → "Northwind").
fn client_of(ctx: &ModelContext) -> Option<String> {
    if let Some(client) = ctx.custom_agents.iter().find_map(|a| a.client_name.clone()) {
        return Some(client);
    }
    let brief = ctx.sources.iter().find(|s| s.kind == SourceKind::Brief)?;
    let name: Vec<&str> = brief
        .content
        .split_whitespace()
        .take_while(|w| w.chars().next().is_some_and(char::is_uppercase))
        .take(4)
        .collect();
    (!name.is_empty()).then(|| {
        name.join(" ")
            .trim_end_matches(|c: char| !c.is_alphanumeric())
            .to_owned()
    })
}

/// Arguments for every required property of `schema`, or `None` when one
/// cannot be filled: a label-like property gets the deliverable's label, a
/// client-like one the workroom's client, any other text an excerpt of the goal.
fn fill(schema: &Value, label: &str, ctx: &ModelContext) -> Option<Value> {
    let required = schema["required"].as_array().cloned().unwrap_or_default();
    let mut arguments = Map::new();
    for name in required {
        let name = name.as_str()?;
        let property = &schema["properties"][name];
        let value = if let Some(first) = property["enum"].as_array().and_then(|e| e.first()) {
            first.clone()
        } else {
            match property["type"].as_str()? {
                "string" => {
                    let named = |words: &[&str]| words.iter().any(|w| name.contains(w));
                    let client = named(&["client", "customer", "company", "account"])
                        .then(|| client_of(ctx))
                        .flatten();
                    let text = match client {
                        Some(client) => client,
                        None if named(&["label", "title", "subject", "name"]) => label.to_owned(),
                        None => excerpt(&ctx.goal, 20),
                    };
                    let max = property["maxLength"].as_u64().unwrap_or(200) as usize;
                    Value::String(text.chars().take(max).collect())
                }
                "integer" | "number" => property["minimum"]
                    .as_i64()
                    .map_or(json!(1), |m| json!(m.max(1))),
                "boolean" => json!(false),
                _ => return None,
            }
        };
        arguments.insert(name.to_owned(), value);
    }
    Some(Value::Object(arguments))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{builtin::fixtures::context, Rejection};

    fn brief(name: &str, description: &str, schema: Value, read_only: bool) -> ToolBrief {
        ToolBrief {
            name: name.into(),
            description: description.into(),
            input_schema: schema,
            read_only,
        }
    }

    fn builtin_tools() -> Vec<ToolBrief> {
        crate::tool::builtin::catalog(true)
            .into_iter()
            .map(|b| brief(b.name, b.description, b.input_schema, true))
            .collect()
    }

    fn send_report() -> ToolBrief {
        brief(
            "crm.send_report",
            "Sends a report to the client",
            json!({ "type": "object", "properties": { "client": { "type": "string" }, "urgent": { "type": "boolean" } }, "required": ["client", "urgent"] }),
            false,
        )
    }

    #[test]
    fn no_tools_offered_means_no_tool_tasks() {
        assert!(tool_tasks(&context()).is_empty());
    }

    #[test]
    fn urls_in_sources_are_fetched_when_web_is_offered() {
        let mut ctx = context();
        ctx.sources[0].content =
            "See https://acme.example/about, and (https://acme.example/menu).".into();
        assert!(tool_tasks(&ctx).is_empty(), "no tool is offered");
        ctx.tools = builtin_tools();
        let tasks = tool_tasks(&ctx);
        let args: Vec<&Value> = tasks
            .iter()
            .map(|t| t.arguments.as_ref().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                &json!({ "url": "https://acme.example/about" }),
                &json!({ "url": "https://acme.example/menu" })
            ]
        );
        assert!(tasks.iter().all(|t| t.tool.as_deref() == Some(WEB_FETCH)));
    }

    #[test]
    fn a_goal_that_refers_to_earlier_work_searches_past_deliverables() {
        let mut ctx = context();
        ctx.tools = builtin_tools();
        assert!(tool_tasks(&ctx)
            .iter()
            .all(|t| t.tool.as_deref() != Some(SEARCH_DELIVERABLES)));
        ctx.goal = "A spring campaign like our last one for Acme".into();
        let tasks = tool_tasks(&ctx);
        let search = tasks
            .iter()
            .find(|t| t.tool.as_deref() == Some(SEARCH_DELIVERABLES))
            .unwrap();
        assert_eq!(
            search.arguments.as_ref().unwrap()["query"],
            "A spring campaign like our last one for Acme"
        );
    }

    #[test]
    fn an_mcp_tool_sharing_a_word_with_a_label_is_planned_with_filled_arguments() {
        let mut ctx = context();
        ctx.tools = vec![
            send_report(),
            brief(
                "crm.delete_all",
                "Deletes everything",
                json!({ "type": "object" }),
                false,
            ),
        ];
        let tasks = tool_tasks(&ctx);
        assert_eq!(tasks.len(), 1, "{tasks:?}");
        assert_eq!(tasks[0].title, "Call crm.send_report for Weekly report");
        let args = tasks[0].arguments.clone().unwrap();
        assert_eq!(args["urgent"], false);
        assert_eq!(
            args["client"], "Acme Bakery",
            "the name the brief opens with"
        );
        crate::tool::arguments::check("crm.send_report", &send_report().input_schema, &args)
            .unwrap();

        ctx.rejections = vec![Rejection {
            task_title: tasks[0].title.clone(),
            tool: Some("crm.send_report".into()),
            reason: "Not before the client call".into(),
        }];
        assert!(
            tool_tasks(&ctx).is_empty(),
            "a rejected tool is not planned again"
        );
    }

    #[test]
    fn a_tool_with_an_argument_it_cannot_fill_is_left_out() {
        let mut ctx = context();
        ctx.tools = vec![brief(
            "crm.report",
            "Files a report",
            json!({ "type": "object", "properties": { "rows": { "type": "array" } }, "required": ["rows"] }),
            true,
        )];
        assert!(tool_tasks(&ctx).is_empty());
    }
}
