//! The daemon's HTTP face: the Alertmanager webhook (`POST /alerts`), `/healthz` and
//! `/metrics`, as an axum [`Router`] over an [`App`].

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::metrics::Metrics;
use super::token::Token;
use crate::alertmanager::{self, AlertStatus, WebhookPayload};
use crate::signal::{Signal, SignalKind};

/// The path Alertmanager posts to.
pub const WEBHOOK_PATH: &str = "/alerts";

/// Default largest webhook body accepted: 256 KiB.
pub const DEFAULT_MAX_BODY: usize = 256 * 1024;

/// Default capacity of the queue of alert signals into the engine.
pub const DEFAULT_QUEUE: usize = 1024;

/// At most one warning about refused webhooks this often: a flood is counted in `/metrics`,
/// not written to the log line by line.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(1);

/// How the webhook guards itself.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// Required bearer token; `None` accepts every caller (fine on loopback only).
    pub token: Option<Token>,
    /// Largest body accepted; larger ones get 413.
    pub max_body: usize,
    /// Capacity of the queue into the engine; a notification that does not fit gets 503
    /// (Alertmanager retries it).
    pub queue: usize,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        WebhookOptions {
            token: None,
            max_body: DEFAULT_MAX_BODY,
            queue: DEFAULT_QUEUE,
        }
    }
}

/// The state the HTTP handlers share: where alert signals go, the guards, the counters, and
/// whether the engine runs. Cheap to clone.
#[derive(Debug, Clone)]
pub struct App {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    signals: mpsc::Sender<Signal>,
    token: Option<Token>,
    max_body: usize,
    metrics: Metrics,
    engine_up: AtomicBool,
    /// When the last refusal was logged, and how many were not since.
    refusal_logged: Mutex<Option<Instant>>,
    refusals_unlogged: AtomicU64,
}

impl App {
    /// An app that sends alert signals on `signals` (the engine's external channel). It reports
    /// the engine down until [`App::set_engine_up`] says otherwise.
    pub fn new(signals: mpsc::Sender<Signal>, options: &WebhookOptions) -> App {
        App {
            inner: Arc::new(Inner {
                signals,
                token: options.token.clone(),
                max_body: options.max_body,
                metrics: Metrics::new(),
                engine_up: AtomicBool::new(false),
                refusal_logged: Mutex::new(None),
                refusals_unlogged: AtomicU64::new(0),
            }),
        }
    }

    /// Tells `/healthz` and `/metrics` whether the engine task runs.
    pub fn set_engine_up(&self, up: bool) {
        self.inner.engine_up.store(up, Ordering::SeqCst);
    }

