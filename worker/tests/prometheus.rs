//! A real Prometheus (Debian's package, installed by `scripts/tools/prometheus.sh`) scrapes a
//! running fleet — the API, two workers and the scheduler — during a small load, with the
//! shipped alert rules loaded; and promtool checks and unit-tests those rules.

mod fleet;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use fleet::{eventually, free_port, small_load, Fleet};
use serde_json::Value;

/// `deploy/prometheus/` in the repository.
fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus")
}

/// The path of an installed tool, or a failure that says how to install it.
fn tool(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is not installed: run `bash scripts/tools/prometheus.sh`")
        })
}

#[test]
fn the_alert_rules_pass_promtool_check_and_their_unit_tests() {
    let promtool = tool("promtool");
    let dir = deploy_dir();
    for args in [
        vec!["check", "rules", "alerts.yml"],
        vec!["test", "rules", "alerts_test.yml"],
        vec!["check", "config", "prometheus.yml"],
    ] {
        let out = Command::new(&promtool)
            .args(&args)
            .current_dir(&dir)
            .output()
            .expect("promtool runs");
        assert!(
            out.status.success(),
            "promtool {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A Prometheus server run for one test: its own config, data directory and port. Dropping
/// it (also when the test fails) kills it by pid and deletes the directory.
struct Prometheus {
    child: Child,
    dir: PathBuf,
    url: String,
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` ((job, host:port)) every second, with the shipped
    /// alert rules, and waits until it is ready.
    async fn start(targets: &[(&str, String)]) -> Prometheus {
        let binary = tool("prometheus");
        let dir = std::env::temp_dir().join(format!("muze-prometheus-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("data")).expect("temp dir");
        let mut jobs: Vec<(&str, Vec<String>)> = Vec::new();
        for (job, target) in targets {
            match jobs.iter_mut().find(|(j, _)| j == job) {
                Some((_, list)) => list.push(target.clone()),
                None => jobs.push((job, vec![target.clone()])),
            }
        }
        let mut config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n",
            deploy_dir().join("alerts.yml").display()
        );
        for (job, list) in &jobs {
            let list: Vec<String> = list.iter().map(|t| format!("'{t}'")).collect();
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: [{}]\n",
                list.join(", ")
            ));
        }
        std::fs::write(dir.join("prometheus.yml"), config).expect("config written");
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts");
        let prometheus = Prometheus {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let ready = eventually(Duration::from_secs(30), || async {
            let r = http
                .get(format!("{}/-/ready", prometheus.url))
                .send()
                .await
                .ok()?;
            r.status().is_success().then_some(())
        })
        .await;
        assert!(ready.is_some(), "prometheus never became ready");
        prometheus
    }

    /// The result vector of an instant query.
    async fn query(&self, http: &reqwest::Client, query: &str) -> Vec<Value> {
        let body: Value = http
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", query)])
            .send()
            .await
            .expect("prometheus answers")
            .json()
            .await
            .expect("JSON");
        assert_eq!(body["status"], "success", "{query}: {body}");
        body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The value of a one-sample result.
fn number(result: &[Value]) -> f64 {
    result
        .first()
        .and_then(|r| r["value"][1].as_str())
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_scrapes_the_api_two_workers_and_the_scheduler_during_a_load() {
    let fleet = Fleet::start(2, 300).await;
    let prometheus = Prometheus::start(&fleet.targets()).await;
    let http = &fleet.http;

    let load = small_load(&fleet).await;

    // Every target is up.
    let up = eventually(Duration::from_secs(20), || async {
        let up = prometheus.query(http, "up == 1").await;
        (up.len() == 4).then_some(up)
    })
    .await;
    assert!(
        up.is_some(),
        "not every target is up: {:?}",
        prometheus.query(http, "up").await
    );
    // Prometheus has scraped the load's end (the counts match what was done).
    let answered = load.answered() as f64;
    let scraped = eventually(Duration::from_secs(20), || async {
        let jobs = prometheus
            .query(
                http,
                r#"sum(muze_jobs_finished_total{kind="search",status="succeeded"})"#,
            )
            .await;
        (number(&jobs) == answered).then_some(())
    })
    .await;
    assert!(
        scraped.is_some(),
        "Prometheus never saw {answered} finished searches"
    );

    // A query per family returns data.
    let queries = [
        r#"sum by (route, status) (muze_http_requests_total{job="api"})"#,
        r#"histogram_quantile(0.99, sum by (le) (muze_http_request_duration_seconds_bucket))"#,
        r#"sum(muze_catalog_lookups_total{result="hit"}) / sum(muze_catalog_lookups_total)"#,
        "sum(muze_searches_joined_total)",
        "sum(muze_long_poll_waiters)",
        "sum by (kind, status) (muze_jobs_finished_total)",
        // POST → final p50 and p99, aggregated over both workers' buckets.
        "histogram_quantile(0.5, sum by (le) (muze_search_latency_seconds_bucket))",
        "histogram_quantile(0.99, sum by (le) (muze_search_latency_seconds_bucket))",
        "sum by (provider, outcome) (muze_provider_calls_total)",
        "histogram_quantile(0.9, sum by (le, provider) (muze_provider_call_duration_seconds_bucket))",
        "sum by (provider) (muze_provider_throttled_total)",
        "max by (provider) (muze_budget_calls_in_window)",
        "max by (provider) (muze_budget_limit)",
        "max by (provider) (muze_budget_cooldown_seconds)",
        r#"max by (provider) (muze_budget_breaker_state{state="closed"})"#,
        "max by (provider) (muze_budget_quota_left)",
        "max by (kind, state) (muze_queue_messages)",
        "max by (kind) (muze_queue_consumers)",
        "sum(muze_messages_parked_total)",
        "sum by (repair) (muze_sweeper_repairs_total)",
        "max by (state) (muze_crawl_pages)",
        "sum(muze_scheduler_ticks_fired_total)",
        "max(muze_scheduler_next_tick_timestamp_seconds)",
    ];
    for query in queries {
        let result = prometheus.query(http, query).await;
        assert!(!result.is_empty(), "no data for {query}");
        let value = number(&result);
        assert!(value.is_finite(), "{query} = {value}");
    }
    let p99 = number(
        &prometheus
            .query(
                http,
                "histogram_quantile(0.99, sum by (le) (muze_search_latency_seconds_bucket))",
            )
            .await,
    );
    assert!(
        p99 >= 0.3,
        "every search waited the sim's 300 ms at least: p99 {p99}"
    );
    let hits = number(
        &prometheus
            .query(http, r#"sum(muze_catalog_lookups_total{result="hit"})"#)
            .await,
    );
    assert_eq!(hits, load.repeats as f64);
    let consumers = number(
        &prometheus
            .query(http, r#"max(muze_queue_consumers{kind="search"})"#)
            .await,
    );
    assert_eq!(consumers, 2.0);
    // The shipped rules loaded and were evaluated against the fleet.
    let rules: Value = http
        .get(format!("{}/api/v1/rules", prometheus.url))
        .send()
        .await
        .expect("rules")
        .json()
        .await
        .expect("JSON");
    let loaded = rules["data"]["groups"][0]["rules"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(loaded >= 7, "alert rules loaded: {rules}");
}
