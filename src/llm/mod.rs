//! Language models: the [`LanguageModel`] trait the engine calls, the
//! built-in deterministic offline model that is the default, and `openai`,
//! any OpenAI-compatible chat-completions endpoint.
//!
//! A call streams text tokens and ends with its [`Usage`]. Every request
//! carries both a rendered prompt (for real chat models) and the structured
//! [`ModelContext`] it was rendered from (which the built-in model composes
//! from directly, so its output is readable and reproducible).

pub mod builtin;
pub mod openai;

use std::{fmt, pin::Pin};

use futures_util::Stream;

/// What a call is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The Planner: answers with the task plan as JSON (see [`PlanSpec`]).
    Plan,
    /// An AGENT task: a custom agent's (or the drafting) contribution.
    Agent,
    /// The Composer: writes one deliverable as Markdown.
    Compose,
}

/// A custom agent as the model sees it.
#[derive(Debug, Clone)]
pub struct AgentBrief {
    /// The agent's global id (the plan refers to agents by it).
    pub id: String,
    pub name: String,
    pub instructions: String,
    pub client_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SourceBrief {
    pub kind: entity::enums::SourceKind,
    pub title: Option<String>,
    pub content: String,
}

/// Everything a call may draw on, structured.
/// The voice an agent learned from its style samples (its current Style Memory).
#[derive(Debug, Clone)]
pub struct StyleBrief {
    /// The agent whose voice it is.
    pub agent: String,
    pub summary: String,
    /// The traits as stored (see `agent::style::traits::Traits`).
    pub traits: serde_json::Value,
}

#[derive(Debug, Clone, Default)]
pub struct ModelContext {
    pub goal: String,
    /// Labels of every deliverable of the workroom.
    pub deliverables: Vec<String>,
    /// Compose: the deliverable to write.
    pub deliverable: Option<String>,
    /// Plan: the workroom's custom agents, each of which gets one AGENT task.
    pub custom_agents: Vec<AgentBrief>,
    /// Agent: the agent doing the task (`None` for the drafting task).
    pub agent: Option<AgentBrief>,
    /// Agent: the task's title.
    pub task_title: Option<String>,
    pub sources: Vec<SourceBrief>,
    /// Outputs of the tasks this one depends on: (title, output).
    pub dependency_outputs: Vec<(String, String)>,
    pub style_override: Option<String>,
    /// The voice to write in, when the agent (or, composing, the first of the
    /// workroom's agents) has a style memory.
    pub voice: Option<StyleBrief>,
    /// Compose: notes of every revision requested so far, oldest first.
    pub revision_notes: Vec<String>,
    /// Plan: the approval the constraints ask for before composing, as
    /// (required role, required approvals).
    pub approval: Option<(entity::enums::Role, u32)>,
    /// Plan: the enabled tools of the workspace a TOOL task may call.
    pub tools: Vec<ToolBrief>,
    /// Plan: what approvers rejected in this workroom so far, oldest first.
    pub rejections: Vec<Rejection>,
}

/// A tool as the Planner sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolBrief {
    pub name: String,
    pub description: String,
    /// JSON Schema of its arguments.
    pub input_schema: serde_json::Value,
    pub read_only: bool,
}

/// A task an approver rejected, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub task_title: String,
    /// The tool whose call was rejected (TOOL tasks).
    pub tool: Option<String>,
    pub reason: String,
}

#[derive(Clone)]
pub struct ModelRequest {
    pub purpose: Purpose,
    /// The system instructions (the agent's, or the Planner's / Composer's).
    pub system: String,
    /// The prompt rendered from `context`, for chat models.
    pub prompt: String,
    pub context: ModelContext,
    /// Output beyond this many tokens must not be produced: it was not paid for.
    pub max_output_tokens: u32,
    /// Agent: the tools the model may call by function calling (none: it may not).
    pub functions: Vec<ToolBrief>,
    /// Agent: the calls the model asked for so far in this task, with their
    /// answers, oldest first.
    pub exchanges: Vec<Exchange>,
}

/// A tool call a model asked for by function calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionCall {
    /// The model's id for the call, which its answer refers to.
    pub id: String,
    /// The tool's name in the workspace.
    pub name: String,
    /// The arguments as the model wrote them (JSON, not yet checked).
    pub arguments: String,
}

/// One round of function calling: what the model asked for, and the answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// Text the model wrote before asking.
    pub text: String,
    /// Each call with the text it was answered with.
    pub calls: Vec<(FunctionCall, String)>,
}

/// Tokens a call consumed, as the model counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub output_tokens: u32,
}

impl Usage {
    pub fn total(self) -> u32 {
        self.prompt_tokens + self.output_tokens
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelEvent {
    /// The next piece of output text (a token, with any whitespace before it).
    Token(String),
    /// The model asks for a tool call (only when the request offered functions);
    /// every such event comes before `Done`.
    ToolCall(FunctionCall),
    /// The call finished; nothing follows.
    Done(Usage),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError(pub String);

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub type ModelStream = Pin<Box<dyn Stream<Item = Result<ModelEvent, ModelError>> + Send>>;

/// A language model with streaming output.
pub trait LanguageModel: Send + Sync + 'static {
    /// Starts a call. The stream yields tokens, then exactly one `Done`; an
    /// error ends it early. Dropping the stream cancels the call.
    fn stream(&self, request: ModelRequest) -> ModelStream;

    /// Counts the tokens of `text` the way this model bills them (used to
    /// size holds before a call).
    fn count_tokens(&self, text: &str) -> u32;

    /// Whether it may be offered functions (tools) to call; one that cannot
    /// is never offered any.
    fn calls_functions(&self) -> bool {
        false
    }
}

/// The plan the Planner answers with, as JSON:
/// `{"tasks":[{"key":"draft","title":"…","kind":"AGENT","agentId":null,"dependsOn":[]}, …]}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanSpec {
    pub tasks: Vec<PlannedTask>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedTask {
    /// Unique within the plan; `dependsOn` refers to it.
    pub key: String,
    pub title: String,
    /// AGENT, TOOL, APPROVAL or COMPOSE.
    pub kind: String,
    /// AGENT tasks of a custom agent: its global id.
    #[serde(default)]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// TOOL tasks: the tool's name in the workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// TOOL tasks: the call's arguments, a JSON object matching the tool's input schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<serde_json::Value>,
}
