//! The operators' page in a real browser: Debian's headless Chromium, driven by playwright-core
//! (`api/tests/browser/status_page.mjs`), against the real stack after a small load. The page
//! must load from the API alone, refuse an unknown and a client key with clear messages, say so
//! when the API is out of reach, and show the same numbers as `/v1/admin/status` read right
//! after it. The screenshot is kept at `target/test-artifacts/status-page.png`.
//!
//! Needs node, playwright-core (`bash scripts/tools/playwright.sh`) and `/usr/bin/chromium`
//! (`bash scripts/tools/chromium.sh`); `bash scripts/test` runs both. Without them the test
//! fails, naming the script.

mod stack;
mod support;

use std::{path::PathBuf, time::Duration};

use muze_shared::queue::{Broker, Topology};
use serde_json::Value;
use stack::{catalog_queries, Stack};
use support::{ADMIN_KEY, KEY};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Where the tools are, failing loudly (with the script to run) when one is missing.
fn tools() -> PathBuf {
    let node = std::process::Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is missing: install it (apt-get install -y nodejs npm), then run bash scripts/tools/playwright.sh"
    );
    let playwright = workspace().join("target/tools/playwright");
    assert!(
        playwright
            .join("node_modules/playwright-core/package.json")
            .exists(),
        "playwright-core is missing from {}: run bash scripts/tools/playwright.sh",
        playwright.display()
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: run bash scripts/tools/chromium.sh"
    );
    playwright
}

/// The JSON value the page's `data-stat` path names.
fn resolve(report: &Value, path: &str) -> Option<Value> {
    let parts: Vec<&str> = path.split('.').collect();
    let named = |list: &str, key: &str, name: &str| {
        report[list]
            .as_array()?
            .iter()
            .find(|item| item[key] == name)
            .cloned()
    };
    match parts.as_slice() {
        ["providers", name, "history", "total"] => {
            let p = named("providers", "provider", name)?;
            let total: u64 = p["history"]["calls"]
                .as_array()?
                .iter()
                .filter_map(Value::as_u64)
                .sum();
            Some(total.into())
        }
        ["providers", name, rest @ ..] => {
            let mut v = named("providers", "provider", name)?;
            for part in rest {
                v = v.get(*part)?.clone();
            }
            Some(v)
        }
        ["queues", kind, field] => named("queues", "kind", kind)?.get(*field).cloned(),
        ["crawls", "running", "count"] => {
            Some(report["crawls"]["running"].as_array()?.len().into())
        }
        ["crawls", id, field] => report["crawls"]["running"]
            .as_array()?
            .iter()
            .find(|c| c["id"] == *id)?
            .get(*field)
            .cloned(),
        _ => {
            let mut v = report.clone();
            for part in &parts {
                v = v.get(*part)?.clone();
            }
            Some(v)
        }
    }
}

