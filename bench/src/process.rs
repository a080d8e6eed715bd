//! Server processes: starting them, and reading their CPU time and memory from `/proc`.

use std::{
    io::{BufRead, BufReader},
    net::{SocketAddr, TcpListener},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A server process, killed when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn http(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    pub fn ws(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// The temporary directory holding an Atelya server's database and log.
    pub fn dir(&self) -> Option<&Path> {
        self._dir.as_ref().map(|d| d.path())
    }

    /// Resident memory, KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.pid()).expect("the server's VmRSS")
    }

    /// User plus system CPU time so far, seconds.
    pub fn cpu_secs(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .expect("the server's /proc stat");
        // Fields after the command name (which may hold spaces) start at "state".
        let rest = &stat[stat.rfind(')').expect("a stat line") + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        // USER_HZ is 100 on Linux.
        ticks as f64 / 100.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of process `pid`, KiB; `None` once it is gone.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `atelya serve` with `env`, and waits until it answers.
pub async fn start_atelya(binary: &Path, env: &[(&str, String)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    let database = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    // The caller's DATABASE_URL, if any, comes later and wins.
    let env: Vec<(&str, String)> = [("DATABASE_URL", database)]
        .into_iter()
        .chain(env.iter().cloned())
        .collect();
    let child = atelya_command(binary, addr, log, &env)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "start {} ({e}); build it with cargo build --release",
                binary.display()
            )
        });
    let server = Server {
        child,
        addr,
        _dir: Some(dir),
    };
    wait_until_up(addr, Duration::from_secs(30)).await;
    server
}

/// The command that runs `atelya serve` on `addr` with the bench's settings,
/// then `env` (later entries win), its output going to `log`.
pub fn atelya_command(
    binary: &Path,
    addr: SocketAddr,
    log: std::fs::File,
    env: &[(&str, String)],
) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ATELYA_BIND", addr.to_string())
        .env("JWT_SECRET", "bench-secret-bench-secret-bench-secret")
        .env("ATELYA_ARGON2_MEMORY_KIB", "64")
        .env("ATELYA_AUTH_RATE_PER_MINUTE", "100000")
        // Every client of the bench connects from 127.0.0.1, as one user.
        .env("ATELYA_MAX_CONNECTIONS_PER_ADDRESS", "1000000")
        .env("ATELYA_WS_MAX_PER_ADDRESS", "0")
        .env("ATELYA_WS_MAX_PER_USER", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log);
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// Waits until a server answers `/healthz` on `addr`.
pub async fn wait_until_up(addr: SocketAddr, within: Duration) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .is_err()
    {
        assert!(started.elapsed() < within, "atelya did not start on {addr}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts this binary's baseline server.
pub async fn start_baseline() -> Server {
    start_own(&["baseline-server", "--bind", "127.0.0.1:0"])
}

/// Starts a subcommand of this binary that prints `listening <addr>` first.
pub fn start_own(args: &[&str]) -> Server {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the baseline server");
    let stdout = child.stdout.take().unwrap();
    let line = BufReader::new(stdout)
        .lines()
        .next()
        .expect("the baseline server says where it listens")
        .unwrap();
    let addr = line.trim_start_matches("listening ").parse().unwrap();
    Server {
        child,
        addr,
        _dir: None,
    }
}

/// Lets this process (and the servers it starts) hold a socket per watcher.
pub fn raise_open_files_limit() {
    let soft = Command::new("sh")
        .args(["-c", "ulimit -Hn"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u64>().ok());
    if let Some(hard) = soft {
        // prlimit raises this process's own soft limit to its hard limit.
        let _ = Command::new("prlimit")
            .args([
                "--pid",
                &std::process::id().to_string(),
                &format!("--nofile={hard}:{hard}"),
            ])
            .status();
    }
}

/// Creates a PostgreSQL database for one run; returns its URL.
pub fn create_database(admin: &str) -> String {
    let name = format!("atelya_bench_{}", uuid::Uuid::now_v7().simple());
    let status = Command::new("psql")
        .args([admin, "-qc", &format!("CREATE DATABASE {name}")])
        .status()
        .expect("psql runs");
    assert!(status.success(), "creating the bench database failed");
    let (base, _) = admin.rsplit_once('/').expect("a database URL");
    format!("{base}/{name}")
}

pub fn drop_database(admin: &str, url: &str) {
    let name = url.rsplit('/').next().unwrap();
    let _ = Command::new("psql")
        .args([
            admin,
            "-qc",
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        ])
        .stdout(Stdio::null())
        .status();
}

/// Transactions committed in a PostgreSQL database so far.
pub fn committed_transactions(admin: &str, url: &str) -> u64 {
    let name = url.rsplit('/').next().unwrap();
    let output = Command::new("psql")
        .args([
            admin,
            "-Atc",
            &format!("SELECT xact_commit FROM pg_stat_database WHERE datname = '{name}'"),
        ])
        .output()
        .expect("psql runs");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// Pub/sub connections Redis holds now.
pub fn pubsub_connections(redis: &str) -> usize {
    let output = Command::new("redis-cli")
        .args(["-u", redis, "CLIENT", "LIST", "TYPE", "pubsub"])
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.contains("id="))
        .count()
}
