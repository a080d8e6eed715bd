//! The two `atelya serve` instances (A and B) on one PostgreSQL database and
//! one Redis: starting them, restarting one on schedule (SIGTERM, wait for
//! it to exit, stay down a few seconds, start again on the same port), and
//! sampling their RSS from `/proc`.

use std::{
    io::Write,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use nix::{sys::signal, unistd::Pid};
use tokio::sync::watch;

use super::{figures::Timeline, watcher::Phase, SoakSettings};
use crate::process;

const NAMES: [&str; 2] = ["A", "B"];

/// The process an instance runs now: its pid, and which life of the
/// instance it is (0 until the first restart, then 1, ...).
#[derive(Debug, Clone, Copy)]
pub struct Life {
    pub pid: u32,
    pub life: usize,
}

/// What each instance runs now (`None` while it is down).
pub type Pids = Arc<Mutex<[Option<Life>; 2]>>;

struct Instance {
    addr: SocketAddr,
    log: PathBuf,
    child: Option<tokio::process::Child>,
    life: usize,
}

pub struct Cluster {
    instances: [Instance; 2],
    binary: PathBuf,
    env: Vec<(String, String)>,
    pids: Pids,
}

/// One restart, in seconds since the load began.
#[derive(Debug, Clone)]
pub struct Restart {
    pub instance: usize,
    pub at: f64,
    /// From SIGTERM until the process exited.
    pub exit_secs: f64,
    /// It did not exit within `--stop-timeout-secs` and was killed.
    pub killed: bool,
    /// From SIGTERM until it answered again.
    pub down_secs: f64,
}

/// One RSS reading.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub instance: usize,
    pub life: usize,
    /// Seconds since the load began.
    pub t: f64,
    pub kib: u64,
}

impl Cluster {
    /// Starts A, then B (A applies the migrations first), and waits until both answer.
    pub async fn start(settings: &SoakSettings, database: &str, logs: &Path) -> Cluster {
        let prefix = format!("atelya-soak-{}", uuid::Uuid::now_v7().simple());
        let env = [
            ("DATABASE_URL", database.to_owned()),
            ("REDIS_URL", settings.redis.clone()),
            ("ATELYA_REDIS_PREFIX", prefix),
            (
                "ATELYA_BUILTIN_TOKEN_DELAY_MS",
                settings.token_delay_ms.to_string(),
            ),
            // Tokens outlast the soak: renewing them is not what it measures.
            ("ATELYA_ACCESS_TOKEN_TTL", "86400".to_owned()),
            // The watchers' and the driver's requests stay clear of the hourly budget.
            ("ATELYA_COST_BUDGET_PER_HOUR", "0".to_owned()),
        ];
        let env = env
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .chain(settings.server_env.iter().cloned())
            .collect();
        let instances = NAMES.map(|name| Instance {
            addr: format!("127.0.0.1:{}", process::free_port())
                .parse()
                .unwrap(),
            log: logs.join(format!("server-{name}.log")),
            child: None,
            life: 0,
        });
        let mut cluster = Cluster {
            instances,
            binary: settings.server.clone(),
            env,
            pids: Arc::new(Mutex::new([None, None])),
        };
        for i in 0..2 {
            cluster.launch(i).await;
        }
        cluster
    }

    pub fn urls(&self) -> [String; 2] {
        self.instances
            .each_ref()
            .map(|i| format!("http://{}/graphql", i.addr))
    }

    pub fn ws_urls(&self) -> [String; 2] {
        self.instances
            .each_ref()
            .map(|i| format!("ws://{}/graphql", i.addr))
    }

    pub fn pids(&self) -> Pids {
        self.pids.clone()
    }

