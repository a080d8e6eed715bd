//! `spawn_app` and the client helpers every test uses.

use atelya::{clock::Clock, config::Config, startup::App, state::SharedState};
use clap::Parser;
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// Runs a test body on SQLite with the in-process bus, and on PostgreSQL when
/// `TEST_DATABASE_URL` is set (with Redis as the bus when `TEST_REDIS_URL` is set).
/// `with |config| ...` adjusts the server's configuration first.
macro_rules! db_test {
    ($(#[$meta:meta])* async fn $name:ident($app:ident) $(with $tweak:expr)? ; $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[allow(unused_assignments)]
            async fn sqlite() {
                #[allow(unused_mut)]
                let mut tweak: Box<dyn FnOnce(&mut atelya::config::Config)> = Box::new(|_| {});
                $(tweak = Box::new($tweak);)?
                let $app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite, tweak).await;
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set")]
            #[allow(unused_assignments)]
            async fn postgres() {
                #[allow(unused_mut)]
                let mut tweak: Box<dyn FnOnce(&mut atelya::config::Config)> = Box::new(|_| {});
                $(tweak = Box::new($tweak);)?
                let Some(backend) = crate::helpers::Backend::postgres() else { return };
                let $app = crate::helpers::spawn_app(backend, tweak).await;
                $body
            }
        }
    };
}

pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// PostgreSQL when `TEST_DATABASE_URL` is set; otherwise says the variant is skipped.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ => {
                eprintln!(
                    "skipped: TEST_DATABASE_URL is not set, so the PostgreSQL variant does not run"
                );
                None
            }
        }
    }
}

#[derive(Parser)]
struct TestCli {
    #[command(flatten)]
    config: Config,
}

pub struct TestApp {
    pub url: String,
    pub addr: std::net::SocketAddr,
    /// The separate `/metrics` address, when the configuration asks for one.
    pub metrics_addr: Option<std::net::SocketAddr>,
    pub state: SharedState,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    /// The server, until it has stopped.
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// The database, when this app owns it (dropped with the app).
    _database: Option<TestDatabase>,
}

impl TestApp {
    /// Waits until the background job counted by `counter` has completed
    /// `passes` more passes (so whatever it would do, it has done).
    pub async fn after_passes(
        &self,
        counter: impl Fn(&atelya::state::Rounds) -> &std::sync::atomic::AtomicU64,
        passes: u64,
    ) {
        use std::sync::atomic::Ordering;
        let rounds = &self.state.rounds;
        let target = counter(rounds).load(Ordering::Acquire) + passes;
        let counter = &counter;
        eventually(std::time::Duration::from_secs(20), move || async move {
            match counter(rounds).load(Ordering::Acquire) {
                done if done >= target => Ok(()),
                done => Err(format!("the job made {done} of {target} passes")),
            }
        })
        .await;
    }

