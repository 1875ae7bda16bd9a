//! `GET /openapi.json`: the OpenAPI 3.1 document of this API, generated from the routes
//! themselves. Every route is registered through `utoipa-axum` (`routes!`), which takes its
//! path and method from the handler's `#[utoipa::path]`, so a route cannot exist undocumented
//! and a documented path cannot differ from the served one.
//!
//! What the layers answer for every operation is declared here, once, by
//! [`declare_layer_responses`], mirroring `crate::app`: `/v1/*` can answer 401 (with
//! `WWW-Authenticate`) and 429 (with `Retry-After`), `/v1/admin/*` 403, and every operation 503
//! (`overloaded` with `Retry-After`, `timeout`) and 500 `internal`.

use std::sync::LazyLock;

use axum::{http::header, response::IntoResponse};
use utoipa::{
    openapi::{
        content::Content,
        header::Header,
        path::Operation,
        response::Response,
        security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme},
        ObjectBuilder, Ref, RefOr, Type,
    },
    Modify, OpenApi,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::ADMIN_PREFIX,
    error::{ErrorBody, ErrorCode},
    state::AppState,
};

/// The document's root: what is not a route.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Muze Search API",
        description = "Search music across providers. POST a search, then poll (or long-poll) it. \
            `/v1/*` needs `Authorization: Bearer <key>`. Every error is \
            `{\"error\": {\"code\": \"<snake_case>\", \"message\": \"<one sentence>\"}}`."
    ),
    components(schemas(ErrorBody, ErrorCode)),
    modifiers(&BearerKey),
    tags(
        (name = "searches", description = "Searches answered by upstream providers through the job queue"),
        (name = "catalog", description = "Our own catalog of tracks, never upstream"),
        (name = "admin", description = "Operator endpoints; admin key needed"),
        (name = "operations", description = "Health, readiness, metrics and this document; no key needed"),
    )
)]
pub struct ApiDoc;

/// Declares the `api_key` bearer scheme the `/v1/*` operations refer to.
#[derive(Debug)]
struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document route, at the root.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(document))
}

/// The document of every route `crate::app` serves, with the layers' responses.
pub fn document_of_routes() -> utoipa::openapi::OpenApi {
    let (_, root) = super::root().split_for_parts();
    let (_, v1) = super::v1().split_for_parts();
    let mut doc = ApiDoc::openapi();
    doc.merge(root);
    let mut doc = doc.nest("/v1", v1);
    declare_layer_responses(&mut doc);
    doc
}

/// The document, rendered once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    document_of_routes()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
});

/// This document.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = Object,
        content_type = "application/json")))]
pub async fn document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}

/// Adds to every operation the responses its layers can give (see the module doc).
fn declare_layer_responses(doc: &mut utoipa::openapi::OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.delete.as_mut(),
            item.patch.as_mut(),
        ];
        for operation in operations.into_iter().flatten() {
            if path.starts_with("/v1/") {
                operation.security = Some(vec![SecurityRequirement::new(
                    "api_key",
                    Vec::<String>::new(),
                )]);
                ensure(
                    operation,
                    "401",
                    "`unauthorized`: no valid `Authorization: Bearer <key>`",
                )
                .headers
                .entry("WWW-Authenticate".into())
                .or_insert_with(|| described(Header::default(), "`Bearer`"));
                ensure(
                    operation,
                    "429",
                    "`rate_limited`: this API key is over its rate",
                )
                .headers
                .insert("Retry-After".into(), retry_after());
            }
            if path.starts_with(&format!("{ADMIN_PREFIX}/")) {
                ensure(operation, "403", "`forbidden`: not an admin key");
            }
            let busy = ensure(
                operation,
                "503",
                "`overloaded` (with `Retry-After`): too many connections or long-polls; `timeout`: the request took too long",
            );
            busy.headers.insert("Retry-After".into(), retry_after());
            ensure(
                operation,
                "500",
                "`internal`: a bug on our side; the cause is logged",
            );
        }
    }
}

