//! Every setting of the server, from flags or the environment (`atelya serve --help` lists them).
//!
//! Every setting that may hold a secret (keys, and URLs that may carry a
//! password) is a [`Secret`], so it never reaches a log through `Debug`, and
//! hides its environment value from `--help`.

use std::{fmt, net::SocketAddr, time::Duration};

use clap::Args;

/// A value that must not be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// The JWT secret used when none is configured: fine on a laptop, refused in production.
pub const DEVELOPMENT_JWT_SECRET: &str = "atelya-development-secret-do-not-use-in-production";

#[derive(Args, Debug, Clone)]
pub struct Config {
    /// Address the HTTP server listens on.
    #[arg(long, env = "ATELYA_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Database URL: `sqlite://file.db?mode=rwc` or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "sqlite://atelya.db?mode=rwc"
    )]
    pub database_url: Secret,
    /// Redis URL for live events and presence between instances; without it they stay in-process.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<Secret>,
    /// Prefix of every Redis channel and key, so deployments can share one Redis.
    #[arg(long, env = "ATELYA_REDIS_PREFIX", default_value = "atelya")]
    pub redis_prefix: String,
    /// `development` or `production`; production disables introspection and requires real secrets.
    #[arg(long, env = "ATELYA_ENV", default_value = "development")]
    pub env: String,
    /// HMAC secret for access tokens (raw text, at least 32 bytes in production).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
    /// Key for data encrypted at rest: 64 hex characters.
    #[arg(long, env = "ATELYA_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<Secret>,
    /// Version of `ATELYA_SECRET_KEY`, written into what it seals (raise it when rotating the key).
    #[arg(long, env = "ATELYA_SECRET_KEY_VERSION", default_value_t = 1)]
    pub secret_key_version: u8,
    /// Earlier keys, which only open what they sealed: `version:hex`, comma-separated.
    #[arg(long, env = "ATELYA_SECRET_KEY_PREVIOUS", hide_env_values = true)]
    pub secret_key_previous: Option<Secret>,
    /// Access token lifetime in seconds.
    #[arg(long, env = "ATELYA_ACCESS_TOKEN_TTL", default_value_t = 900)]
    pub access_token_ttl: u64,
    /// Refresh token lifetime in seconds.
    #[arg(long, env = "ATELYA_REFRESH_TOKEN_TTL", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl: u64,
    /// Invitation lifetime in seconds.
    #[arg(long, env = "ATELYA_INVITATION_TTL", default_value_t = 7 * 24 * 3600)]
    pub invitation_ttl: u64,
    /// Run lease lifetime in seconds.
    #[arg(long, env = "ATELYA_LEASE_TTL", default_value_t = 30)]
    pub lease_ttl: u64,
    /// Take the client address from X-Forwarded-For (only behind a proxy you run).
    #[arg(long, env = "ATELYA_TRUST_PROXY", default_value_t = false)]
    pub trust_proxy: bool,
    /// Serve GraphiQL at /graphiql and the live page at /live [default: on in development, off in production].
    #[arg(long, env = "ATELYA_PAGES")]
    pub pages: Option<bool>,
    /// Let webhook endpoints be on loopback, private or link-local addresses (for tests and private networks).
    #[arg(long, env = "ATELYA_WEBHOOK_ALLOW_PRIVATE", default_value_t = false)]
    pub webhook_allow_private: bool,
    /// Comma-separated origins allowed by CORS and on websocket upgrades; empty means same origin only.
    #[arg(
        long,
        env = "ATELYA_CORS_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub cors_origins: Vec<String>,
    /// SMTP server for outgoing mail, e.g. `smtp://user:pass@mail.example.com:587?tls=required`
    /// or `smtps://…`; without it mail is written to the log.
    #[arg(long, env = "ATELYA_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<Secret>,
    /// Sender of outgoing mail.
    #[arg(
        long,
        env = "ATELYA_MAIL_FROM",
        default_value = "Atelya <no-reply@atelya.local>"
    )]
    pub mail_from: String,
    /// Address of a separate listener serving only `/metrics` (Prometheus).
    /// Without it `/metrics` is on the main port, except in production, where
    /// it is then not served at all.
    #[arg(long, env = "ATELYA_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
    /// Run only the documents of the manifest `ATELYA_PERSISTED_DOCUMENTS`
    /// (trusted documents), by hash or in full; anything else is refused.
    #[arg(long, env = "ATELYA_PERSISTED_ONLY", default_value_t = false)]
    pub persisted_only: bool,
    /// Manifest of trusted documents (Apollo's persisted query manifest, or a
    /// JSON object of SHA-256 to document), for `ATELYA_PERSISTED_ONLY`.
    #[arg(long, env = "ATELYA_PERSISTED_DOCUMENTS")]
    pub persisted_documents: Option<std::path::PathBuf>,
    /// Longest persisted query registered, in bytes (longer ones still run
    /// when sent in full).
    #[arg(long, env = "ATELYA_PERSISTED_MAX_BYTES", default_value_t = 32 * 1024)]
    pub persisted_max_bytes: usize,
    /// Bytes of registered persisted queries each instance keeps in memory.
    #[arg(long, env = "ATELYA_PERSISTED_CACHE_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub persisted_cache_bytes: usize,
    /// Bytes of registered persisted queries kept in Redis for all instances
    /// (those registered longest ago are dropped first).
    #[arg(long, env = "ATELYA_PERSISTED_REDIS_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub persisted_redis_bytes: usize,
    /// The server's public address, e.g. `https://api.example.com`, for the
    /// absolute URLs it hands out (export downloads). Without it they are made
    /// from the request's Host (and, behind a trusted proxy, X-Forwarded-Proto/Host).
    #[arg(long, env = "ATELYA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Largest export file in bytes; a deliverable that renders larger is refused.
    #[arg(long, env = "ATELYA_EXPORT_MAX_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub export_max_bytes: usize,
    /// Exports rendered at once on this instance (more wait their turn);
    /// unset, half the machine's cores (at least 1).
    #[arg(long, env = "ATELYA_EXPORT_RENDERS", value_parser = clap::value_parser!(u64).range(1..))]
    pub export_renders: Option<u64>,
    /// Milliseconds a signed-in member's session is reused without reading
    /// the database (at most 1000; access changes drop it at once); 0 reads
    /// it on every request.
    #[arg(long, env = "ATELYA_SESSION_CACHE_MS", default_value_t = 1_000)]
    pub session_cache_ms: u64,
    /// argon2id memory cost in KiB (lower it only for tests).
    #[arg(long, env = "ATELYA_ARGON2_MEMORY_KIB", default_value_t = 19_456)]
    pub argon2_memory_kib: u32,
    #[command(flatten)]
    pub limits: Limits,
    #[command(flatten)]
    pub engine: EngineSettings,
    #[command(flatten)]
    pub sockets: SocketSettings,
    #[command(flatten)]
    pub llm: LlmSettings,
    #[command(flatten)]
    pub webhooks: WebhookSettings,
    #[command(flatten)]
    pub tools: ToolSettings,
}

