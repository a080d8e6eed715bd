//! A test MCP server built on `rmcp`'s server side (Streamable HTTP), on a
//! random loopback port, with the tools the tool tests need:
//! - `lookup` (read-only): a client's record;
//! - `send_report` (destructive): "sends" a report, and counts every call;
//! - `slow_lookup` (read-only): answers after `slow` (a pause drops it);
//! - `broken_lookup` (read-only): answers `isError`;
//! - `huge_lookup` (read-only): answers `huge` bytes of text;
//! - `change_tools`: swaps the list (drops `send_report`, adds `archive`)
//!   and sends `notifications/tools/list_changed`.
//!
//! The list is served two tools per page, so reading it follows cursors.
//! Variants: one that requires a bearer token, and a plain HTTP endpoint
//! that answers garbage.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{
    extract::Request,
    http::StatusCode,
    middleware::{self, Next},
    response::IntoResponse,
    routing::post,
    Router,
};
use rmcp::{
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, InitializeResult,
        ListToolsResult, PaginatedRequestParams, ServerCapabilities, Tool, ToolAnnotations,
    },
    service::RequestContext,
    transport::streamable_http_server::{
        session::local::LocalSessionManager, StreamableHttpServerConfig, StreamableHttpService,
    },
    ErrorData as McpError, RoleServer, ServerHandler,
};
use serde_json::{json, Value};

/// What the server records and how it behaves.
#[derive(Default)]
pub struct Shared {
    /// Every call it received: (tool, arguments).
    pub calls: Mutex<Vec<(String, Value)>>,
    /// Calls of `send_report`.
    pub sends: AtomicUsize,
    /// Whether `change_tools` has swapped the list.
    pub changed: AtomicBool,
    /// How long `slow_lookup` takes, in milliseconds.
    pub slow_ms: AtomicUsize,
    /// How many bytes `huge_lookup` answers.
    pub huge: AtomicUsize,
    /// How long `send_report` takes, in milliseconds.
    pub send_ms: AtomicUsize,
}

impl Shared {
    pub fn calls_of(&self, tool: &str) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(name, _)| name == tool)
            .map(|(_, args)| args.clone())
            .collect()
    }
}

#[derive(Clone)]
struct Fixture(Arc<Shared>);

fn schema(properties: Value, required: &[&str]) -> Arc<serde_json::Map<String, Value>> {
    let schema = json!({ "type": "object", "properties": properties, "required": required });
    Arc::new(schema.as_object().unwrap().clone())
}

fn client_schema() -> Arc<serde_json::Map<String, Value>> {
    schema(
        json!({ "client": { "type": "string", "maxLength": 200 } }),
        &["client"],
    )
}

fn read_only(tool: Tool) -> Tool {
    tool.annotate(ToolAnnotations::new().read_only(true))
}

impl Fixture {
    fn tools(&self) -> Vec<Tool> {
        let mut tools = vec![read_only(Tool::new(
            "lookup",
            "Looks up a client's record in the CRM",
            client_schema(),
        ))];
        if !self.0.changed.load(Ordering::SeqCst) {
            tools.push(
                Tool::new(
                    "send_report",
                    "Sends the weekly report to the client by email",
                    schema(
                        json!({ "client": { "type": "string" }, "urgent": { "type": "boolean" } }),
                        &["client", "urgent"],
                    ),
                )
                .annotate(ToolAnnotations::new().read_only(false).destructive(true)),
            );
        } else {
            tools.push(Tool::new(
                "archive",
                "Archives a client's record",
                client_schema(),
            ));
        }
        tools.extend([
            read_only(Tool::new("slow_lookup", "Looks up slowly", client_schema())),
            read_only(Tool::new("broken_lookup", "Always fails", client_schema())),
            read_only(Tool::new(
                "huge_lookup",
                "Answers at length",
                client_schema(),
            )),
            Tool::new(
                "change_tools",
                "Changes the tool list",
                schema(json!({}), &[]),
            ),
        ]);
        tools
    }
}