/// The operation's response for `status`, added with `description` and an error body if it
/// is not declared yet.
fn ensure<'a>(operation: &'a mut Operation, status: &str, description: &str) -> &'a mut Response {
    let entry = operation
        .responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| {
            let mut response = Response::new(description);
            response.content.insert(
                "application/json".into(),
                Content::new(Some(Ref::from_schema_name("ErrorBody"))),
            );
            RefOr::T(response)
        });
    match entry {
        RefOr::T(response) => response,
        RefOr::Ref(_) => unreachable!("no operation here refers to a shared response"),
    }
}

fn described(mut header: Header, description: &str) -> Header {
    header.description = Some(description.to_string());
    header
}

/// `Retry-After`: whole seconds to wait.
fn retry_after() -> Header {
    described(
        Header::new(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1)),
        ),
        "Seconds to wait before retrying",
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use muze_shared::domain::{ProviderName, CRAWL_SOURCES};
    use serde_json::Value;

    use super::*;
    use crate::routes::params::QUERY_PATTERN;

    fn doc() -> Value {
        serde_json::to_value(document_of_routes()).expect("serializes")
    }

    /// `(path, method, operation)` for every operation.
    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut all = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("item") {
                all.push((path.clone(), method.clone(), operation.clone()));
            }
        }
        all
    }

    #[test]
    fn operation_ids_are_unique() {
        let doc = doc();
        let ids: Vec<String> = operations(&doc)
            .iter()
            .map(|(p, m, op)| {
                op["operationId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{m} {p} has no id"))
                    .to_string()
            })
            .collect();
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
    }

    #[test]
    fn every_operation_has_an_example_answer_and_the_layers_responses() {
        let doc = doc();
        for (path, method, op) in operations(&doc) {
            let responses = &op["responses"];
            let example = responses
                .as_object()
                .expect("responses")
                .iter()
                .filter(|(status, _)| status.starts_with('2'))
                .any(|(_, r)| {
                    r["content"]
                        .as_object()
                        .is_some_and(|c| c.values().any(|m| !m["example"].is_null()))
                });
            assert!(
                example || path == "/openapi.json",
                "{method} {path}: no example"
            );
            assert!(
                responses["503"]["headers"]["Retry-After"].is_object(),
                "{method} {path}"
            );
            if path.starts_with("/v1/") {
                assert!(
                    responses["401"]["headers"]["WWW-Authenticate"].is_object(),
                    "{method} {path}"
                );
                assert!(
                    responses["429"]["headers"]["Retry-After"].is_object(),
                    "{method} {path}"
                );
                assert!(op["security"].is_array(), "{method} {path}");
            }
        }
        let create = &doc["paths"]["/v1/searches"]["post"]["responses"];
        assert!(create["200"].is_object(), "the catalog answer");
        assert!(create["202"]["headers"]["Location"].is_object());
    }

    #[test]
    fn error_codes_are_an_enum_of_every_code() {
        let doc = doc();
        let codes: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
            .as_array()
            .expect("an enum")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for code in [
            "invalid_json",
            "control_characters",
            "rate_limited",
            "overloaded",
        ] {
            assert!(codes.contains(&code), "{code} in {codes:?}");
        }
    }

    #[test]
    fn the_document_states_the_rules_the_parsers_apply() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["SearchRequest"]["properties"]["query"]["pattern"],
            QUERY_PATTERN
        );
        let q = doc["paths"]["/v1/tracks"]["get"]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .find(|p| p["name"] == "q")
            .expect("q")
            .clone();
        assert_eq!(q["schema"]["pattern"], QUERY_PATTERN);
        let crawlable: Vec<&str> = CRAWL_SOURCES.iter().map(|p| p.as_str()).collect();
        assert_eq!(schemas["CrawlSource"]["enum"], serde_json::json!(crawlable));
        assert_eq!(
            schemas["SearchRequest"]["additionalProperties"],
            Value::Bool(false)
        );
        assert!(ProviderName::ALL.len() >= crawlable.len());
        assert!(
            doc["paths"]["/openapi.json"]["get"].is_object(),
            "the document itself"
        );
    }
}
