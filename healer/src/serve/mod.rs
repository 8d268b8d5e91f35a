//! `healer serve`: the standalone daemon. It runs the engine against a Docker host and serves
//! the Alertmanager webhook, `/healthz` and `/metrics`, on 127.0.0.1 unless told otherwise.
//!
//! Tests drive it in-process: [`start_engine`] runs the engine on any [`Platform`] and gives an
//! [`App`] for [`router`]; [`run`] is what the binary calls, with the Docker platform and the
//! HTTP server of [`serve`] (its connection cap and timeouts: [`ServerLimits`]).

mod app;
pub mod cli;
mod metrics;
mod server;
mod sink;
mod token;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use journal::Sink;
use specfile::Problems;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use app::{router, App, WebhookOptions, DEFAULT_MAX_BODY, DEFAULT_QUEUE, WEBHOOK_PATH};
pub use server::{
    serve, ServerLimits, DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_REQUEST_TIMEOUT,
};
pub use token::Token;

use crate::advisor::{Advisor, AdvisorError};
use crate::engine::{Healer, HealerError};
use crate::guardrails::Guardrails;
use crate::platform::docker::DockerPlatform;
use crate::platform::{Platform, PlatformError, Scope};
use crate::rotation::Haproxy;
use crate::runbook::Runbook;
use crate::sources::SourceSettings;

/// Exit codes of `healer`, documented in `healer --help`.
pub mod exit {
    /// Stopped cleanly (Ctrl-C / SIGTERM).
    pub const OK: i32 = 0;
    /// Bad input: runbooks with problems, bad flags, an unsafe listen address, a missing token.
    pub const BAD_INPUT: i32 = 2;
    /// Environment: no Docker engine answers, or the listen address cannot be bound.
    pub const ENVIRONMENT: i32 = 3;
    /// The engine or the server failed while running.
    pub const FAILED: i32 = 4;
}

/// Everything `healer serve` needs, already parsed.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory of runbook files (`*.yaml`, `*.yml`).
    pub runbooks: PathBuf,
    /// Which containers the healer may touch.
    pub scope: Scope,
    /// Where the HTTP server listens.
    pub listen: SocketAddr,
    /// Allow a non-loopback `listen` address (then a token is required).
    pub allow_remote: bool,
    /// The webhook's guards.
    pub webhook: WebhookOptions,
    /// The HTTP server's connection cap and timeouts.
    pub server: ServerLimits,
    /// How long the healer's own probes wait for a 2xx answer.
    pub probe_timeout: Duration,
    /// Append-only JSONL audit file of every decision; the log when `None`.
    pub audit: Option<PathBuf>,
    /// Observe and decide, but change nothing and notify no one (the engine's dry-run
    /// guardrail: every step is recorded as skipped).
    pub dry_run: bool,
    /// The balancer whose rotation `drain` steps take targets out of, if any.
    pub haproxy: Option<Haproxy>,
    /// The model advisor consulted when no runbook matches, if any.
    pub advisor: Option<Advisor>,
}