    /// Shuts the server down as SIGTERM would.
    pub fn shut_down(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Shuts the server down and waits until it has stopped, its background
    /// jobs included.
    pub async fn stop(&mut self) {
        self.shut_down();
        if let Some(server) = self.server.take() {
            let stopped = tokio::time::timeout(std::time::Duration::from_secs(20), server).await;
            assert!(stopped.is_ok(), "the server did not stop");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// A database for one test: a SQLite file in a temporary folder, or a fresh
/// PostgreSQL database, removed when this is dropped.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL server's admin URL and this test's database.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("atelya.db").display()
                );
                TestDatabase {
                    url,
                    _dir: Some(dir),
                    postgres: None,
                }
            }
            Backend::Postgres(admin_url) => {
                let url = fresh_postgres_database(&admin_url).await;
                let name = url.rsplit('/').next().unwrap().to_owned();
                TestDatabase {
                    url,
                    _dir: None,
                    postgres: Some((admin_url, name)),
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime, so the database is dropped from a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                use sea_orm::ConnectionTrait;
                if let Ok(admin) = sea_orm::Database::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = admin.execute_unprepared(&sql).await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = dropped.join();
    }
}

/// With `ATELYA_TEST_LOG` set (an env filter such as `atelya=debug`), the servers log to stderr.
fn init_log() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if let Ok(filter) = std::env::var("ATELYA_TEST_LOG") {
        ONCE.call_once(|| {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        });
    }
}

/// A configuration for tests: loopback port 0, cheap password hashing, and
/// auth and API key rate limits and cost budgets high enough not to get in
/// the way (their own tests lower them).
pub fn test_config(database_url: &str) -> Config {
    init_log();
    let mut config = TestCli::parse_from(["atelya"]).config;
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.database_url = atelya::config::Secret(database_url.to_owned());
    config.env = "test".into();
    config.jwt_secret = Some(atelya::config::Secret(
        "test-secret-test-secret-test-secret!".into(),
    ));
    config.argon2_memory_kib = 64;
    config.limits.auth_rate_per_minute = 10_000;
    config.limits.failed_logins_per_15_min = 10_000;
    config.limits.api_keys_per_hour_per_user = 10_000;
    config.limits.api_keys_per_hour_per_address = 10_000;
    config.webhooks.creates_per_user_per_hour = 10_000;
    config.webhooks.creates_per_address_per_hour = 10_000;
    config.webhooks.max_endpoints = 10_000;
    config.limits.cost_budget_per_hour = 1_000_000_000;
    // Every test client connects from 127.0.0.1, many at once.
    config.limits.max_connections_per_address = 100_000;
    config.sockets.ws_max_per_address = 100_000;
    config.sockets.sse_max_per_address = 100_000;
    config.sockets.ws_max_per_user = 100_000;
    config.sockets.sse_max_per_user = 100_000;
    config.engine.builtin_token_delay_ms = 0;
    config.engine.poll_ms = 100;
    config
}

pub async fn spawn_app(backend: Backend, tweak: Box<dyn FnOnce(&mut Config)>) -> TestApp {
    spawn_app_with_model(backend, tweak, None).await
}

/// Like [`spawn_app`], with a language model other than the built-in one.
pub async fn spawn_app_with_model(
    backend: Backend,
    tweak: Box<dyn FnOnce(&mut Config)>,
    model: Option<std::sync::Arc<dyn atelya::llm::LanguageModel>>,
) -> TestApp {
    let postgres = matches!(backend, Backend::Postgres(_));
    let database = TestDatabase::create(backend).await;
    let mut config = test_config(&database.url);
    if postgres {
        use_test_redis(&mut config);
    }
    tweak(&mut config);
    let mut app = serve(config, model).await;
    app._database = Some(database);
    app
}

/// Serves `config` (its database is the caller's) until the app is dropped or shut down.
pub async fn serve(
    config: Config,
    model: Option<std::sync::Arc<dyn atelya::llm::LanguageModel>>,
) -> TestApp {
    let app = match model {
        Some(model) => App::build_with_model(config, Clock::default(), model).await,
        None => App::build(config, Clock::default()).await,
    }
    .expect("the app builds");
    let addr = app.local_addr().unwrap();
    let metrics_addr = app.metrics_addr();
    let state = app.state.clone();
    let (tx, rx) = oneshot::channel();
    let server = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        url: format!("http://{addr}/graphql"),
        addr,
        metrics_addr,
        state,
        client: reqwest::Client::new(),
        shutdown: Some(tx),
        server: Some(server),
        _database: None,
    }
}

/// The Redis of `TEST_REDIS_URL`, if set.
pub fn test_redis() -> Option<String> {
    std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

/// Points `config` at the test Redis under a prefix of its own (so tests
/// sharing the server do not hear each other); no-op without `TEST_REDIS_URL`.
pub fn use_test_redis(config: &mut Config) {
    if let Some(url) = test_redis() {
        config.redis_url = Some(atelya::config::Secret(url));
        config.redis_prefix = format!("atelya-test-{}", uuid::Uuid::now_v7().simple());
    }
}

/// A server on a runtime of its own, over a database it does not own, that a
/// test can stop gracefully, or kill like a crashed process (every task of
/// it stops mid-flight).
pub struct Instance {
    pub app: TestApp,
    runtime: Option<tokio::runtime::Runtime>,
    stop: Option<oneshot::Sender<()>>,
    stopped: Option<oneshot::Receiver<()>>,
}

impl Instance {
    pub async fn start(
        database_url: &str,
        tweak: impl FnOnce(&mut Config) + Send + 'static,
    ) -> Instance {
        let mut config = test_config(database_url);
        tweak(&mut config);
        let (tx, rx) = oneshot::channel();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let (stopped_tx, stopped) = oneshot::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let (addr, state) = runtime.block_on(async move {
                let app = App::build(config, Clock::default())
                    .await
                    .expect("the app builds");
                let addr = app.local_addr().unwrap();
                let state = app.state.clone();
                tokio::spawn(async move {
                    let _ = app
                        .run_until(async {
                            let _ = stop_rx.await;
                        })
                        .await;
                    let _ = stopped_tx.send(());
                });
                (addr, state)
            });
            let _ = tx.send((runtime, addr, state));
        });
        let (runtime, addr, state) = rx.await.expect("the instance starts");
        let app = TestApp {
            url: format!("http://{addr}/graphql"),
            addr,
            metrics_addr: None,
            state,
            client: reqwest::Client::new(),
            shutdown: None,
            server: None,
            _database: None,
        };
        Instance {
            app,
            runtime: Some(runtime),
            stop: Some(stop),
            stopped: Some(stopped),
        }
    }

    /// Shuts the instance down as SIGTERM would, and waits until it is done.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(stopped) = self.stopped.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), stopped).await;
        }
        self.kill();
    }

    /// Stops every task of the instance at once, as a crash would.
    pub fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Creates an empty database for one test and returns its URL.
pub async fn fresh_postgres_database(admin_url: &str) -> String {
    use sea_orm::ConnectionTrait;
    let name = format!("atelya_test_{}", uuid::Uuid::now_v7().simple());
    let admin = sea_orm::Database::connect(admin_url)
        .await
        .expect("TEST_DATABASE_URL connects");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("TEST_DATABASE_URL has a database name");
    format!("{base}/{name}")
}

