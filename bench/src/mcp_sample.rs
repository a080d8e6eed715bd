//! `atelya-bench mcp-sample`: a small MCP server (Streamable HTTP, on
//! `rmcp`'s server side) to connect to Atelya while trying tools out. It
//! plays an agency's CRM:
//! - `lookup_client` (read-only): a client's record, made up from its name;
//! - `send_report` (destructive, so each call waits for an approval in
//!   Atelya): "sends" a report to a client and prints that it did.

use std::sync::Arc;

use axum::serve::ListenerExt;

use rmcp::{
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, InitializeResult,
        ListToolsResult, PaginatedRequestParams, ServerCapabilities, Tool, ToolAnnotations,
    },
    service::RequestContext,
    transport::streamable_http_server::{
        session::local::LocalSessionManager, StreamableHttpServerConfig, StreamableHttpService,
    },
    ErrorData, RoleServer, ServerHandler,
};
use serde_json::{json, Map, Value};

#[derive(Clone, Default)]
struct SampleCrm {
    /// How long each call takes before it answers.
    delay: std::time::Duration,
}

fn object(schema: Value) -> Arc<Map<String, Value>> {
    Arc::new(schema.as_object().cloned().unwrap_or_default())
}

fn tools() -> Vec<Tool> {
    let client = json!({ "type": "string", "minLength": 1, "maxLength": 200, "description": "The client's name" });
    vec![
        Tool::new(
            "lookup_client",
            "Looks up a client's record in the agency CRM: stores, preferences, renewal month",
            object(json!({ "type": "object", "properties": { "client": client }, "required": ["client"] })),
        )
        .annotate(ToolAnnotations::new().read_only(true)),
        Tool::new(
            "send_report",
            "Sends the weekly report to the client by email",
            object(json!({
                "type": "object",
                "properties": { "client": client, "urgent": { "type": "boolean" } },
                "required": ["client"]
            })),
        )
        .annotate(ToolAnnotations::new().read_only(false).destructive(true)),
    ]
}

/// A record that depends only on the name, so runs are reproducible.
fn record(client: &str) -> String {
    let seed: u32 = client.bytes().map(u32::from).sum();
    let months = ["January", "March", "May", "July", "September", "November"];
    format!(
        "{client}: {} stores, prefers {}, renews in {}, last campaign lifted weekday visits by {}%.",
        2 + seed % 9,
        if seed.is_multiple_of(2) { "local radio" } else { "email newsletters" },
        months[(seed % 6) as usize],
        5 + seed % 20
    )
}

impl ServerHandler for SampleCrm {
    fn get_info(&self) -> InitializeResult {
        InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = request.arguments.unwrap_or_default();
        let client = arguments
            .get("client")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_owned();
        if client.is_empty() {
            return Err(ErrorData::invalid_params("client is required", None));
        }
        tokio::time::sleep(self.delay).await;
        let text = match request.name.as_ref() {
            "lookup_client" => record(&client),
            "send_report" => {
                println!("mcp-sample: sent the weekly report to {client}");
                format!("The weekly report was sent to {client}.")
            }
            other => return Err(ErrorData::invalid_params(format!("no tool {other}"), None)),
        };
        Ok(CallToolResponse::Complete(CallToolResult::success(vec![
            ContentBlock::text(text),
        ])))
    }
}

pub async fn serve(bind: std::net::SocketAddr, delay_ms: u64) {
    let (address, server) = start(bind, std::time::Duration::from_millis(delay_ms)).await;
    println!("mcp-sample: the sample CRM's MCP endpoint is http://{address}/mcp");
    server.await.expect("the server runs");
}

/// Starts the sample server on `bind`, each call answering after `delay`;
/// returns its address and the task serving it.
pub async fn start(
    bind: std::net::SocketAddr,
    delay: std::time::Duration,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let service = StreamableHttpService::new(
        move || Ok(SampleCrm { delay }),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .expect("the address is free");
    let address = listener.local_addr().expect("a local address");
    // Each answer leaves at once (no Nagle delay waiting for the client's ACK).
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("the server runs");
    });
    (address, server)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_depend_only_on_the_name() {
        assert_eq!(record("Northwind"), record("Northwind"));
        assert_ne!(record("Northwind"), record("Acme Bakery"));
        assert!(record("Northwind").starts_with("Northwind: "));
    }

    #[test]
    fn the_lookup_is_read_only_and_the_send_is_not() {
        let tools = tools();
        let read_only = |name: &str| {
            tools
                .iter()
                .find(|t| t.name == name)
                .and_then(|t| t.annotations.as_ref())
                .and_then(|a| a.read_only_hint)
        };
        assert_eq!(read_only("lookup_client"), Some(true));
        assert_eq!(read_only("send_report"), Some(false));
    }
}
