//! The Agent API: how a healer sim did not build (an external strategy's agent) observes and acts
//! on one trial's targets. HTTP on 127.0.0.1 with a bearer token and JSON, described by
//! `sim/agent-api.yaml`.
//!
//! It acts only on the containers carrying the run's, the trial's and a target's labels; a
//! container outside the run is refused (403), counted, and never touched. Every call is
//! journalled as [`journal::Event::AgentCall`]; an action also as an incident of its own
//! (`Detected`, `ActionStarted`, `ActionFinished` of runbook [`RUNBOOK`]), so the reports' MTTR
//! breakdown sees it like the embedded healer's.
//!
//! Modules: `guard` (rate limit, token, the journal record of each call), `routes` (the
//! endpoints), `targets` (the Docker lookups), `actions` (what an action does), `reply` (error
//! answers).

mod actions;
mod guard;
mod observed;
mod reply;
mod routes;
mod targets;

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::DefaultBodyLimit;
use bollard::Docker;
use journal::Sink;
use tokio::task::JoinHandle;

pub use observed::{AlertView, Observed, ProbeView, SampleView, Tap, PROBES_KEPT};
use tokio_util::sync::CancellationToken;

/// Parses an action call's body as `POST /v1/targets/{name}/actions` does, its 400 message on a
/// problem. For the fuzz target in `fuzz/`; not part of the API.
#[doc(hidden)]
pub fn parse_action_body(body: &[u8]) -> Result<(), String> {
    actions::ActionRequest::parse(body)
        .map(drop)
        .map_err(|error| error.message)
}

/// The runbook name the Agent API's actions carry in the journal.
pub const RUNBOOK: &str = "external";

/// The largest request body accepted; larger ones get 413.
pub const MAX_BODY: usize = 16 * 1024;

/// The Agent API of one trial, serving until `shutdown`.
pub struct AgentApi {
    url: String,
    api: Arc<Api>,
    cancel: CancellationToken,
    server: JoinHandle<()>,
}

impl AgentApi {
    /// `http://127.0.0.1:<port>`, the base of every path.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bearer token every request must carry (`Authorization: Bearer <token>`): 32 random
    /// bytes, hex.
    pub fn token(&self) -> &str {
        &self.api.token
    }

    /// How many calls named a container outside the run (answered 403) so far.
    pub fn refused(&self) -> u64 {
        self.api.refused.load(Ordering::Relaxed)
    }

    /// Stops serving and waits until the server has stopped.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        if let Err(error) = self.server.await {
            tracing::warn!("the Agent API's server task failed: {error}");
        }
    }
}

/// The Agent API could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// No port on 127.0.0.1 could be bound.
    #[error("cannot listen on 127.0.0.1 for the Agent API: {source}")]
    Bind { source: std::io::Error },
    /// The HTTP client that verifies actions could not be made.
    #[error("cannot make the Agent API's HTTP client: {source}")]
    HttpClient { source: reqwest::Error },
    /// The random token could not be made.
    #[error("cannot make the Agent API's token from /dev/urandom: {source}")]
    Token { source: std::io::Error },
}

/// What the handlers share.
struct Api {
    docker: Docker,
    platform: healer::DockerPlatform,
    run_id: String,
    trial: u32,
    token: String,
    journal: Arc<dyn Sink>,
    /// The rate limit of callers with the token.
    bucket: Mutex<guard::Bucket>,
    /// The rate limit of callers without it.
    strangers: Mutex<guard::Bucket>,
    /// Calls that named a container outside the run.
    refused: AtomicU64,
    /// Actions taken so far: the `n` of incident `agent-<n>`.
    actions: AtomicU32,
    /// For the verifications of actions.
    client: reqwest::Client,
    /// Cancelled when the API shuts down: ends the verifications still running.
    cancel: CancellationToken,
    /// What sim observed of the targets: their probes, samples, and the alerts firing.
    observed: Arc<Observed>,
}

/// Serves the Agent API for `trial` of run `run_id`: it acts only on containers carrying
/// `sim.run=<run_id>`, `sim.trial=<trial>` and `sim.target=<name>` (the trial's targets),
/// journalling every call to `journal` and showing what `observed` holds.
pub async fn serve(
    docker: Docker,
    run_id: &str,
    trial: u32,
    journal: Arc<dyn Sink>,
    observed: Arc<Observed>,
) -> Result<AgentApi, AgentError> {
    let token = guard::new_token().map_err(|source| AgentError::Token { source })?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|source| AgentError::Bind { source })?;
    let port = listener
        .local_addr()
        .map_err(|source| AgentError::Bind { source })?
        .port();
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|source| AgentError::HttpClient { source })?;
    let cancel = CancellationToken::new();
    let api = Arc::new(Api {
        platform: healer::DockerPlatform::new(docker.clone()),
        docker,
        run_id: run_id.to_owned(),
        trial,
        token,
        journal,
        bucket: Mutex::new(guard::Bucket::full()),
        strangers: Mutex::new(guard::Bucket::full()),
        refused: AtomicU64::new(0),
        actions: AtomicU32::new(0),
        client,
        cancel: cancel.clone(),
        observed,
    });
    let mut router = axum::Router::new();
    for (_, path, method_router) in routes::routes() {
        router = router.route(path, method_router);
    }
    let router = router
        .fallback(routes::no_such_path)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            api.clone(),
            guard::guard,
        ))
        .with_state(api.clone());
    let stopped = cancel.clone();
    let server = tokio::spawn(async move {
        let serving = axum::serve(listener, router)
            .with_graceful_shutdown(async move { stopped.cancelled().await });
        if let Err(error) = serving.await {
            tracing::warn!("the Agent API stopped serving: {error}");
        }
    });
    Ok(AgentApi {
        url: format!("http://127.0.0.1:{port}"),
        api,
        cancel,
        server,
    })
}

#[cfg(test)]
mod tests;
