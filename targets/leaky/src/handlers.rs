//! The HTTP routes: the service itself (`/`, `/health`, `/metrics`), the chaos controls under
//! `/chaos`, and the middleware that counts requests and makes a hung service hang.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Query, Request, State as Shared};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use tokio::time::Instant;

use crate::chaos_log;
use crate::metrics;
use crate::params::{self, ParamError};
use crate::state::{ChaosState, State};
use crate::work;

/// How long `/chaos/crash` waits before exiting, so its reply gets out.
const CRASH_DELAY: Duration = Duration::from_millis(50);

type Params = Query<params::Query>;
type Answer = Result<Response, ParamError>;

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/chaos", get(chaos))
        .route("/chaos/leak", post(leak))
        .route("/chaos/leak-rate", post(leak_rate))
        .route("/chaos/leak-per-request", post(leak_per_request))
        .route("/chaos/cpu", post(cpu))
        .route("/chaos/latency", post(latency))
        .route("/chaos/hang", post(hang))
        .route("/chaos/crash", post(crash))
        .route("/chaos/log", post(log))
        .route("/chaos/free", post(free))
        .route("/cache/clear", post(clear_cache))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), track))
        .with_state(state)
}

/// Counts every request; once the service is hung, never answers (the request stays in flight).
async fn track(Shared(state): Shared<Arc<State>>, request: Request, next: Next) -> Response {
    let _inflight = state.stats.enter();
    if state.is_hung() {
        return std::future::pending().await;
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    state
        .stats
        .record(&route, response.status().as_u16(), started.elapsed());
    response
}

/// The "business" endpoint: some hashing, plus the injected leak and latency; 503 while the
/// dependency is down, or with the reason `/chaos/log?fail=true` gave.
async fn index(Shared(state): Shared<Arc<State>>) -> Response {
    if !state.dependency_up() {
        return DEPENDENCY_DOWN.into_response();
    }
    if let Some(reason) = state.failing() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unavailable: {reason}\n"),
        )
            .into_response();
    }
    let delay = state.injected_delay();
    state.leak_for_request();
    let hash = work::hash_rounds(state.work_iterations, 0);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    format!("leaky version={} work={hash:016x}\n", state.version).into_response()
}

const DEPENDENCY_DOWN: (StatusCode, &str) = (
    StatusCode::SERVICE_UNAVAILABLE,
    "unavailable: dependency down",
);

/// Slowed by injected latency like `/`: a slow process is slow on every endpoint.
async fn health(Shared(state): Shared<Arc<State>>) -> (StatusCode, &'static str) {
    let delay = state.injected_delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if state.fail_health {
        (StatusCode::SERVICE_UNAVAILABLE, "unhealthy: bad deploy")
    } else if !state.dependency_up() {
        DEPENDENCY_DOWN
    } else {
        (StatusCode::OK, "ok")
    }
}

async fn metrics(Shared(state): Shared<Arc<State>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics::render(&state),
    )
}

async fn chaos(Shared(state): Shared<Arc<State>>) -> Response {
    json(&state.chaos())
}

async fn leak(Shared(state): Shared<Arc<State>>, Query(q): Params) -> Answer {
    let bytes = params::leak(&q)?;
    let leaker = Arc::clone(&state);
    // Filling a large leak takes a while: keep it off the async workers.
    let leaked = tokio::task::spawn_blocking(move || leaker.leaks.leak(bytes))
        .await
        .unwrap_or(0);
    Ok(reply(
        &state,
        format!("leaked {leaked} of {bytes} bytes"),
        None,
    ))
}

async fn leak_rate(Shared(state): Shared<Arc<State>>, Query(q): Params) -> Answer {
    let rate = params::leak_rate(&q)?;
    state.set_leak_rate(rate);
    Ok(reply(&state, format!("leaking {rate} bytes/s"), None))
}

async fn leak_per_request(Shared(state): Shared<Arc<State>>, Query(q): Params) -> Answer {
    let bytes = params::leak_per_request(&q)?;
    state.set_leak_per_request(bytes);
    Ok(reply(
        &state,
        format!("leaking {bytes} bytes per GET /"),
        None,
    ))
}

async fn cpu(Shared(state): Shared<Arc<State>>, Query(q): Params) -> Answer {
    let burn = params::cpu(&q)?;
    let started = state.burners.start(burn.threads, burn.duration);
    let done = format!(
        "started {started} of {} CPU burner threads for {:.3} s",
        burn.threads,
        burn.duration.as_secs_f64()
    );
    Ok(reply(&state, done, None))
}

async fn latency(Shared(state): Shared<Arc<State>>, Query(q): Params) -> Answer {
    let latency = params::latency(&q)?;
    state.set_latency(latency.fixed, latency.jitter);
    let done = format!(
        "GET / delayed by {} ms plus up to {} ms jitter",
        latency.fixed.as_millis(),
        latency.jitter.as_millis()
    );
    Ok(reply(&state, done, None))
}

/// Irreversible over HTTP: once hung nothing answers, not even a request to undo it.
async fn hang(Shared(state): Shared<Arc<State>>, Query(q): Params) -> Answer {
    params::none(&q)?;
    state.hang();
    tracing::warn!("hung on request: no further request will be answered");
    let done = "hung: no further request will be answered; only a restart recovers".to_owned();
    Ok(reply(&state, done, None))
}

async fn crash(Shared(state): Shared<Arc<State>>, Query(q): Params) -> Answer {
    let code = params::crash(&q)?;
    tracing::warn!(code, "crashing on request");
    tokio::spawn(async move {
        tokio::time::sleep(CRASH_DELAY).await;
        std::process::exit(code);
    });
    Ok(reply(&state, format!("exiting with code {code}"), None))
}

async fn log(Shared(state): Shared<Arc<State>>, Query(q): Params) -> Answer {
    let request = params::log(&q)?;
    if let Err(error) = chaos_log::write(&request) {
        let failed = format!("cannot write to {}: {error}", request.stream.name());
        return Ok((StatusCode::INTERNAL_SERVER_ERROR, failed).into_response());
    }
    let mut done = format!(
        "wrote {} line(s) to {}",
        request.count,
        request.stream.name()
    );
    if request.fail {
        done.push_str("; GET / fails with it until a restart");
        state.fail_requests(request.line);
    }
    Ok(reply(&state, done, None))
}

async fn free(Shared(state): Shared<Arc<State>>, Query(q): Params) -> Answer {
    params::none(&q)?;
    let freed = state.free_all();
    let done = format!("freed {freed} bytes; leak rate and per-request leak stopped");
    Ok(reply(&state, done, Some(freed)))
}

/// The remediation hook of a service with a cache: drops what the leaks hold (the "cache"),
/// while a per-request leak goes on growing it, as a real cache would.
async fn clear_cache(Shared(state): Shared<Arc<State>>, Query(q): Params) -> Answer {
    params::none(&q)?;
    let freed = state.leaks.free();
    Ok(reply(
        &state,
        format!("cache cleared: freed {freed} bytes"),
        Some(freed),
    ))
}

/// Body of every chaos control: what was done, then the new state.
#[derive(Serialize)]
struct Reply {
    done: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    freed_bytes: Option<u64>,
    state: ChaosState,
}

fn reply(state: &State, done: String, freed_bytes: Option<u64>) -> Response {
    json(&Reply {
        done,
        freed_bytes,
        state: state.chaos(),
    })
}

fn json(value: &impl Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}