/// Why `healer serve` could not start or stopped early. [`ServeError::exit_code`] maps each to
/// a documented exit code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// One or more runbooks have problems (all of them are listed).
    #[error("{0}")]
    Runbooks(Problems),
    #[error("refusing to listen on {addr}: it is not a loopback address. Pass --allow-remote (with --token-file or --token-env) to accept webhooks from other hosts")]
    RemoteListen { addr: SocketAddr },
    #[error("--allow-remote needs a bearer token: pass --token-file FILE or --token-env VAR")]
    RemoteWithoutToken,
    #[error("bad advisor settings: {0}")]
    Advisor(#[source] AdvisorError),
    #[error("cannot read the token file {path}: {why}")]
    TokenFile { path: PathBuf, why: String },
    #[error("cannot read the token from ${var}: {why}")]
    TokenEnv { var: String, why: String },
    #[error("cannot open the audit file {path}: {source}")]
    Audit {
        path: PathBuf,
        source: journal::JournalError,
    },
    #[error("no Docker engine answers ({0}). Start Docker, or point DOCKER_HOST at one (e.g. unix:///var/run/docker.sock), and check this user may use it")]
    Docker(#[source] PlatformError),
    #[error(
        "cannot listen on {addr}: {source}. Pick another --listen address or stop what uses it"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Server(#[source] std::io::Error),
    #[error("{0}")]
    Engine(#[source] HealerError),
    #[error("the engine task ended abnormally: {0}")]
    EngineTask(String),
}

impl ServeError {
    /// The process exit code for this error (see [`exit`]).
    pub fn exit_code(&self) -> i32 {
        match self {
            ServeError::Runbooks(_)
            | ServeError::RemoteListen { .. }
            | ServeError::RemoteWithoutToken
            | ServeError::Advisor(_)
            | ServeError::TokenFile { .. }
            | ServeError::TokenEnv { .. }
            | ServeError::Audit { .. } => exit::BAD_INPUT,
            ServeError::Docker(_) | ServeError::Bind { .. } => exit::ENVIRONMENT,
            ServeError::Server(_) | ServeError::Engine(_) | ServeError::EngineTask(_) => {
                exit::FAILED
            }
        }
    }
}

impl Config {
    /// Refuses a non-loopback listen address without `allow_remote`, and `allow_remote`
    /// without a token.
    pub fn check(&self) -> Result<(), ServeError> {
        if !self.listen.ip().is_loopback() {
            if !self.allow_remote {
                return Err(ServeError::RemoteListen { addr: self.listen });
            }
            if self.webhook.token.is_none() {
                return Err(ServeError::RemoteWithoutToken);
            }
        }
        Ok(())
    }
}

/// Loads every runbook file (`*.yaml`, `*.yml`) in `dir`, in name order, reporting the
/// problems of all of them at once.
pub fn load_runbooks(dir: &Path) -> Result<Vec<Runbook>, ServeError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        ServeError::Runbooks(Problems::whole_file(
            dir,
            format!("cannot read the runbooks directory: {e}"),
        ))
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.is_file()
                && path
                    .extension()
                    .is_some_and(|ext| ext == "yaml" || ext == "yml")
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(ServeError::Runbooks(Problems::whole_file(
            dir,
            "no runbook files (*.yaml, *.yml) in this directory; see healer/runbooks/ for examples",
        )));
    }
    let mut runbooks = Vec::new();
    let mut problems = Vec::new();
    for path in &paths {
        match Runbook::load(path) {
            Ok(runbook) => runbooks.push(runbook),
            Err(found) => problems.extend(found.0),
        }
    }
    if problems.is_empty() {
        Ok(runbooks)
    } else {
        Err(ServeError::Runbooks(Problems(problems)))
    }
}

/// Spawns the engine on `platform`, fed by the app's webhook, and returns the [`App`] to serve
/// with [`router`] and the engine's task. `configure` sets the engine's options (guardrails, a
/// rotation…). The app reports the engine up until the task ends; the engine stops when
/// `shutdown` completes. Every decision goes to `sink` and is counted in `/metrics`.
pub fn start_engine(
    platform: Arc<dyn Platform>,
    runbooks: Vec<Runbook>,
    scope: Scope,
    sink: Arc<dyn Sink>,
    configure: impl FnOnce(Healer) -> Healer,
    options: &WebhookOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> (App, JoinHandle<Result<(), HealerError>>) {
    let (tx, rx) = mpsc::channel(options.queue.max(1));
    let app = App::new(tx, options);
    let sink = Arc::new(sink::Counting {
        inner: sink,
        app: app.clone(),
    });
    let healer = configure(Healer::new(platform, runbooks, scope, sink)).with_external_signals(rx);
    app.set_engine_up(true);
    let running = app.clone();
    let task = tokio::spawn(async move {
        let result = healer.run(shutdown).await;
        running.set_engine_up(false);
        if let Err(e) = &result {
            tracing::error!("the engine stopped: {e}");
        }
        result
    });
    (app, task)
}

/// Runs the daemon until Ctrl-C or SIGTERM: loads the runbooks, connects to Docker, starts the
/// engine and serves HTTP on `config.listen`.
pub async fn run(config: Config) -> Result<(), ServeError> {
    config.check()?;
    let runbooks = load_runbooks(&config.runbooks)?;
    let sink: Arc<dyn Sink> = match &config.audit {
        Some(path) => {
            Arc::new(
                journal::Journal::append(path).map_err(|source| ServeError::Audit {
                    path: path.clone(),
                    source,
                })?,
            )
        }
        None => Arc::new(sink::LogSink),
    };
    let platform: Arc<dyn Platform> = Arc::new(
        DockerPlatform::connect()
            .await
            .map_err(ServeError::Docker)?,
    );
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(ServeError::Server)?;

    let (stop, stopped) = watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };
    let names: Vec<&str> = runbooks.iter().map(Runbook::name).collect();
    tracing::info!(
        "healer serving on http://{addr} ({WEBHOOK_PATH}, /healthz, /metrics); runbooks: {}; scope: {:?}{}",
        names.join(", "),
        config.scope.labels,
        if config.dry_run { "; dry run" } else { "" }
    );
    let (app, mut engine) = start_engine(
        platform,
        runbooks,
        config.scope.clone(),
        sink,
        |healer| {
            let healer = healer
                .with_guardrails(Guardrails::default().dry_run(config.dry_run))
                .with_sources(SourceSettings {
                    probe_timeout: config.probe_timeout,
                    ..SourceSettings::default()
                });
            let healer = match config.advisor.clone() {
                Some(advisor) => healer.with_advisor(advisor),
                None => healer,
            };
            match config.haproxy.clone() {
                Some(haproxy) => healer.with_rotation(Arc::new(haproxy)),
                None => healer,
            }
        },
        &config.webhook,
        until_stopped(),
    );
    let server = tokio::spawn(serve(listener, app, config.server, until_stopped()));

    let outcome = tokio::select! {
        () = interrupted() => {
            tracing::info!("stopping");
            Ok(())
        }
        ended = &mut engine => match ended {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ServeError::Engine(e)),
            Err(e) => Err(ServeError::EngineTask(e.to_string())),
        },
    };
    let _ = stop.send(true);
    if !engine.is_finished() {
        let _ = engine.await;
    }
    match server.await {
        Ok(()) => outcome,
        Err(e) => outcome.and(Err(ServeError::Server(std::io::Error::other(e)))),
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn interrupted() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
