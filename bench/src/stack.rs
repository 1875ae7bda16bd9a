//! Starts the release binaries as processes: one sim, one API, N workers, on a fresh
//! database and namespace, and stops them when dropped.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::Context;
use muze_shared::domain::SearchView;
use serde_json::json;

/// The dev key the stack's API accepts.
pub const KEY: &str = "bench-key";

/// Replaced by the sim's base URL (`http://127.0.0.1:<port>`) in extra environment values.
pub const SIM_URL: &str = "{sim_url}";

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
    env: Vec<(String, String)>,
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
        Self::start_with_sim_args(
            workers,
            sim_latency_ms,
            extra_env,
            &[
                "--spotify-limit",
                "off",
                "--youtube-limit",
                "off",
                "--youtube-daily-quota",
                "off",
            ],
        )
        .await
    }

    /// Like [`Stack::start`], with extra `muze-sim` arguments (its limits). In `extra_env`
    /// values, [`SIM_URL`] stands for the sim's base URL.
    pub async fn start_with_sim_args(
        workers: usize,
        sim_latency_ms: u64,
        extra_env: &[(&str, &str)],
        sim_args: &[&str],
    ) -> anyhow::Result<Stack> {
        let namespace = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let sim_port = free_port()?;
        let api_port = free_port()?;
        let sim_url = format!("http://127.0.0.1:{sim_port}");
        let mut env: Vec<(String, String)> = vec![
            ("MUZE__NAMESPACE".into(), namespace.clone()),
            (
                "MUZE__DATABASE__URL".into(),
                format!("postgres://postgres@127.0.0.1:5432/muze_{namespace}"),
            ),
            ("MUZE__API__BIND".into(), format!("127.0.0.1:{api_port}")),
            ("MUZE__API__KEYS".into(), KEY.into()),
            ("MUZE__API__REQUESTS_PER_MINUTE".into(), "10000000".into()),
            ("MUZE__API__REQUEST_BURST".into(), "1000000".into()),
            // Benchmarks measure the pipeline, not the per-key allowance of upstream searches.
            ("MUZE__API__SEARCHES_PER_MINUTE".into(), "10000000".into()),
            ("MUZE__API__SEARCH_BURST".into(), "1000000".into()),
            ("MUZE__LOG__FORMAT".into(), "json".into()),
            // The bench's own RUST_LOG, if any, reaches every process of the stack.
            (
                "RUST_LOG".into(),
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            ),
            ("MUZE__SEARCH__PROVIDERS".into(), "spotify".into()),
        ];
        // Every provider of the list points at the sim, unthrottled.
        env.extend(
            muze_shared::domain::ProviderName::ALL
                .into_iter()
                .flat_map(|p| p.sim_env(&sim_url, "1000000/30s")),
        );
        // Budgets belong to credentials; each run spends a budget of its own.
        env.extend(muze_shared::domain::ProviderName::ALL.map(|p| {
            (
                format!("MUZE__PROVIDERS__{}__BUDGET_KEY", p.env_name()),
                namespace.clone(),
            )
        }));
        env.extend(
            extra_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.replace(SIM_URL, &sim_url))),
        );
        let mut stack = Stack {
            api_url: format!("http://127.0.0.1:{api_port}"),
            sim_url: sim_url.clone(),
            namespace,
            children: Vec::new(),
            names: Vec::new(),
            started: 0,
            env,
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
            stack.spawn("muze-worker", &[])?;
        }
        // Workers connect and declare their consumers.
        tokio::time::sleep(Duration::from_secs(1)).await;
        stack.ensure_running()?;
        Ok(stack)
    }

    /// Fails if a process of the stack has exited (it said why on stderr): a benchmark would
    /// otherwise wait forever for searches nobody works on.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        for child in &mut self.children {
            if let Some(status) = child.try_wait()? {
                anyhow::bail!(
                    "a process of the stack (pid {}) exited: {status}",
                    child.id()
                );
            }
        }
        Ok(())
    }

    /// Where a new process's log goes: nowhere, or with `MUZE_BENCH_LOGS=<dir>` to
    /// `<dir>/<binary>-<n>.log` (`n` counts the processes started), to read after a run.
    fn log_of(&self, name: &str) -> anyhow::Result<Stdio> {
        let Some(dir) = std::env::var_os(LOGS_ENV) else {
            return Ok(Stdio::null());
        };
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{name}-{}.log", self.started));
        let file =
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Stdio::from(file))
    }

    fn spawn(&mut self, name: &str, args: &[&str]) -> anyhow::Result<()> {
        let log = self.log_of(name)?;
        self.started += 1;
        let child = Command::new(binary(name)?)
            .args(args)
            .envs(self.env.iter().cloned())
            .stdout(log)
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        self.children.push(child);
        self.names.push(name.to_string());
        Ok(())
    }

    /// Starts one more worker.
    pub fn spawn_worker(&mut self) -> anyhow::Result<()> {
        self.spawn("muze-worker", &[])
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
    for _ in 0..100 {
        if reqwest::get(url)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{url} did not answer")
}

impl Drop for Stack {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        for child in &mut self.children {
            let _ = child.wait();
        }
        self.teardown();
    }
}

impl Stack {
    /// Deletes the run's queues, budgets and database, so repeated runs leave nothing behind. Runs on a
    /// thread of its own: it is called from `drop`, possibly inside the benchmark's runtime.
    fn teardown(&self) {
        let env = self.env.clone();
        let namespace = self.namespace.clone();
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let Ok(settings) = muze_shared::Settings::load_from(None, env) else {
                    return;
                };
                let topology = muze_shared::queue::Topology::new(
                    &settings.namespace,
                    settings.worker.delivery_limit,
                );
                if let Ok(broker) =
                    muze_shared::queue::Broker::connect(settings.amqp.url.clone(), topology).await
                {
                    let _ = broker.delete_namespace_queues().await;
                    broker.close().await;
                }
                if let (Ok(redis), Ok(pool)) = (
                    muze_shared::redis_conn::Redis::connect(&settings.redis.url).await,
                    muze_shared::db::connect(&settings.database.url, 1).await,
                ) {
                    let limiter = muze_shared::rate_limit::RateLimiter::new(&settings, redis, pool);
                    for p in muze_shared::domain::ProviderName::ALL {
                        let _ = limiter.forget(p).await;
                    }
                }
            });
            let _ = Command::new("psql")
                .args(["-h", "127.0.0.1", "-U", "postgres", "-q", "-c"])
                .arg(format!(
                    "DROP DATABASE IF EXISTS \"muze_{namespace}\" WITH (FORCE)"
                ))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        })
        .join();
    }
}

/// POST, then long-poll until the search is final.
pub async fn search_until_final(
    client: &reqwest::Client,
    api: &str,
    query: &str,
) -> anyhow::Result<SearchView> {
    let mut view: SearchView = client
        .post(format!("{api}/v1/searches"))
        .bearer_auth(KEY)
        .json(&json!({ "query": query }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    while !view.status.is_final() {
        view = client
            .get(format!("{api}/v1/searches/{}?wait=30", view.id))
            .bearer_auth(KEY)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
    }
    Ok(view)
}

/// Distinct "title artist" queries, one per song of the sim's default catalog, in catalog order.
pub fn song_queries() -> Vec<String> {
    muze_sim::catalog::Catalog::generate(42, 3000).title_artist_queries()
}