/// Tools: which built-in ones are offered, and bounds on calls and MCP servers.
#[derive(Args, Debug, Clone)]
pub struct ToolSettings {
    /// Offer the built-in `web.fetch` (public URLs only, unless
    /// ATELYA_WEBHOOK_ALLOW_PRIVATE).
    #[arg(long = "tools-web", env = "ATELYA_TOOLS_WEB", default_value_t = false)]
    pub web: bool,
    /// Most tool calls one AGENT task may make by function calling.
    #[arg(long, env = "ATELYA_MAX_TOOL_CALLS_PER_TASK", default_value_t = 8)]
    pub max_tool_calls_per_task: u32,
    /// How long one tool call may take, in milliseconds.
    #[arg(long, env = "ATELYA_TOOL_CALL_TIMEOUT_MS", default_value_t = 30_000)]
    pub call_timeout_ms: u64,
    /// How long connecting to an MCP server and reading its tools may take, in milliseconds.
    #[arg(long, env = "ATELYA_MCP_CONNECT_TIMEOUT_MS", default_value_t = 10_000)]
    pub connect_timeout_ms: u64,
    /// Most tools one MCP server may offer.
    #[arg(long, env = "ATELYA_MCP_MAX_TOOLS", default_value_t = 200)]
    pub max_tools_per_server: usize,
}