    async fn launch(&mut self, i: usize) {
        let instance = &mut self.instances[i];
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&instance.log)
            .expect("the server's log file");
        writeln!(log, "--- {} life {} starts", NAMES[i], instance.life).unwrap();
        let env: Vec<(&str, String)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let command = process::atelya_command(&self.binary, instance.addr, log, &env);
        let child = tokio::process::Command::from(command)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "start {} ({e}); build it with cargo build --release",
                    self.binary.display()
                )
            });
        let pid = child.id().expect("a running server");
        instance.child = Some(child);
        process::wait_until_up(instance.addr, Duration::from_secs(120)).await;
        self.pids.lock().unwrap()[i] = Some(Life {
            pid,
            life: instance.life,
        });
    }

    /// SIGTERM, then waits for the process to exit (killing it after
    /// `timeout`); returns how long it took and whether it had to be killed.
    async fn terminate(&mut self, i: usize, timeout: Duration) -> (Duration, bool) {
        self.pids.lock().unwrap()[i] = None;
        let Some(mut child) = self.instances[i].child.take() else {
            return (Duration::ZERO, false);
        };
        let started = Instant::now();
        if let Some(pid) = child.id() {
            signal::kill(Pid::from_raw(pid as i32), signal::Signal::SIGTERM).expect("send SIGTERM");
        }
        match tokio::time::timeout(timeout, child.wait()).await {
            Ok(_) => (started.elapsed(), false),
            Err(_) => {
                let _ = child.kill().await;
                (started.elapsed(), true)
            }
        }
    }

    async fn restart(&mut self, i: usize, settings: &SoakSettings, timeline: &Timeline) -> Restart {
        let at = timeline.secs();
        eprintln!("{:>7.1} s: restarting {}", at, NAMES[i]);
        let began = Instant::now();
        let timeout = Duration::from_secs(settings.stop_timeout_secs);
        let (exit, killed) = self.terminate(i, timeout).await;
        tokio::time::sleep(Duration::from_secs(settings.down_secs)).await;
        self.instances[i].life += 1;
        self.launch(i).await;
        let restart = Restart {
            instance: i,
            at,
            exit_secs: exit.as_secs_f64(),
            killed,
            down_secs: began.elapsed().as_secs_f64(),
        };
        eprintln!("{:>7.1} s: {restart:?}", timeline.secs());
        restart
    }

    /// Restarts A, B, A, ... every `--restart-every` minutes until the load
    /// is over; returns when it is.
    pub async fn restart_on_schedule(
        &mut self,
        settings: &SoakSettings,
        timeline: &Timeline,
    ) -> Vec<Restart> {
        let load = settings.load();
        let every = Duration::from_secs_f64(settings.restart_every.max(0.0) * 60.0);
        let mut restarts = Vec::new();
        for k in 1.. {
            let at = every * k;
            if every.is_zero() || at >= load {
                break;
            }
            tokio::time::sleep_until(timeline.start() + at).await;
            let i = (k as usize - 1) % 2;
            restarts.push(self.restart(i, settings, timeline).await);
        }
        tokio::time::sleep_until(timeline.start() + load).await;
        restarts
    }

    /// Stops both instances (SIGTERM).
    pub async fn stop(&mut self) {
        for i in 0..2 {
            self.terminate(i, Duration::from_secs(30)).await;
        }
    }
}

/// Reads each running instance's RSS every `every` while the load lasts.
pub async fn sample_rss(
    pids: Pids,
    timeline: Timeline,
    every: Duration,
    mut phase: watch::Receiver<Phase>,
) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval(every);
    while *phase.borrow() == Phase::Running {
        tokio::select! {
            _ = tick.tick() => {}
            _ = phase.changed() => continue,
        }
        let lives = *pids.lock().unwrap();
        for (instance, life) in lives.iter().enumerate() {
            let Some(Life { pid, life }) = *life else {
                continue;
            };
            if let Some(kib) = process::rss_kib(pid) {
                let t = timeline.secs();
                samples.push(Sample {
                    instance,
                    life,
                    t,
                    kib,
                });
            }
        }
    }
    samples
}
