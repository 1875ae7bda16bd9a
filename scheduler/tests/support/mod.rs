//! Real `muze-scheduler` processes for one test, against the real Postgres and RabbitMQ.
//!
//! Every [`TestEnv`] has its own world (`muze_testkit::World`: a database and a namespace
//! `tsched<10 hex>`), so tests run in parallel and in any order. [`TestEnv::run`] runs the test
//! body in a task and tears the database and queues down afterwards even if the body panicked;
//! replicas are killed when dropped, so a failing test leaves no process behind. Each replica
//! logs (JSON) to a file under `CARGO_TARGET_TMPDIR`; the files are removed when the test
//! passes and named in the output when it fails.
#![allow(dead_code)] // each test file uses a different part of the harness

use std::{
    future::Future,
    path::PathBuf,
    process::{ExitStatus, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use muze_shared::{cron::CronSchedule, domain::CrawlPage, Settings};
use muze_testkit::World;
use sqlx::PgPool;
use tokio::process::{Child, Command};
use uuid::Uuid;

/// How long a replica may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// One recorded tick of the crawl schedule.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TickRow {
    pub tick: DateTime<Utc>,
    pub fired_by: String,
    pub catch_up: bool,
    pub crawl_id: Option<Uuid>,
}

impl TickRow {
    /// The pid part of `fired_by` (`host:pid:random`).
    pub fn pid(&self) -> Option<u32> {
        self.fired_by.rsplit(':').nth(1)?.parse().ok()
    }
}

/// A database and namespace for one test, and how its replicas are configured.
#[derive(Debug, Clone)]
pub struct TestEnv {
    pub namespace: String,
    /// The test's own connection to the replicas' database.
    pub pool: PgPool,
    pub schedule: CronSchedule,
    /// The database, namespace and `MUZE__*` variables every replica gets.
    world: Arc<World>,
    logs: PathBuf,
    spawned: Arc<AtomicUsize>,
}

impl TestEnv {
    /// Runs `body` with a fresh environment whose replicas fire `cron` (in UTC) with the
    /// `catch_up` policy, then tears the environment down, then re-raises the body's panic.
    pub async fn run<F, Fut>(cron: &str, catch_up: &str, body: F)
    where
        F: FnOnce(TestEnv) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let env = TestEnv::create(cron, catch_up).await;
        let result = tokio::spawn(body(env.clone())).await;
        env.teardown(result.is_ok()).await;
        if let Err(e) = result {
            eprintln!("replica logs kept in {}", env.logs.display());
            match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => panic!("test body did not finish: {e}"),
            }
        }
    }

    async fn create(cron: &str, catch_up: &str) -> TestEnv {
        let world = World::new("tsched")
            .with("MUZE__SCHEDULER__CRAWL_CRON", cron)
            .with("MUZE__SCHEDULER__TIMEZONE", "UTC")
            .with("MUZE__SCHEDULER__CRAWL_CATCH_UP", catch_up)
            .with("MUZE__LOG__FORMAT", "json");
        // Created and migrated here, before any replica races for it.
        let pool = world.pool(4).await;
        let namespace = world.namespace().to_string();
        let logs = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{namespace}-logs"));
        std::fs::create_dir_all(&logs).expect("log directory");
        TestEnv {
            namespace,
            pool,
            schedule: CronSchedule::parse(cron, "UTC").expect("test cron"),
            world: Arc::new(world),
            logs,
            spawned: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Starts one `muze-scheduler` process.
    pub fn spawn_replica(&self) -> Replica {
        let n = self.spawned.fetch_add(1, Ordering::SeqCst);
        let log_path = self.logs.join(format!("replica-{n}.log"));
        let log = std::fs::File::create(&log_path).expect("replica log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_muze-scheduler"));
        // Only this test's configuration, whatever the environment running the tests holds.
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("MUZE")) {
            command.env_remove(key);
        }
        let child = command
            .envs(self.world.env().iter().cloned())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("muze-scheduler starts");
        let pid = child.id().expect("a running child has a pid");
        Replica {
            child,
            pid,
            log_path,
        }
    }

    /// Every recorded tick of the crawl schedule, oldest first.
    pub async fn ticks(&self) -> Vec<TickRow> {
        sqlx::query_as(
            "SELECT tick, fired_by, catch_up, crawl_id FROM schedule_ticks
             WHERE schedule = 'crawl' ORDER BY tick",
        )
        .fetch_all(&self.pool)
        .await
        .expect("ticks")
    }

    /// One number from the database.
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }

    /// Polls the recorded ticks until `done` holds; panics with `what` after `timeout`.
    pub async fn wait_for_ticks(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[TickRow]) -> bool,
    ) -> Vec<TickRow> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let ticks = self.ticks().await;
            if done(&ticks) {
                return ticks;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; ticks: {ticks:#?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Messages waiting on the namespace's crawl queue (a passive declare).
    pub async fn crawl_queue_depth(&self) -> u32 {
        let broker = self.world.broker().await;
        let depth = broker
            .ready_in(&broker.topology().crawl.work)
            .await
            .expect("the crawl queue exists");
        broker.close().await;
        u32::try_from(depth).unwrap_or(u32::MAX)
    }

    /// Root pages each crawl starts with, for the replicas' (default) sources.
    pub fn roots_per_crawl(&self) -> usize {
        CrawlPage::roots(&self.settings().crawl.sources).len()
    }

    /// The settings the replicas run with.
    pub fn settings(&self) -> Settings {
        self.world.settings()
    }

    /// The tick after `after`.
    pub fn tick_after(&self, after: DateTime<Utc>) -> DateTime<Utc> {
        self.schedule
            .next_after(after)
            .expect("the test cron fires")
    }

    async fn teardown(&self, passed: bool) {
        self.pool.close().await;
        self.world.teardown().await;
        if passed {
            let _ = std::fs::remove_dir_all(&self.logs);
        }
    }
}

/// Sleeps until the wall clock reads `at` (returns at once if it is past).
pub async fn sleep_until(at: DateTime<Utc>) {
    if let Ok(wait) = (at - Utc::now()).to_std() {
        tokio::time::sleep(wait).await;
    }
}

/// A running `muze-scheduler` process; SIGKILLed if dropped while running.
#[derive(Debug)]
pub struct Replica {
    child: Child,
    pub pid: u32,
    pub log_path: PathBuf,
}

impl Replica {
    /// Kills the process outright (SIGKILL), as a crash or `kill -9` would.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL");
    }

    /// Asks the process to stop (SIGTERM) without waiting for it.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM {} failed", self.pid);
    }

    /// Waits for the process to exit after [`Replica::terminate`].
    pub async fn wait_stopped(mut self) -> ExitStatus {
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(status) => status.expect("wait"),
            Err(_) => panic!(
                "replica {} did not stop within {STOP_TIMEOUT:?}; log: {}",
                self.pid,
                self.log_path.display()
            ),
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        // `kill_on_drop` does this too; said here so no path leaves a replica running.
        let _ = self.child.start_kill();
    }
}

/// Stops every replica with SIGTERM and checks each exits cleanly.
pub async fn stop_all(replicas: Vec<Replica>) {
    for replica in &replicas {
        replica.terminate();
    }
    for replica in replicas {
        let pid = replica.pid;
        let log = replica.log_path.clone();
        let status = replica.wait_stopped().await;
        assert!(
            status.success(),
            "replica {pid} exited with {status} after SIGTERM; log: {}",
            log.display()
        );
    }
}