/// Webhooks: how deliveries share the senders, and caps on endpoints.
#[derive(Args, Debug, Clone)]
pub struct WebhookSettings {
    /// Most webhook endpoints one workspace may have.
    #[arg(
        long = "webhook-max-endpoints",
        env = "ATELYA_WEBHOOK_MAX_ENDPOINTS",
        default_value_t = 20
    )]
    pub max_endpoints: u64,
    /// Webhook endpoints one user may create per hour.
    #[arg(
        long = "webhook-creates-per-user-per-hour",
        env = "ATELYA_WEBHOOK_CREATES_PER_USER_PER_HOUR",
        default_value_t = 20
    )]
    pub creates_per_user_per_hour: u32,
    /// Webhook endpoints that may be created per client address per hour.
    #[arg(
        long = "webhook-creates-per-address-per-hour",
        env = "ATELYA_WEBHOOK_CREATES_PER_ADDRESS_PER_HOUR",
        default_value_t = 30
    )]
    pub creates_per_address_per_hour: u32,
    /// Deliveries one instance sends at once.
    #[arg(
        long = "webhook-concurrency",
        env = "ATELYA_WEBHOOK_CONCURRENCY",
        default_value_t = 16
    )]
    pub concurrency: usize,
    /// Deliveries of one workspace that one instance sends at once.
    #[arg(
        long = "webhook-workspace-concurrency",
        env = "ATELYA_WEBHOOK_WORKSPACE_CONCURRENCY",
        default_value_t = 4
    )]
    pub workspace_concurrency: usize,
    /// Deliveries to one endpoint that one instance sends at once.
    #[arg(
        long = "webhook-endpoint-concurrency",
        env = "ATELYA_WEBHOOK_ENDPOINT_CONCURRENCY",
        default_value_t = 2
    )]
    pub endpoint_concurrency: usize,
    /// Seconds one attempt may take in all (resolving the host, connecting,
    /// sending, reading the answer); a delivery is claimed for this and a margin.
    #[arg(
        long = "webhook-timeout-secs",
        env = "ATELYA_WEBHOOK_TIMEOUT_SECS",
        default_value_t = 15
    )]
    pub timeout_secs: u64,
}

/// The language model: the built-in offline one, or any OpenAI-compatible
/// chat-completions endpoint (OpenAI, vLLM, llama.cpp's server, Ollama).
#[derive(Args, Debug, Clone)]
pub struct LlmSettings {
    /// `builtin` (offline, the default) or `openai` (an OpenAI-compatible endpoint).
    #[arg(long, env = "LLM_PROVIDER", default_value = "builtin")]
    pub provider: String,
    /// Base URL of the endpoint, up to `/v1` (e.g. `https://api.openai.com/v1`, `http://localhost:11434/v1`).
    #[arg(long, env = "LLM_BASE_URL")]
    pub base_url: Option<String>,
    /// Bearer key of the endpoint (none for a local server that needs none).
    #[arg(long, env = "LLM_API_KEY", hide_env_values = true)]
    pub api_key: Option<Secret>,
    /// Model name sent with each request.
    #[arg(long, env = "LLM_MODEL")]
    pub model: Option<String>,
    /// Seconds to connect to the endpoint.
    #[arg(long, env = "LLM_CONNECT_TIMEOUT_SECS", default_value_t = 10)]
    pub connect_timeout_secs: u64,
    /// Seconds to wait for the next bytes of an answer.
    #[arg(long, env = "LLM_READ_TIMEOUT_SECS", default_value_t = 60)]
    pub read_timeout_secs: u64,
    /// Retries of a call refused with 429 or 5xx (or not connected) before any output.
    #[arg(long, env = "LLM_MAX_RETRIES", default_value_t = 3)]
    pub max_retries: u32,
    /// Most bytes of one streamed answer; a larger one fails the call.
    #[arg(long, env = "LLM_MAX_RESPONSE_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_response_bytes: usize,
}

