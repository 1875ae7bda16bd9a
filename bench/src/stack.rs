//! Starts the release binaries as processes: one sim, one API, N workers, in a world of their
//! own (`muze_testkit::World`: a fresh database, namespace and budgets), and stops them and
//! removes the world when dropped.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use muze_shared::domain::SearchView;
use muze_testkit::{
    processes::{free_port, Output, Processes},
    ApiClient, World,
};

/// The dev key the stack's API accepts.
pub const KEY: &str = "bench-key";

/// Replaced by the sim's base URL (`http://127.0.0.1:<port>`) in extra environment values.
pub const SIM_URL: &str = "{sim_url}";

/// `muze-sim` arguments that lift the limits of the providers a stack searches by default.
pub const UNLIMITED_SIM: [&str; 6] = [
    "--spotify-limit",
    "off",
    "--youtube-limit",
    "off",
    "--youtube-daily-quota",
    "off",
];

/// A running stack.
#[derive(Debug)]
pub struct Stack {
    pub api_url: String,
    pub sim_url: String,
    pub namespace: String,
    /// Declared before the world: stopped before it is removed.
    processes: Processes,
    world: World,
}

/// Names a directory that receives each process's log (stdout), one file per process.
pub const LOGS_ENV: &str = "MUZE_BENCH_LOGS";

/// The directory of the running benchmark's own binary, where `cargo build --release --bins`
/// put the stack's binaries beside it.
fn bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("the benchmark's directory")?;
    for name in ["muze-sim", "muze-api", "muze-worker"] {
        anyhow::ensure!(
            dir.join(name).exists(),
            "{} not found: build first with `cargo build --release --bins`",
            dir.join(name).display()
        );
    }
    Ok(dir.to_path_buf())
}

/// How long each process of the stack may take to answer after it starts.
const STARTING_WITHIN: Duration = Duration::from_secs(10);
/// How long a worker may take to become ready (connected, its consumers subscribed).
const WORKER_READY_WITHIN: Duration = Duration::from_secs(60);

impl Stack {
    /// Starts sim (with `sim_latency_ms` on every call and no Spotify limit), the API and
    /// `workers` workers.
    pub async fn start(
        workers: usize,
        sim_latency_ms: u64,
        extra_env: &[(&str, &str)],
    ) -> anyhow::Result<Stack> {
        Self::start_with_sim_args(workers, sim_latency_ms, extra_env, &UNLIMITED_SIM).await
    }

    /// Like [`Stack::start`], with extra `muze-sim` arguments (its limits). In `extra_env`
    /// values, [`SIM_URL`] stands for the sim's base URL.
    pub async fn start_with_sim_args(
        workers: usize,
        sim_latency_ms: u64,
        extra_env: &[(&str, &str)],
        sim_args: &[&str],
    ) -> anyhow::Result<Stack> {
        Self::start_logged(workers, sim_latency_ms, extra_env, sim_args, None).await
    }

    /// Like [`Stack::start_with_sim_args`], each process's log (stdout) written to a file in
    /// `logs`, else in `MUZE_BENCH_LOGS` if set, else nowhere.
    pub async fn start_logged(
        workers: usize,
        sim_latency_ms: u64,
        extra_env: &[(&str, &str)],
        sim_args: &[&str],
        logs: Option<PathBuf>,
    ) -> anyhow::Result<Stack> {
        let logs = logs.or_else(|| std::env::var_os(LOGS_ENV).map(PathBuf::from));
        let mut world = World::new("bench");
        let sim_port = free_port();
        let api_port = free_port();
        let sim_url = format!("http://127.0.0.1:{sim_port}");
        for (key, value) in [
            ("MUZE__API__BIND", format!("127.0.0.1:{api_port}")),
            ("MUZE__API__KEYS", KEY.into()),
            ("MUZE__LOG__FORMAT", "json".into()),
            // The bench's own RUST_LOG, if any, reaches every process of the stack.
            (
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            ),
            ("MUZE__SEARCH__PROVIDERS", "spotify".into()),
        ] {
            world.set(key, value);
        }
        // Benchmarks measure the pipeline, not the per-key allowances.
        world.lift_client_limits();
        // Every provider of the list points at the sim, unthrottled.
        world.point_at_sim(&sim_url, "1000000/30s");
        for (key, value) in extra_env {
            world.set(key, value.replace(SIM_URL, &sim_url));
        }
        let mut stack = Stack {
            api_url: format!("http://127.0.0.1:{api_port}"),
            sim_url: sim_url.clone(),
            namespace: world.namespace().to_string(),
            processes: Processes::new(bin_dir()?)
                .output(logs.map_or(Output::Discard, Output::Files)),
            world,
        };
        let bind = format!("127.0.0.1:{sim_port}");
        let latency = sim_latency_ms.to_string();
        let mut args = vec!["--bind", &bind, "--latency-ms", &latency];
        args.extend_from_slice(sim_args);
        stack.spawn("muze-sim", &args)?;
        stack
            .wait_ready(&format!("{sim_url}/_health"))
            .await
            .context("sim")?;
        stack.spawn("muze-api", &[])?;
        let api_ready = format!("{}/readyz", stack.api_url);
        stack.wait_ready(&api_ready).await.context("api")?;
        for _ in 0..workers {
            stack.spawn_worker().await?;
        }
        Ok(stack)
    }

    /// Starts binary `name` with `args` and the stack's settings. Its standard output goes
    /// nowhere, or (with `MUZE_BENCH_LOGS=<dir>`, or the directory given to
    /// [`Stack::start_logged`]) to `<dir>/<binary>-<n>.log` (`n` counts the processes
    /// started), to read after a run.
    fn spawn(&mut self, name: &str, args: &[&str]) -> anyhow::Result<()> {
        self.processes.spawn(&self.world, name, args, &[])?;
        Ok(())
    }

    async fn wait_ready(&mut self, url: &str) -> anyhow::Result<()> {
        self.processes
            .wait_ready(url, STARTING_WITHIN)
            .await
            .map_err(anyhow::Error::msg)
    }

    /// Starts one more worker and waits until it is ready: connected, its consumers on
    /// their queues (its `/readyz` answers 200).
    pub async fn spawn_worker(&mut self) -> anyhow::Result<()> {
        self.processes
            .spawn_worker(&self.world, &[], WORKER_READY_WITHIN)
            .await
            .map_err(anyhow::Error::msg)
            .context("muze-worker")?;
        Ok(())
    }

    /// Each running process: its binary's name and pid.
    pub fn processes(&self) -> Vec<(String, u32)> {
        self.processes.pids()
    }

    /// SIGKILLs the newest worker (no chance to finish or hand back its jobs); returns its pid.
    pub fn kill_worker(&mut self) -> anyhow::Result<u32> {
        let pid = self
            .processes
            .newest("muze-worker")
            .context("no worker to kill")?;
        self.processes.kill(pid)?;
        Ok(pid)
    }
}

/// POST, then long-poll until the search is final, with the stack's key.
pub async fn search_until_final(
    client: &reqwest::Client,
    api: &str,
    query: &str,
) -> anyhow::Result<SearchView> {
    ApiClient::with_http(api, KEY, client.clone())
        .search_until_final(query)
        .await
}

/// Distinct "title artist" queries, one per song of the sim's default catalog, in catalog order.
pub fn song_queries() -> Vec<String> {
    muze_testkit::catalog_queries(usize::MAX)
}
