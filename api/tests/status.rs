//! `GET /v1/admin/status` and the `/status` page's assets: who may read them, and that the
//! numbers reported are what a test did to a real stack (API, worker, sim, Postgres, Redis,
//! RabbitMQ).

mod stack;
mod support;

use muze_shared::{
    cron::CronSchedule,
    db::searches,
    queue::{Broker, Topology},
};
use reqwest::{header, StatusCode};
use serde_json::Value;
use stack::{catalog_queries, Stack};
use support::{error_of, TestApp, ADMIN_KEY, KEY};
use uuid::Uuid;

fn provider<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .find(|p| p["provider"] == name)
        .unwrap_or_else(|| panic!("{name} missing from {status}"))
}

fn queue<'a>(status: &'a Value, kind: &str) -> &'a Value {
    status["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .find(|q| q["kind"] == kind)
        .unwrap_or_else(|| panic!("queue {kind} missing from {status}"))
}

#[tokio::test]
async fn the_status_needs_an_admin_key_and_the_page_needs_none() {
    let app = TestApp::spawn().await;

    let (status, code) = error_of(app.get_with_authorization("/v1/admin/status", None).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let (status, code) = error_of(
        app.get_with_authorization("/v1/admin/status", Some("Bearer not-a-key"))
            .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let (status, code) = error_of(
        app.get_with_authorization("/v1/admin/status", Some(&format!("Bearer {KEY}")))
            .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let response = app
        .get_with_authorization("/v1/admin/status", Some(&format!("Bearer {ADMIN_KEY}")))
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    for (path, content_type) in [
        ("/status", "text/html"),
        ("/status/app.js", "text/javascript"),
        ("/status/style.css", "text/css"),
    ] {
        let response = app.get_with_authorization(path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers().clone();
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .expect("ascii")
                .starts_with(content_type),
            "{path}: {headers:?}"
        );
        let csp = headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii");
        assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        // The SVG namespace is a name, not an address the page loads.
        let body = response.text().await.expect("body");
        let addresses = body.replace("http://www.w3.org/2000/svg", "");
        assert!(
            !addresses.contains("http://") && !addresses.contains("https://"),
            "{path} refers to another origin"
        );
        if path == "/status" {
            assert!(!body.contains("<script>"), "no inline script");
            assert!(body.contains("<script src=\"/status/app.js\""));
        }
    }
    app.cleanup().await;
}

#[tokio::test]
async fn the_status_is_in_the_openapi_document_with_its_schema() {
    let app = TestApp::spawn().await;
    let doc: Value = app.get("/openapi.json").await.json().await.expect("JSON");
    let operation = &doc["paths"]["/v1/admin/status"]["get"];
    assert_eq!(operation["operationId"], "get_status");
    assert_eq!(
        operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/StatusReport"
    );
    for schema in [
        "StatusReport",
        "ProviderReport",
        "CallHistory",
        "QueueReport",
        "SearchRates",
        "CrawlReport",
        "ParkedReport",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} missing"
        );
    }
    assert!(doc["paths"]["/status"]["get"].is_object());
    // The report's health is its own schema, not the `/healthz` answer's.
    let health = doc["components"]["schemas"]["StatusReport"]["properties"]["health"]["$ref"]
        .as_str()
        .expect("health is a schema of its own")
        .trim_start_matches("#/components/schemas/")
        .to_string();
    let properties = &doc["components"]["schemas"][health.as_str()]["properties"];
    assert!(properties["level"].is_object(), "{health}: {properties}");
    assert!(properties["problems"].is_object(), "{health}: {properties}");
    app.cleanup().await;
}

#[tokio::test]
async fn searches_calls_and_the_hit_ratio_are_what_the_load_did() {
    let stack = Stack::start(true, &[]).await;
    let queries = catalog_queries(6);

    // Six new searches, each answered by Spotify through the worker.
    for query in &queries {
        let (status, body) = stack.post(query).await;
        assert_eq!(status, 202, "{query}: {body}");
        let done = stack.wait_done(body["id"].as_str().expect("id")).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        assert_eq!(done["source"], "spotify", "{done}");
    }
    // Four repeats, answered from the catalog.
    for query in &queries[..4] {
        let (status, body) = stack.post(query).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(body["source"], "catalog");
    }

    let report = stack.status().await;
    let searches = &report["searches"];
    assert_eq!(searches["upstream_answers"], 6, "{searches}");
    assert_eq!(searches["catalog_answers"], 4, "{searches}");
    assert_eq!(
        searches["catalog_hit_ratio"].as_f64(),
        Some(0.4),
        "{searches}"
    );
    assert!(searches["per_second"].as_f64().expect("rate") > 0.0);
    assert_eq!(searches["jobs_finished"], 6, "{searches}");
    assert_eq!(searches["jobs_failed"], 0, "{searches}");
    let p50 = searches["p50_ms"].as_f64().expect("p50 with six jobs");
    let p99 = searches["p99_ms"].as_f64().expect("p99 with six jobs");
    assert!(0.0 < p50 && p50 <= p99, "{searches}");

    let sim_searches = stack.sim_calls("spotify", "/v1/search").await;
    assert_eq!(sim_searches, 6, "one Spotify call per new search");
    let spotify = provider(&report, "spotify");
    assert_eq!(
        spotify["calls_in_window"].as_u64(),
        Some(sim_searches),
        "{spotify}"
    );
    assert_eq!(spotify["calls_in_flight"], 0, "{spotify}");
    assert_eq!(spotify["limit"], "1000/5m");
    assert_eq!(spotify["effective_limit"], 1000);
    assert_eq!(spotify["fallback_position"], 0);
    assert_eq!(spotify["circuit"], "closed");
    assert!(spotify["cooldown_until"].is_null());
    let history: u64 = spotify["history"]["calls"]
        .as_array()
        .expect("history")
        .iter()
        .map(|c| c.as_u64().expect("count"))
        .sum();
    assert_eq!(
        history, sim_searches,
        "the chart counts the searches' calls"
    );
    assert_eq!(spotify["history"]["bucket_secs"], 60.0);
    let youtube = provider(&report, "youtube");
    assert_eq!(youtube["calls_in_window"], 0);
    assert!(youtube["quota"]["left"].as_u64().is_some(), "{youtube}");

    let search_queue = queue(&report, "search");
    assert_eq!(search_queue["consumers"], 1, "one worker: {search_queue}");
    assert_eq!(search_queue["ready"], 0);
    assert_eq!(search_queue["running"], 0);
    assert_eq!(report["health"]["level"], "ok", "{}", report["health"]);

    stack.cleanup().await;
}

#[tokio::test]
async fn queue_depths_crawls_and_the_next_tick_are_what_was_published() {
    // No worker: whatever is published stays where it was put.
    let stack = Stack::start(false, &[("MUZE__SCHEDULER__CRAWL_CRON", "0 */5 * * * *")]).await;
    let app = &stack.app;
    let topology = Topology::new(&app.namespace, app.settings.worker.delivery_limit);
    let broker = Broker::connect(app.settings.amqp.url.clone(), topology.clone())
        .await
        .expect("broker");

    // Three searches queued through the API, one of them then claimed as a worker would.
    let mut ids = Vec::new();
    for query in catalog_queries(3) {
        let (status, body) = stack.post(&query).await;
        assert_eq!(status, 202, "{body}");
        ids.push(Uuid::parse_str(body["id"].as_str().expect("id")).expect("uuid"));
    }
    let claim = searches::claim(&app.pool, ids[0], 30).await.expect("claim");
    assert!(matches!(claim, searches::Claim::Claimed(_)), "{claim:?}");
    // Two poison messages parked, one retry waiting in a delay queue.
    for n in 0..2 {
        broker
            .publish(&topology.search.parked, b"{}", &format!("parked-{n}"), &[])
            .await
            .expect("publish parked");
    }
    broker
        .publish(&topology.search.delay(60_000), b"{}", "delayed", &[])
        .await
        .expect("publish delayed");
    // A crawl started by an operator: its root pages are queued.
    let crawl = app.post_crawl(None).await;
    assert_eq!(crawl.status(), StatusCode::ACCEPTED);
    let crawl: Value = crawl.json().await.expect("crawl JSON");
    broker.close().await;

    let report = stack.status().await;
    let search_queue = queue(&report, "search");
    assert_eq!(search_queue["ready"], 3, "{search_queue}");
    assert_eq!(search_queue["running"], 1, "{search_queue}");
    assert_eq!(search_queue["delayed"], 1, "{search_queue}");
    assert_eq!(search_queue["parked"], 2, "{search_queue}");
    assert_eq!(search_queue["consumers"], 0, "{search_queue}");
    assert_eq!(report["parked"]["search"], 2);
    assert_eq!(report["parked"]["crawl"], 0);
    assert!(report["parked"]["listing"].is_null());

    let crawl_queue = queue(&report, "crawl");
    let root_pages = app.crawl_queue_depth().await;
    assert!(root_pages > 0);
    assert_eq!(crawl_queue["ready"].as_u64(), Some(u64::from(root_pages)));
    let running = report["crawls"]["running"]
        .as_array()
        .expect("running crawls");
    assert_eq!(running.len(), 1, "{running:?}");
    assert_eq!(running[0]["id"], crawl["id"]);
    assert_eq!(running[0]["trigger"], "admin");
    assert_eq!(
        running[0]["pages_total"].as_u64(),
        Some(u64::from(root_pages))
    );
    assert_eq!(running[0]["pages_done"], 0);

    let generated: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(report["generated_at"].clone()).expect("generated_at");
    let schedule = CronSchedule::parse("0 */5 * * * *", "Asia/Seoul").expect("cron");
    let next: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(report["crawls"]["next_tick"].clone()).expect("next_tick");
    assert_eq!(Some(next), schedule.next_after(generated));
    assert!(report["crawls"]["last_tick"].is_null(), "no scheduler ran");

    let health = &report["health"];
    assert_eq!(health["level"], "critical", "{health}");
    let problems = health["problems"].to_string();
    assert!(
        problems.contains("no worker consumes the search queue"),
        "{health}"
    );
    assert!(problems.contains("search parked 2 message(s)"), "{health}");

    stack.cleanup().await;
}