/// Websockets: liveness, and what one socket may hold; and how many
/// websockets and event streams one user and one client address may hold.
#[derive(Args, Debug, Clone)]
pub struct SocketSettings {
    /// Seconds between the server's pings on an idle socket.
    #[arg(long, env = "ATELYA_WS_PING_SECS", default_value_t = 5)]
    pub ping_secs: u64,
    /// Seconds without any frame from the client before its socket counts as gone.
    #[arg(long, env = "ATELYA_WS_IDLE_SECS", default_value_t = 15)]
    pub idle_secs: u64,
    /// Most operations running at once on one socket.
    #[arg(long, env = "ATELYA_WS_MAX_OPERATIONS", default_value_t = 100)]
    pub max_operations: usize,
    /// Frames queued for one socket before its operations wait (a slow reader
    /// then catches up from the database instead of growing the queue).
    #[arg(long, env = "ATELYA_WS_QUEUE", default_value_t = 64)]
    pub queue: usize,
    /// Bytes of frames queued for one socket before its operations wait (a
    /// larger frame waits until the queue is empty, then goes alone).
    #[arg(long, env = "ATELYA_WS_QUEUE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub queue_bytes: usize,
    /// Bytes of documents and variables the operations running at once on
    /// one socket may hold (never less than one request body); past it a
    /// subscribe is refused with RATE_LIMITED.
    #[arg(long, env = "ATELYA_WS_OPERATIONS_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub operations_bytes: usize,
    /// Seconds one frame may take to write before the socket is dropped.
    #[arg(long, env = "ATELYA_WS_WRITE_TIMEOUT_SECS", default_value_t = 30)]
    pub write_timeout_secs: u64,
    /// Most websockets one user (or API key) holds open on this instance;
    /// one more is closed with 4430 at `connection_init`. 0 turns it off.
    #[arg(long, env = "ATELYA_WS_MAX_PER_USER", default_value_t = 64)]
    pub ws_max_per_user: usize,
    /// Most websockets one client address holds open on this instance; one
    /// more is closed with 4430 as soon as it opens. 0 turns it off.
    #[arg(long, env = "ATELYA_WS_MAX_PER_ADDRESS", default_value_t = 256)]
    pub ws_max_per_address: usize,
    /// Most event streams (SSE) one user (or API key) holds open on this
    /// instance; one more is answered 429. 0 turns it off.
    #[arg(long, env = "ATELYA_SSE_MAX_PER_USER", default_value_t = 64)]
    pub sse_max_per_user: usize,
    /// Most event streams (SSE) one client address holds open on this
    /// instance; one more is answered 429. 0 turns it off.
    #[arg(long, env = "ATELYA_SSE_MAX_PER_ADDRESS", default_value_t = 256)]
    pub sse_max_per_address: usize,
}

/// How workrooms run: the built-in model's pace, pricing, retries, budgets.
#[derive(Args, Debug, Clone)]
pub struct EngineSettings {
    /// Pause between the built-in model's tokens, in milliseconds (0 for tests, more for demos).
    #[arg(long, env = "ATELYA_BUILTIN_TOKEN_DELAY_MS", default_value_t = 20)]
    pub builtin_token_delay_ms: u64,
    /// Model tokens (prompt + output) per credit; every started block costs one credit.
    #[arg(long, env = "ATELYA_TOKENS_PER_CREDIT", default_value_t = 1_000)]
    pub tokens_per_credit: u32,
    /// Credits per tool call.
    #[arg(long, env = "ATELYA_TOOL_CALL_CREDITS", default_value_t = 1)]
    pub tool_call_credits: u32,
    /// Attempts of a task (or of planning) before it fails.
    #[arg(long, env = "ATELYA_TASK_ATTEMPTS", default_value_t = 3)]
    pub task_attempts: u32,
    /// Most output tokens of the Planner's call.
    #[arg(long, env = "ATELYA_PLAN_MAX_TOKENS", default_value_t = 400)]
    pub plan_max_tokens: u32,
    /// Most output tokens of an AGENT task.
    #[arg(long, env = "ATELYA_AGENT_MAX_TOKENS", default_value_t = 800)]
    pub agent_max_tokens: u32,
    /// Most output tokens per deliverable the Composer writes.
    #[arg(long, env = "ATELYA_COMPOSE_MAX_TOKENS", default_value_t = 1_500)]
    pub compose_max_tokens: u32,
    /// How often an idle engine looks for work left by other instances, in milliseconds.
    #[arg(long, env = "ATELYA_ENGINE_POLL_MS", default_value_t = 500)]
    pub poll_ms: u64,
}

