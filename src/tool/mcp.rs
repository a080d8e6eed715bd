//! The Model Context Protocol client, on the official SDK (`rmcp`) over its
//! Streamable HTTP transport.
//!
//! Listing a server's tools opens a session of its own; calls go through
//! [`Sessions`], one session per server kept open and reused. Opening checks
//! the URL like a webhook's (and pins the client to the addresses that
//! passed, with no proxy and no redirect); every operation runs within its
//! timeout, and dropping it cancels the request. Answers are bounded in bytes by the transport (a larger answer is
//! an error, never buffered), lists in pages and tools, and every text kept
//! is cut to its bound. Errors are short and carry no secret.

use std::{collections::HashMap, sync::Arc, time::Duration};

use rmcp::{
    model::{CallToolRequestParams, PaginatedRequestParams},
    service::{NotificationContext, RunningService},
    transport::{
        streamable_http_client::StreamableHttpClientTransportConfig, StreamableHttpClientTransport,
    },
    ClientHandler, RoleClient, ServiceExt,
};
use serde_json::Value;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{arguments, bounded, RESULT_MAX_BYTES};
use crate::outbound;

/// Most bytes of one answer (a JSON body or an SSE event) read from a server.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// Most pages of `tools/list` read.
const MAX_PAGES: usize = 20;
/// Longest description kept, in bytes.
const MAX_DESCRIPTION: usize = 4 * 1024;
/// Longest error text kept, in characters.
const MAX_ERROR: usize = 300;

/// Where a server is and how to reach it.
pub struct Endpoint {
    pub url: String,
    pub token: Option<String>,
    pub allow_private: bool,
}

/// A tool as a server listed it, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedTool {
    pub name: String,
    pub title: Option<String>,
    pub description: String,
    pub input_schema: Value,
    pub read_only: bool,
}

/// How a call ended on the server's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Its text content, cut to the result bound.
    pub text: String,
    /// The server's `isError`.
    pub is_error: bool,
}

/// Notices `notifications/tools/list_changed` during a session, and passes
/// it on to the re-reading task for a pooled session.
#[derive(Clone, Default)]
struct Listener {
    notify: Option<(mpsc::Sender<Changed>, Changed)>,
}

impl ClientHandler for Listener {
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        if let Some((changes, server)) = &self.notify {
            if changes.try_send(*server).is_err() {
                tracing::warn!(integration = %server.1, "too many tool list changes queued; this one is read at the next");
            }
        }
    }
}

/// Reads every tool the server offers (following pages), at most `max_tools`.
pub async fn list_tools(
    endpoint: &Endpoint,
    max_tools: usize,
    timeout: Duration,
) -> Result<Vec<ListedTool>, String> {
    within(timeout, async {
        let session = open(endpoint).await?;
        let mut tools = Vec::new();
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let params = PaginatedRequestParams::default().with_cursor(cursor.take());
            let page = session
                .list_tools(Some(params))
                .await
                .map_err(|e| short(format!("tools/list failed: {e}")))?;
            for tool in page.tools {
                if tools.len() == max_tools {
                    return Err(format!("the server offers more than {max_tools} tools"));
                }
                tools.push(checked(tool)?);
            }
            match page.next_cursor {
                Some(next) if !next.is_empty() => cursor = Some(next),
                _ => {
                    close(session).await;
                    return Ok(tools);
                }
            }
        }
        Err(format!("the tool list runs past {MAX_PAGES} pages"))
    })
    .await
}

/// A server whose tool list changed: (workspace, integration).
pub type Changed = (Uuid, Uuid);

/// Most change notices waiting to be read (each is a re-read of one list;
/// past it a notice is dropped, and the list is read at the next change or
/// refresh).
const CHANGES_QUEUED: usize = 256;

/// The sessions this instance holds open with MCP servers, one per
/// connected server, reused by every call to it: a call costs one request,
/// and the server's standalone stream stays open, so
/// `notifications/tools/list_changed` arrives whenever it is sent. A session
/// is opened again when the server's URL or token changed, and dropped
/// after a call fails on it.
pub struct Sessions {
    open: std::sync::Mutex<HashMap<Uuid, Arc<Pooled>>>,
    changes: mpsc::Sender<Changed>,
    notices: std::sync::Mutex<Option<mpsc::Receiver<Changed>>>,
}

struct Pooled {
    /// What it was opened for (the server's URL and when its row last changed).
    fingerprint: String,
    session: Session,
}

impl Default for Sessions {
    fn default() -> Self {
        let (changes, notices) = mpsc::channel(CHANGES_QUEUED);
        Sessions {
            open: Default::default(),
            changes,
            notices: std::sync::Mutex::new(Some(notices)),
        }
    }
}

impl Sessions {
    /// The change notices, for the one task that re-reads the lists.
    pub fn take_notices(&self) -> Option<mpsc::Receiver<Changed>> {
        self.notices.lock().expect("notices lock").take()
    }

    /// Calls `name` with `arguments` on the server `changed.1`, through its
    /// open session (opened now when there is none for `fingerprint`).
    pub async fn call(
        &self,
        server: Changed,
        fingerprint: String,
        endpoint: &Endpoint,
        name: &str,
        arguments: &Value,
        timeout: Duration,
    ) -> Result<Answer, String> {
        within(timeout, async {
            let pooled = self.session_for(server, fingerprint, endpoint).await?;
            let answer = call_on(&pooled.session, name, arguments).await;
            if answer.is_err() {
                self.drop_if_same(server.1, &pooled);
            }
            answer
        })
        .await
    }

