//! The Agent API's endpoints: [`routes`] is the one list of them (the router and the test
//! against `agent-api.yaml` both read it), then their handlers.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{on, MethodFilter, MethodRouter};
use serde::Deserialize;

use super::actions::ActionRequest;
use super::reply::{json, ApiError, Call};
use super::targets::{Lookup, Target};
use super::Api;

/// Log lines given when the query names no number.
const DEFAULT_LINES: usize = 100;
/// The most log lines given; a larger `lines` gives this many.
const MAX_LINES: usize = 1000;

type Shared = Arc<Api>;

/// Every endpoint: its method, its path, its handler.
pub(super) fn routes() -> Vec<(Method, &'static str, MethodRouter<Shared>)> {
    vec![
        route(Method::GET, "/v1/targets", list),
        route(Method::GET, "/v1/targets/{name}", one),
        route(Method::GET, "/v1/targets/{name}/logs", logs),
        route(Method::GET, "/v1/targets/{name}/probes", probes),
        route(Method::GET, "/v1/targets/{name}/stats", stats),
        route(Method::POST, "/v1/targets/{name}/actions", act),
        route(Method::GET, "/v1/alerts", alerts),
    ]
}

fn route<H, T>(
    method: Method,
    path: &'static str,
    handler: H,
) -> (Method, &'static str, MethodRouter<Shared>)
where
    H: Handler<T, Shared>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
    (method, path, on(filter, handler))
}

/// The trial target `name` names; 403 (counted) for a container outside the run, 404 for
/// anything else.
async fn resolve(api: &Api, name: &str) -> Result<Target, ApiError> {
    match api.find(name).await? {
        Lookup::Target(target) => Ok(*target),
        Lookup::Outside => {
            api.refused.fetch_add(1, Ordering::Relaxed);
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("{name} is not part of this run: the Agent API never touches it"),
            ))
        }
        Lookup::Unknown => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no target {name} in this trial: GET /v1/targets lists them"),
        )),
    }
}

/// The answer of a handler that names a target, with what the journal records of it.
fn answer(call: Call, result: Result<Response, ApiError>) -> Response {
    match result {
        Ok(response) => call.on(response),
        Err(error) => call.on(error),
    }
}

fn about(name: &str) -> Call {
    Call {
        target: Some(name.to_owned()),
        action: None,
    }
}

async fn list(State(api): State<Shared>) -> Result<Response, ApiError> {
    let views: Vec<_> = api.targets().await?.iter().map(Target::view).collect();
    Ok(json(StatusCode::OK, &views))
}

async fn one(State(api): State<Shared>, Path(name): Path<String>) -> Response {
    let result = resolve(&api, &name)
        .await
        .map(|target| json(StatusCode::OK, &target.view()));
    answer(about(&name), result)
}

#[derive(Debug, Deserialize)]
struct LogsQuery {
    lines: Option<usize>,
}

async fn logs(
    State(api): State<Shared>,
    Path(name): Path<String>,
    query: Result<Query<LogsQuery>, QueryRejection>,
) -> Response {
    let result: Result<Response, ApiError> = async {
        let Query(query) = query.map_err(|e| {
            ApiError::bad_request(format!(
                "`lines` must be a number of lines: {}",
                e.body_text()
            ))
        })?;
        let lines = query.lines.unwrap_or(DEFAULT_LINES).min(MAX_LINES);
        let target = resolve(&api, &name).await?;
        let lines = api.logs(&target, lines).await?;
        Ok(json(StatusCode::OK, &serde_json::json!({ "lines": lines })))
    }
    .await;
    answer(about(&name), result)
}

/// sim's latest probes of the target, oldest first.
async fn probes(State(api): State<Shared>, Path(name): Path<String>) -> Response {
    let result = resolve(&api, &name).await.map(|target| {
        let probes = api.observed.probes(&target.name);
        json(StatusCode::OK, &serde_json::json!({ "probes": probes }))
    });
    answer(about(&name), result)
}

/// sim's latest resource sample of the target; `null` before the first.
async fn stats(State(api): State<Shared>, Path(name): Path<String>) -> Response {
    let result = resolve(&api, &name).await.map(|target| {
        let sample = api.observed.sample(&target.name);
        json(StatusCode::OK, &serde_json::json!({ "sample": sample }))
    });
    answer(about(&name), result)
}

/// The alerts the run's alerting pipeline says are firing now.
async fn alerts(State(api): State<Shared>) -> Response {
    json(
        StatusCode::OK,
        &serde_json::json!({ "alerts": api.observed.alerts() }),
    )
}

async fn act(
    State(api): State<Shared>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut call = about(&name);
    let result: Result<Response, ApiError> = async {
        let body = body.map_err(|e| ApiError::new(e.status(), body_problem(&e)))?;
        let request = ActionRequest::parse(&body)?;
        call.action = Some(request.action.name().to_owned());
        let target = resolve(&api, &name).await?;
        let duration_ms = api.act(target, request).await?;
        Ok(json(
            StatusCode::OK,
            &serde_json::json!({ "ok": true, "duration_ms": duration_ms }),
        ))
    }
    .await;
    answer(call, result)
}

fn body_problem(rejection: &BytesRejection) -> String {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        format!("the body is over {} bytes", super::MAX_BODY)
    } else {
        format!("cannot read the body: {}", rejection.body_text())
    }
}

/// A path the API does not serve.
pub(super) async fn no_such_path() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no such endpoint: the paths are in sim/agent-api.yaml",
    )
}

/// A path the API serves, with another method.
pub(super) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this path does not take this method: see sim/agent-api.yaml",
    )
}
