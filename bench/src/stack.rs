//! Starts the release binaries as processes: one sim, one API, N workers, in a world of their
//! own (`muze_testkit::World`: a fresh database, namespace and budgets), and stops them and
//! removes the world when dropped.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::Context;
use muze_shared::domain::SearchView;
use muze_testkit::{wait, ApiClient, World};

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
    children: Vec<Child>,
    /// The binary each child runs, by position in `children`.
    names: Vec<String>,
    /// Processes started so far, numbering their log files.
    started: usize,
    /// Where each process's log goes, if anywhere.
    logs: Option<PathBuf>,
    /// Declared last: removed after the processes are stopped.
    world: World,
}

/// Names a directory that receives each process's log (stdout), one file per process.
pub const LOGS_ENV: &str = "MUZE_BENCH_LOGS";

fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name(name);
    anyhow::ensure!(
        path.exists(),
        "{} not found: build first with `cargo build --release --bins`",
        path.display()
    );
    Ok(path)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

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
        let sim_port = free_port()?;
        let api_port = free_port()?;
        let sim_url = format!("http://127.0.0.1:{sim_port}");
        for (key, value) in [
            ("MUZE__API__BIND", format!("127.0.0.1:{api_port}")),
            ("MUZE__API__KEYS", KEY.into()),
            ("MUZE__API__REQUESTS_PER_MINUTE", "10000000".into()),
            ("MUZE__API__REQUEST_BURST", "1000000".into()),
            // Benchmarks measure the pipeline, not the per-key allowance of upstream searches.
            ("MUZE__API__SEARCHES_PER_MINUTE", "10000000".into()),
            ("MUZE__API__SEARCH_BURST", "1000000".into()),
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
        // Every provider of the list points at the sim, unthrottled.
        world.point_at_sim(&sim_url, "1000000/30s");
        for (key, value) in extra_env {
            world.set(key, value.replace(SIM_URL, &sim_url));
        }
        let mut stack = Stack {
            api_url: format!("http://127.0.0.1:{api_port}"),
            sim_url: sim_url.clone(),
            namespace: world.namespace().to_string(),
            children: Vec::new(),
            names: Vec::new(),
            started: 0,
            logs,
            world,
        };
        let bind = format!("127.0.0.1:{sim_port}");
        let latency = sim_latency_ms.to_string();
        let mut args = vec!["--bind", &bind, "--latency-ms", &latency];
        args.extend_from_slice(sim_args);
        stack.spawn("muze-sim", &args)?;
        wait_ok(&format!("{sim_url}/_health"))
            .await
            .context("sim")?;
        stack.spawn("muze-api", &[])?;
        wait_ok(&format!("{}/readyz", stack.api_url))
            .await
            .context("api")?;
        for _ in 0..workers {
            stack.spawn_worker().await?;
        }
        Ok(stack)
    }

    /// Where a new process's log goes: nowhere, or (with `MUZE_BENCH_LOGS=<dir>`, or the
    /// directory given to [`Stack::start_logged`]) to `<dir>/<binary>-<n>.log` (`n` counts the
    /// processes started), to read after a run.
    fn log_of(&self, name: &str) -> anyhow::Result<Stdio> {
        let Some(dir) = self.logs.clone() else {
            return Ok(Stdio::null());
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{name}-{}.log", self.started));
        let file =
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Stdio::from(file))
    }

    fn spawn(&mut self, name: &str, args: &[&str]) -> anyhow::Result<()> {
        self.spawn_with(name, args, &[])
    }

    fn spawn_with(
        &mut self,
        name: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<()> {
        let log = self.log_of(name)?;
        self.started += 1;
        let child = Command::new(binary(name)?)
            .args(args)
            .envs(self.world.env().iter().cloned())
            .envs(env.iter().copied())
            .stdout(log)
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        self.children.push(child);
        self.names.push(name.to_string());
        Ok(())
    }

    /// Starts one more worker and waits until it is ready: connected, its consumers on
    /// their queues (its `/readyz` answers 200).
    pub async fn spawn_worker(&mut self) -> anyhow::Result<()> {
        let ops = format!("127.0.0.1:{}", free_port()?);
        self.spawn_with("muze-worker", &[], &[("MUZE__WORKER__METRICS_BIND", &ops)])?;
        let child = self
            .children
            .last_mut()
            .context("the worker just started")?;
        wait::ready(
            &format!("http://{ops}/readyz"),
            Duration::from_secs(60),
            || match child.try_wait() {
                Ok(Some(status)) => Err(format!("the worker exited: {status}")),
                _ => Ok(()),
            },
        )
        .await
        .map_err(anyhow::Error::msg)
        .context("muze-worker")
    }

    /// Each running process: its binary's name and pid.
    pub fn processes(&self) -> Vec<(String, u32)> {
        self.names
            .iter()
            .cloned()
            .zip(self.children.iter().map(Child::id))
            .collect()
    }

    /// SIGKILLs the newest worker (no chance to finish or hand back its jobs); returns its pid.
    pub fn kill_worker(&mut self) -> anyhow::Result<u32> {
        let at = self
            .names
            .iter()
            .rposition(|n| n == "muze-worker")
            .context("no worker to kill")?;
        let mut child = self.children.remove(at);
        self.names.remove(at);
        let pid = child.id();
        let killed = child.kill();
        child.wait()?;
        killed?;
        Ok(pid)
    }
}

async fn wait_ok(url: &str) -> anyhow::Result<()> {
    wait::ready(url, Duration::from_secs(10), || Ok(()))
        .await
        .map_err(anyhow::Error::msg)
}

impl Drop for Stack {
    /// Stops every process (SIGTERM, then waits); the world then removes the run's queues,
    /// budgets and database as it drops.
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        for child in &mut self.children {
            let _ = child.wait();
        }
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
