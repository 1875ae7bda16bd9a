//! What wraps every route: request tracing, HTTP metrics, a time limit, and panic recovery.
//!
//! Requests are named by their matched route (`/v1/searches/{id}`), never the raw URI, so that
//! metrics keep a bounded set of labels and logs carry no ids or query text by accident. No
//! header is logged, so the `Authorization` key never reaches a log line.

use std::{any::Any, time::Duration};

use axum::{
    body::Body,
    extract::{MatchedPath, Request},
    http::{Method, Response},
    middleware::Next,
    response::IntoResponse,
};
use tokio::time::Instant;
use tower_http::{
    classify::{ServerErrorsAsFailures, SharedClassifier},
    trace::TraceLayer,
};
use tracing::Span;

use muze_shared::metric_families;

use crate::error::ApiError;

/// Longest a request may take. Well above the longest long-poll (30 s) plus a slow database
/// read, so only a stuck request ever meets it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(40);

/// The route a request matched, or `unmatched` (bounded label set for metrics and logs).
fn route_of(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string())
}

/// The tracing layer: one span per request, see [`trace`].
pub type RequestTrace = TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    fn(&Request) -> Span,
    (),
    fn(&Response<Body>, Duration, &Span),
    (),
    (),
    (),
>;

/// A span per request with method and route; status and latency are recorded when it ends.
pub fn trace() -> RequestTrace {
    TraceLayer::new_for_http()
        .make_span_with(request_span as fn(&Request) -> Span)
        .on_request(())
        .on_response(request_finished as fn(&Response<Body>, Duration, &Span))
        .on_body_chunk(())
        .on_eos(())
        // A failing request is logged once, by ApiError, with its cause.
        .on_failure(())
}

fn request_span(request: &Request) -> Span {
    tracing::info_span!(
        "http.request",
        http.method = method_label(request.method()),
        http.route = %route_of(request),
        http.status = tracing::field::Empty,
        http.latency_ms = tracing::field::Empty,
    )
}

fn request_finished(response: &Response<Body>, latency: Duration, span: &Span) {
    let latency_ms = latency.as_secs_f64() * 1000.0;
    span.record("http.status", response.status().as_u16());
    span.record("http.latency_ms", latency_ms);
    tracing::info!(
        http.status = response.status().as_u16(),
        http.latency_ms = latency_ms,
        "request finished"
    );
}

/// The request's method as a metric label: one of the standard methods, else `other`. A
/// client may send any token as a method (`FOO123`); each distinct label value would be a new
/// series kept in memory for good.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Middleware: counts requests and records their duration, by route, method and status, each
/// from a bounded set (matched route or `unmatched`, [`method_label`], the status code). It
/// wraps the time limit and the panic recovery, so their 503s and 500s are counted too.
pub async fn record_metrics(request: Request, next: Next) -> impl IntoResponse {
    let started = Instant::now();
    let route = route_of(&request);
    let method = method_label(request.method()).to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("route", route), ("method", method), ("status", status)];
    metrics::counter!(metric_families::HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(metric_families::HTTP_REQUEST_DURATION, &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Middleware: answers 503 `timeout` when a request runs past [`REQUEST_TIMEOUT`].
pub async fn time_limit(request: Request, next: Next) -> impl IntoResponse {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

/// Turns a handler panic into a 500 JSON answer (logged once, by [`ApiError`]).
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    ApiError::Internal(anyhow::anyhow!("handler panicked: {detail}")).into_response()
}