    /// Closes the session with a server (disconnected, or reconnected).
    pub fn forget(&self, id: Uuid) {
        self.open.lock().expect("sessions lock").remove(&id);
    }

    async fn session_for(
        &self,
        server: Changed,
        fingerprint: String,
        endpoint: &Endpoint,
    ) -> Result<Arc<Pooled>, String> {
        let open = self
            .open
            .lock()
            .expect("sessions lock")
            .get(&server.1)
            .cloned();
        if let Some(pooled) =
            open.filter(|p| p.fingerprint == fingerprint && !p.session.is_closed())
        {
            return Ok(pooled);
        }
        let listener = Listener {
            notify: Some((self.changes.clone(), server)),
        };
        let session = open_with(endpoint, listener).await?;
        let pooled = Arc::new(Pooled {
            fingerprint,
            session,
        });
        self.open
            .lock()
            .expect("sessions lock")
            .insert(server.1, pooled.clone());
        Ok(pooled)
    }

    fn drop_if_same(&self, id: Uuid, pooled: &Arc<Pooled>) {
        let mut open = self.open.lock().expect("sessions lock");
        if open.get(&id).is_some_and(|p| Arc::ptr_eq(p, pooled)) {
            open.remove(&id);
        }
    }
}

/// One `tools/call` on an open session.
async fn call_on(session: &Session, name: &str, arguments: &Value) -> Result<Answer, String> {
    let mut params = CallToolRequestParams::new(name.to_owned());
    if let Value::Object(map) = arguments {
        params = params.with_arguments(map.clone());
    }
    let result = session
        .call_tool(params)
        .await
        .map_err(|e| short(format!("the call failed: {e}")))?;
    let text: Vec<String> = result
        .content
        .iter()
        .filter_map(|block| block.as_text().map(|t| t.text.clone()))
        .collect();
    let text = match (text.is_empty(), &result.structured_content) {
        (true, Some(structured)) => structured.to_string(),
        _ => text.join("\n"),
    };
    Ok(Answer {
        text: bounded(text, RESULT_MAX_BYTES),
        is_error: result.is_error.unwrap_or(false),
    })
}

type Session = RunningService<RoleClient, Listener>;

/// Opens and initializes a session with the server, for one listing.
async fn open(endpoint: &Endpoint) -> Result<Session, String> {
    open_with(endpoint, Listener::default()).await
}

/// Opens and initializes a session whose notifications go to `listener`.
async fn open_with(endpoint: &Endpoint, listener: Listener) -> Result<Session, String> {
    let target = outbound::check(&endpoint.url, endpoint.allow_private)
        .await
        .map_err(|e| e.to_string())?;
    let client = target
        .client(outbound::builder())
        .map_err(|e| e.to_string())?;
    let mut config = StreamableHttpClientTransportConfig::with_uri(target.url().as_str())
        .max_sse_event_size(MAX_ANSWER_BYTES);
    config.max_json_response_size = MAX_ANSWER_BYTES;
    config.max_error_response_size = 4 * 1024;
    // A server that forgot the session (restarted) answers 404 before doing
    // anything, so the request is safe to send again in a new session.
    config.reinit_on_expired_session = true;
    if let Some(token) = endpoint.token.as_deref().filter(|t| !t.is_empty()) {
        config = config.auth_header(token.to_owned());
    }
    let transport = StreamableHttpClientTransport::with_client(client, config);
    listener
        .serve(transport)
        .await
        .map_err(|e| match e.auth_challenge() {
            Some(_) => "the server refused the access token (401/403)".to_owned(),
            None => short(format!("the server could not be initialized: {e}")),
        })
}

async fn close(session: Session) {
    let _ = session.cancel().await;
}

/// Runs `work` within `limit`; dropping it on time-out drops the request.
async fn within<T>(
    limit: Duration,
    work: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} ms", limit.as_millis())))
}

/// A listed tool, checked: a name the workspace can use, a usable schema,
/// texts cut to their bounds.
fn checked(tool: rmcp::model::Tool) -> Result<ListedTool, String> {
    let name = tool.name.to_string();
    let valid = (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if !valid {
        return Err(short(format!(
            "the server lists a tool named {name:?} (names are 1-128 letters, digits, '_', '-' or '.')"
        )));
    }
    let input_schema = Value::Object((*tool.input_schema).clone());
    arguments::usable_schema(&input_schema).map_err(|e| short(format!("tool {name}: {e}")))?;
    let read_only = tool
        .annotations
        .as_ref()
        .and_then(|a| a.read_only_hint)
        .unwrap_or(false);
    Ok(ListedTool {
        title: tool
            .title
            .or_else(|| tool.annotations.and_then(|a| a.title))
            .map(|t| t.chars().take(200).collect()),
        description: bounded(
            tool.description.map(|d| d.to_string()).unwrap_or_default(),
            MAX_DESCRIPTION,
        ),
        input_schema,
        read_only,
        name,
    })
}

/// An error text cut to its bound.
fn short(text: String) -> String {
    if text.chars().count() <= MAX_ERROR {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_ERROR).collect();
    cut.push('…');
    cut
}