/// The hostile-input limits of DESIGN.md.
#[derive(Args, Debug, Clone)]
pub struct Limits {
    /// Largest request body in bytes.
    #[arg(long, env = "ATELYA_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Most lexical tokens in one document.
    #[arg(long, env = "ATELYA_MAX_TOKENS", default_value_t = 10_000)]
    pub max_tokens: usize,
    /// Deepest field nesting.
    #[arg(long, env = "ATELYA_MAX_DEPTH", default_value_t = 12)]
    pub max_depth: usize,
    /// Most aliases per document, each `__typename` counted as one.
    #[arg(long, env = "ATELYA_MAX_ALIASES", default_value_t = 30)]
    pub max_aliases: usize,
    /// Most directives per document.
    #[arg(long, env = "ATELYA_MAX_DIRECTIVES", default_value_t = 5)]
    pub max_directives: usize,
    /// Highest query complexity, list fields weighted by their `first`.
    #[arg(long, env = "ATELYA_MAX_COMPLEXITY", default_value_t = 2_000)]
    pub max_complexity: usize,
    /// Most selections (fields, inline fragments, spreads) a document holds
    /// once its fragments are expanded: as many as its tokens could write out
    /// without fragments, so fragments never make a document larger than
    /// writing it out would.
    #[arg(long, env = "ATELYA_MAX_SELECTIONS", default_value_t = 10_000)]
    pub max_selections: usize,
    /// Bytes of parsed documents each instance keeps for reuse (each
    /// reckoned at 110 times its text).
    #[arg(long, env = "ATELYA_DOCUMENT_CACHE_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub document_cache_bytes: usize,
    /// Cost each member may spend per hour in a workspace (each document
    /// costs its complexity, at least 1); 0 turns cost budgets off.
    #[arg(long, env = "ATELYA_COST_BUDGET_PER_HOUR", default_value_t = 500_000)]
    pub cost_budget_per_hour: u64,
    /// Most bytes of one answer to a query or mutation, counted as it is
    /// built; past it the fields still to resolve fail (BAD_USER_INPUT).
    #[arg(long, env = "ATELYA_MAX_RESPONSE_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_answer_bytes: usize,
    /// Most HTTP connections open at once (each holds up to 96 KiB while
    /// its headers are read); one over it is closed at once.
    #[arg(long, env = "ATELYA_MAX_CONNECTIONS", default_value_t = 4_096)]
    pub max_connections: usize,
    /// Most HTTP connections open at once from one client address (not
    /// applied behind a trusted proxy, whose connections are all its own).
    #[arg(
        long,
        env = "ATELYA_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 128
    )]
    pub max_connections_per_address: usize,
    /// Seconds a connection has to send a request's headers (an idle
    /// kept-alive connection too) before it is closed.
    #[arg(long, env = "ATELYA_HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,
    /// Seconds a request has to be read and answered (a stream's answer
    /// only has to begin): a body sent a byte at a time is cut off at it.
    #[arg(long, env = "ATELYA_REQUEST_TIMEOUT_SECS", default_value_t = 60)]
    pub request_timeout_secs: u64,
    /// Most operations in one batched request; 0 turns batching off.
    #[arg(long, env = "ATELYA_MAX_BATCH", default_value_t = 0)]
    pub max_batch: usize,
    /// Sign-ups, and password checks (logins, invitations), allowed per client address per minute.
    #[arg(long, env = "ATELYA_AUTH_RATE_PER_MINUTE", default_value_t = 10)]
    pub auth_rate_per_minute: u32,
    /// Wrong passwords allowed per email per 15 minutes (logins and invitations together).
    #[arg(long, env = "ATELYA_FAILED_LOGINS_PER_15_MIN", default_value_t = 5)]
    pub failed_logins_per_15_min: u32,
    /// Most live (neither revoked nor expired) API keys per workspace.
    #[arg(long, env = "ATELYA_MAX_API_KEYS", default_value_t = 50)]
    pub max_api_keys: u32,
    /// API keys one person may create per hour (in all their workspaces); 0 turns this cap off.
    #[arg(long, env = "ATELYA_API_KEYS_PER_HOUR_PER_USER", default_value_t = 20)]
    pub api_keys_per_hour_per_user: u32,
    /// API keys that may be created per client address per hour; 0 turns this cap off.
    #[arg(
        long,
        env = "ATELYA_API_KEYS_PER_HOUR_PER_ADDRESS",
        default_value_t = 60
    )]
    pub api_keys_per_hour_per_address: u32,
    /// Export downloads each member may make per hour (each writes an
    /// activity entry); 0 turns this cap off.
    #[arg(long, env = "ATELYA_DOWNLOADS_PER_HOUR", default_value_t = 120)]
    pub downloads_per_hour: u32,
    /// Export downloads per client address per hour; 0 turns this cap off.
    #[arg(
        long,
        env = "ATELYA_DOWNLOADS_PER_HOUR_PER_ADDRESS",
        default_value_t = 600
    )]
    pub downloads_per_hour_per_address: u32,
    /// Exports (PDF and DOCX rendering) each member may make per hour; 0 turns this cap off.
    #[arg(long, env = "ATELYA_EXPORTS_PER_HOUR", default_value_t = 60)]
    pub exports_per_hour: u32,
    /// Exports per client address per hour; 0 turns this cap off.
    #[arg(
        long,
        env = "ATELYA_EXPORTS_PER_HOUR_PER_ADDRESS",
        default_value_t = 300
    )]
    pub exports_per_hour_per_address: u32,
    /// Most bytes of one workroom's sources together (every task reads them all).
    #[arg(long, env = "ATELYA_SOURCES_MAX_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub sources_max_bytes: usize,
    /// Most bytes of one agent's style samples together (each new sample
    /// derives the profile from all of them).
    #[arg(long, env = "ATELYA_SAMPLES_MAX_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub samples_max_bytes: usize,
}