    /// Whether the engine task runs.
    pub fn engine_up(&self) -> bool {
        self.inner.engine_up.load(Ordering::SeqCst)
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Logs a refused webhook, or only counts it when one was logged less than
    /// [`REFUSAL_LOG_EVERY`] ago; the next warning says how many went unlogged.
    fn log_refusal(&self, code: StatusCode, message: &str) {
        let inner = &self.inner;
        let now = Instant::now();
        {
            let mut logged = inner
                .refusal_logged
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            if logged.is_some_and(|at| now.duration_since(at) < REFUSAL_LOG_EVERY) {
                inner.refusals_unlogged.fetch_add(1, Ordering::Relaxed);
                return;
            }
            *logged = Some(now);
        }
        match inner.refusals_unlogged.swap(0, Ordering::Relaxed) {
            0 => tracing::warn!("refused a webhook ({code}): {message}"),
            more => tracing::warn!(
                "refused a webhook ({code}): {message} (and {more} more since the last warning; healer_webhook_requests_total counts them by code)"
            ),
        }
    }
}

/// The routes: `POST /alerts`, `GET /healthz`, `GET /metrics`.
pub fn router(app: App) -> Router {
    Router::new()
        .route(WEBHOOK_PATH, post(alerts))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(app)
}

async fn healthz(State(app): State<App>) -> (StatusCode, &'static str) {
    if app.engine_up() {
        (StatusCode::OK, "ok\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the engine is not running\n",
        )
    }
}

async fn metrics(State(app): State<App>) -> Response {
    let text = app.metrics().render(app.engine_up());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn alerts(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    let (code, message) = match accept(&app, &headers, body).await {
        Ok(message) => (StatusCode::OK, message),
        Err((code, message)) => {
            app.log_refusal(code, &message);
            (code, message)
        }
    };
    app.metrics().webhook_answered(code.as_u16());
    (code, format!("{message}\n")).into_response()
}

type Refusal = (StatusCode, String);

/// Checks the request in order (token, size, type, payload) and queues its alerts; nothing
/// reaches the engine unless every check passes.
async fn accept(app: &App, headers: &HeaderMap, body: Body) -> Result<String, Refusal> {
    let inner = &app.inner;
    if let Some(token) = &inner.token {
        let presented = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
        if !token.authorizes(presented) {
            return Err((
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token".to_owned(),
            ));
        }
    }
    let body = read_limited(body, headers, inner.max_body).await?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected Content-Type: application/json".to_owned(),
        ));
    }
    let payload =
        alertmanager::parse_payload(&body).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    for alert in &payload.alerts {
        inner.metrics.alert_received(alert.status);
    }
    let received = payload.alerts.len();
    let signals = to_signals(&payload, &inner.metrics);
    let queued = signals.len();
    queue(app, signals)?;
    Ok(format!("ok: {received} alerts, {queued} signals queued"))
}

/// The body, or 413 as soon as it grows past `max` (a declared `Content-Length` is checked
/// before reading anything).
async fn read_limited(body: Body, headers: &HeaderMap, max: usize) -> Result<Vec<u8>, Refusal> {
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than the limit of {max} bytes (--max-body)"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max as u64) {
        return Err(too_large());
    }
    let mut data = Vec::new();
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| {
            (
                StatusCode::BAD_REQUEST,
                format!("cannot read the body: {e}"),
            )
        })?;
        if data.len() + chunk.len() > max {
            return Err(too_large());
        }
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}

/// One signal per distinct alert (fingerprint and status) of the notification, naming its
/// target by label for the engine to resolve; alerts that name no target are counted and left.
fn to_signals(payload: &WebhookPayload, metrics: &Metrics) -> Vec<Signal> {
    let mut seen = HashSet::new();
    let mut signals = Vec::new();
    for alert in &payload.alerts {
        let identity = if alert.fingerprint.is_empty() {
            format!("{:?}", alert.labels)
        } else {
            alert.fingerprint.clone()
        };
        if !seen.insert((identity, alert.status == AlertStatus::Firing)) {
            continue;
        }
        let mut signal = alert.to_signal();
        let SignalKind::Alert(parsed) = &signal.kind else {
            continue;
        };
        let Some(name) = parsed.target_name().map(str::to_owned) else {
            tracing::warn!(
                "alert {:?} names no target (no container, name or instance label); ignored",
                parsed.name
            );
            metrics.alert_without_target();
            continue;
        };
        signal.target.name = name;
        signals.push(signal);
    }
    signals
}

/// Queues all of `signals` or none of them.
fn queue(app: &App, signals: Vec<Signal>) -> Result<(), Refusal> {
    let inner = &app.inner;
    let count = signals.len();
    if count == 0 {
        return Ok(());
    }
    let refuse = |why: String| {
        inner.metrics.signals_dropped(count);
        Err((StatusCode::SERVICE_UNAVAILABLE, why))
    };
    if !app.engine_up() {
        return refuse("the engine is not running".to_owned());
    }
    match inner.signals.try_reserve_many(count) {
        Ok(permits) => {
            for (permit, signal) in permits.zip(signals) {
                permit.send(signal);
            }
            inner.metrics.signals_queued(count);
            Ok(())
        }
        Err(_) => refuse(format!(
            "the engine's queue cannot take {count} more signals now; retry later"
        )),
    }
}