#[tokio::test]
async fn the_status_page_shows_the_same_live_numbers_as_the_json_and_loads_nothing_from_elsewhere()
{
    let playwright = tools();
    let stack = Stack::start(true, &[]).await;

    // A small load: four new searches, then two repeats from the catalog, and one poison
    // message parked. Then nothing moves while the page and the JSON are read.
    let queries = catalog_queries(4);
    for query in &queries {
        let (status, body) = stack.post(query).await;
        assert_eq!(status, 202, "{body}");
        let done = stack.wait_done(body["id"].as_str().expect("id")).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }
    for query in &queries[..2] {
        assert_eq!(stack.post(query).await.0, 200);
    }
    let topology = Topology::new(
        &stack.app.namespace,
        stack.app.settings.worker.delivery_limit,
    );
    let broker = Broker::connect(stack.app.settings.amqp.url.clone(), topology.clone())
        .await
        .expect("broker");
    broker
        .publish(&topology.search.parked, b"{}", "poison", &[])
        .await
        .expect("publish parked");
    broker.close().await;

    let screenshot = workspace().join("target/test-artifacts/status-page.png");
    let _ = std::fs::remove_file(&screenshot);
    let base = stack.app.url("");
    let run = tokio::process::Command::new("node")
        .arg(workspace().join("api/tests/browser/status_page.mjs"))
        .args([base.as_str(), ADMIN_KEY, KEY])
        .arg(&screenshot)
        .env("MUZE_PLAYWRIGHT_DIR", &playwright)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("the browser script finishes within 90 s")
        .expect("node runs");
    let report = stack.status().await;
    assert!(
        output.status.success(),
        "browser script failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "browser script printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });

    // Nothing but the API's own origin, and no script or policy errors.
    let requests = seen["requests"].as_array().expect("requests");
    assert!(
        requests.len() >= 4,
        "page, script, style and status reads: {requests:?}"
    );
    for url in requests {
        let url = url.as_str().expect("url");
        assert!(
            url.starts_with(&format!("{base}/")),
            "a request left the API's origin: {url}"
        );
    }
    assert!(requests
        .iter()
        .any(|u| u.as_str() == Some(&format!("{base}/v1/admin/status"))));
    // The one error expected is the refused client key's 403.
    let problems: Vec<&Value> = seen["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter(|p| {
            !p.as_str().is_some_and(|p| {
                p.contains("status of 401")
                    || p.contains("status of 403")
                    || p.contains("ERR_INTERNET_DISCONNECTED")
            })
        })
        .collect();
    assert!(problems.is_empty(), "errors in the page: {problems:?}");
    assert!(
        seen["forbidden_message"]
            .as_str()
            .is_some_and(|m| m.contains("not an admin key")),
        "{}",
        seen["forbidden_message"]
    );
    assert!(
        seen["unauthorized_message"]
            .as_str()
            .is_some_and(|m| m.contains("not accepted")),
        "{}",
        seen["unauthorized_message"]
    );
    assert!(
        seen["offline_message"]
            .as_str()
            .is_some_and(|m| m.contains("Cannot reach the API")),
        "{}",
        seen["offline_message"]
    );
    assert_eq!(
        seen["board_kept_offline"], true,
        "the last numbers stay on screen"
    );
    assert_eq!(seen["key_kept"], true);
    assert_eq!(seen["form_hidden"], true);
    assert_eq!(seen["message_hidden"], true);

    // Every provider, every number the page shows, as the JSON says.
    let shown: Vec<&str> = seen["providers_shown"]
        .as_array()
        .expect("providers shown")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        shown,
        ["spotify", "youtube", "shazam", "deezer", "musicbrainz"]
    );
    let stats = seen["stats"].as_object().expect("stats");
    for key in [
        "providers.spotify.calls_in_window",
        "providers.spotify.effective_limit",
        "providers.youtube.quota.left",
        "queues.search.ready",
        "queues.search.running",
        "queues.search.parked",
        "searches.per_second",
        "searches.catalog_hit_ratio",
        "searches.p50_ms",
        "searches.p99_ms",
        "crawls.next_tick",
        "parked.search",
        "health.level",
    ] {
        assert!(stats.contains_key(key), "the page does not show {key}");
    }
    for (path, on_page) in stats {
        let in_json = resolve(&report, path).unwrap_or_else(|| panic!("{path} is not in the JSON"));
        if path == "searches.per_second" {
            // The rate's denominator is the time the buckets span, which grows between reads.
            let (a, b) = (
                on_page.as_f64().expect("rate"),
                in_json.as_f64().expect("rate"),
            );
            assert!(
                (a - b).abs() <= 0.2 * b.max(a),
                "{path}: page {a}, JSON {b}"
            );
        } else {
            assert_eq!(on_page, &in_json, "{path}: the page and the JSON differ");
        }
    }
    // And they are the load's numbers, not merely equal.
    assert_eq!(stats["searches.upstream_answers"], 4);
    assert_eq!(stats["searches.catalog_answers"], 2);
    assert_eq!(
        stats["providers.spotify.calls_in_window"].as_u64(),
        Some(stack.sim_calls("spotify", "/v1/search").await)
    );
    assert_eq!(stats["parked.search"], 1);
    assert_eq!(stats["health.level"], "degraded");
    assert!(
        screenshot.exists(),
        "no screenshot at {}",
        screenshot.display()
    );

    stack.cleanup().await;
}