impl Config {
    pub fn is_production(&self) -> bool {
        self.env.eq_ignore_ascii_case("production")
    }

    /// Whether GraphiQL and the live page are served.
    pub fn serves_pages(&self) -> bool {
        self.pages.unwrap_or(!self.is_production())
    }

    pub fn access_token_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl)
    }

    /// The JWT secret in force, refusing weak or missing secrets in production.
    pub fn effective_jwt_secret(&self) -> Result<String, String> {
        match (&self.jwt_secret, self.is_production()) {
            (Some(s), true) if s.0.len() < 32 => {
                Err("JWT_SECRET must be at least 32 bytes in production".into())
            }
            (Some(s), true) if s.0 == DEVELOPMENT_JWT_SECRET => {
                Err("JWT_SECRET must not be the development default in production".into())
            }
            (Some(s), _) if s.0.is_empty() => Err("JWT_SECRET must not be empty".into()),
            (Some(s), _) => Ok(s.0.clone()),
            (None, true) => Err("JWT_SECRET is required when ATELYA_ENV=production".into()),
            (None, false) => Ok(DEVELOPMENT_JWT_SECRET.to_owned()),
        }
    }

    /// Checks the settings that can only be wrong together; run before anything starts.
    pub fn validate(&self) -> Result<(), String> {
        self.effective_jwt_secret()?;
        if let Some(key) = &self.secret_key {
            let ok = key.0.len() == 64 && key.0.chars().all(|c| c.is_ascii_hexdigit());
            if !ok {
                return Err("ATELYA_SECRET_KEY must be 64 hex characters".into());
            }
        } else if self.is_production() {
            return Err("ATELYA_SECRET_KEY is required when ATELYA_ENV=production".into());
        }
        match self.llm.provider.as_str() {
            "builtin" => {}
            "openai" => {
                if self.llm.base_url.is_none() || self.llm.model.is_none() {
                    return Err("LLM_PROVIDER=openai needs LLM_BASE_URL and LLM_MODEL".into());
                }
            }
            other => {
                return Err(format!(
                    "LLM_PROVIDER must be builtin or openai, not {other:?}"
                ))
            }
        }
        if !matches!(
            self.env.to_ascii_lowercase().as_str(),
            "development" | "production" | "test"
        ) {
            return Err(format!(
                "ATELYA_ENV must be development, production or test, not {:?}",
                self.env
            ));
        }
        Ok(())
    }

    /// The allowed CORS origins, without empty entries.
    pub fn allowed_origins(&self) -> Vec<String> {
        self.cors_origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect()
    }
}