fn text(text: impl Into<String>) -> Vec<ContentBlock> {
    vec![ContentBlock::text(text)]
}

impl ServerHandler for Fixture {
    fn get_info(&self) -> InitializeResult {
        InitializeResult::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let all = self.tools();
        let from: usize = request
            .and_then(|r| r.cursor)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let page: Vec<Tool> = all.iter().skip(from).take(2).cloned().collect();
        let mut result = ListToolsResult::with_all_items(page);
        if from + 2 < all.len() {
            result.next_cursor = Some((from + 2).to_string());
        }
        Ok(result)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let arguments = Value::Object(request.arguments.clone().unwrap_or_default());
        let name = request.name.to_string();
        self.0
            .calls
            .lock()
            .unwrap()
            .push((name.clone(), arguments.clone()));
        let client = arguments["client"].as_str().unwrap_or("nobody").to_owned();
        let result = match name.as_str() {
            "lookup" => CallToolResult::success(text(format!(
                "{client}: 12 stores, prefers local radio, renews in March"
            ))),
            "send_report" => {
                let pause = self.0.send_ms.load(Ordering::SeqCst) as u64;
                tokio::time::sleep(Duration::from_millis(pause)).await;
                self.0.sends.fetch_add(1, Ordering::SeqCst);
                CallToolResult::success(text(format!("Report sent to {client}")))
            }
            "slow_lookup" => {
                let pause = self.0.slow_ms.load(Ordering::SeqCst) as u64;
                tokio::time::sleep(Duration::from_millis(pause)).await;
                CallToolResult::success(text(format!("{client}: found slowly")))
            }
            "broken_lookup" => CallToolResult::error(text("the CRM is down")),
            "huge_lookup" => {
                let size = self.0.huge.load(Ordering::SeqCst);
                CallToolResult::success(text("x".repeat(size)))
            }
            "change_tools" => {
                self.0.changed.store(true, Ordering::SeqCst);
                let _ = context.peer.notify_tool_list_changed().await;
                CallToolResult::success(text("changed"))
            }
            other => return Err(McpError::invalid_params(format!("no tool {other}"), None)),
        };
        Ok(CallToolResponse::Complete(result))
    }
}

/// A running test MCP server.
pub struct McpServer {
    pub url: String,
    pub shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for McpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How the server is reached.
pub enum Access {
    Open,
    /// Requests must carry `Authorization: Bearer <token>`.
    Bearer(&'static str),
}

pub async fn start(access: Access) -> McpServer {
    let shared = Arc::new(Shared::default());
    shared.slow_ms.store(2_000, Ordering::SeqCst);
    shared.huge.store(200 * 1024, Ordering::SeqCst);
    let fixture = Fixture(shared.clone());
    let service = StreamableHttpService::new(
        move || Ok(fixture.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let mut router = Router::new().nest_service("/mcp", service);
    if let Access::Bearer(token) = access {
        router = router.layer(middleware::from_fn(move |request: Request, next: Next| {
            let expected = format!("Bearer {token}");
            async move {
                let given = request
                    .headers()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok());
                if given == Some(expected.as_str()) {
                    next.run(request).await
                } else {
                    (StatusCode::UNAUTHORIZED, "a bearer token is required").into_response()
                }
            }
        }));
    }
    serve(router, shared).await
}

/// An endpoint that answers every request with a 200 page that is not MCP.
pub async fn start_garbage() -> McpServer {
    let router = Router::new().route(
        "/mcp",
        post(|| async { "<html>not an MCP server</html>".into_response() }),
    );
    serve(router, Arc::new(Shared::default())).await
}

async fn serve(router: Router, shared: Arc<Shared>) -> McpServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    McpServer {
        url: format!("http://{address}/mcp"),
        shared,
        task,
    }
}