/// A signed-up user.
#[derive(Clone, Debug)]
pub struct Account {
    pub email: String,
    pub token: String,
    pub refresh: String,
    pub user_id: String,
    pub workspace_id: String,
}

pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    /// Sends a GraphQL request (POST, JSON) and returns the response body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let response = self
            .post(token, &json!({ "query": query, "variables": variables }))
            .await;
        response.json().await.expect("a JSON body")
    }

    /// POSTs `body` as JSON to the GraphQL endpoint, as it is.
    pub async fn post(&self, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self.client.post(&self.url).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    /// Like [`TestApp::gql`], asserting there are no errors; returns `data`.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    pub async fn signup(&self, email: &str, workspace: &str) -> Account {
        let data = self
            .ok(
                None,
                "mutation($input: SignupInput!) { signup(input: $input) { accessToken refreshToken user { id } workspaceId } }",
                json!({ "input": { "email": email, "password": PASSWORD, "name": name_of(email), "workspaceName": workspace } }),
            )
            .await;
        let s = &data["signup"];
        Account {
            email: email.to_owned(),
            token: s["accessToken"].as_str().unwrap().to_owned(),
            refresh: s["refreshToken"].as_str().unwrap().to_owned(),
            user_id: s["user"]["id"].as_str().unwrap().to_owned(),
            workspace_id: s["workspaceId"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn change_plan(&self, token: &str, plan: &str) {
        self.ok(
            Some(token),
            "mutation($p: Plan!) { changePlan(plan: $p) { plan } }",
            json!({ "p": plan }),
        )
        .await;
    }

    /// Invites `email` with `role`; returns the accept token.
    pub async fn invite(&self, token: &str, email: &str, role: &str) -> String {
        let data = self
            .ok(
                Some(token),
                "mutation($e: String!, $r: Role) { inviteMember(email: $e, role: $r) { acceptToken } }",
                json!({ "e": email, "r": role }),
            )
            .await;
        data["inviteMember"]["acceptToken"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Accepts as a new account; returns it, scoped to the inviting workspace.
    pub async fn accept_new(&self, accept_token: &str, email: &str) -> Account {
        let data = self
            .ok(
                None,
                "mutation($t: String!, $n: String, $p: String) { acceptInvitation(token: $t, name: $n, password: $p) { accessToken refreshToken user { id } workspaceId } }",
                json!({ "t": accept_token, "n": name_of(email), "p": PASSWORD }),
            )
            .await;
        let a = &data["acceptInvitation"];
        Account {
            email: email.to_owned(),
            token: a["accessToken"].as_str().unwrap().to_owned(),
            refresh: a["refreshToken"].as_str().unwrap().to_owned(),
            user_id: a["user"]["id"].as_str().unwrap().to_owned(),
            workspace_id: a["workspaceId"].as_str().unwrap().to_owned(),
        }
    }

    /// An owner on a plan with room, plus one member per role in `roles`.
    pub async fn team(&self, roles: &[&str]) -> (Account, Vec<Account>) {
        let owner = self.signup("owner@example.com", "Team").await;
        self.change_plan(&owner.token, "AGENCY").await;
        let mut members = Vec::new();
        for (i, role) in roles.iter().enumerate() {
            let email = format!("{}{i}@example.com", role.to_lowercase());
            let token = self.invite(&owner.token, &email, role).await;
            members.push(self.accept_new(&token, &email).await);
        }
        (owner, members)
    }

    /// The id of the member that `account` is in its workspace.
    pub async fn member_id(&self, account: &Account) -> String {
        let data = self
            .ok(
                Some(&account.token),
                "{ viewer { member { id } } }",
                json!({}),
            )
            .await;
        data["viewer"]["member"]["id"].as_str().unwrap().to_owned()
    }
}

fn name_of(email: &str) -> String {
    email.split('@').next().unwrap_or("someone").to_owned()
}

/// The `extensions.code` of the first error.
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

/// This process's resident memory in bytes (the servers of the tests run in
/// it), read from `/proc/self/status` (`VmRSS`, in KiB, so no page size is needed).
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status (Linux)");
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .expect("VmRSS in /proc/self/status");
    kib * 1024
}

/// How often [`eventually`] probes.
const PROBE_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

/// The one way a test waits for something to happen: probes until `probe`
/// gives `Ok` (returned), or panics with its last `Err` (what is still
/// missing) once `deadline` has passed.
pub async fn eventually<T, Probe>(
    deadline: std::time::Duration,
    mut probe: impl FnMut() -> Probe,
) -> T
where
    Probe: std::future::Future<Output = Result<T, String>>,
{
    let started = std::time::Instant::now();
    loop {
        match probe().await {
            Ok(found) => return found,
            Err(missing) => assert!(
                started.elapsed() < deadline,
                "still waiting after {deadline:?}: {missing}"
            ),
        }
        tokio::time::sleep(PROBE_EVERY).await;
    }
}
