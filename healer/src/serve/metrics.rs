//! The daemon's own counters and their Prometheus text exposition (written by hand: a few
//! counters do not need a metrics library).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::time::Instant;

use crate::alertmanager::AlertStatus;

/// Status codes the webhook answers with; each gets a series from the start, so a dashboard
/// sees a zero rather than no data.
const WEBHOOK_CODES: [u16; 6] = [200, 400, 401, 413, 415, 503];

/// Counters of one daemon, shared by the webhook handler and the audit sink.
#[derive(Debug)]
pub(crate) struct Metrics {
    started: Instant,
    firing: AtomicU64,
    resolved: AtomicU64,
    requests: Mutex<BTreeMap<u16, u64>>,
    signals_queued: AtomicU64,
    signals_dropped: AtomicU64,
    alerts_without_target: AtomicU64,
    decisions: Mutex<BTreeMap<String, u64>>,
    connections_open: AtomicU64,
    connections_refused: AtomicU64,
    requests_timed_out: AtomicU64,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        Metrics {
            started: Instant::now(),
            firing: AtomicU64::new(0),
            resolved: AtomicU64::new(0),
            requests: Mutex::new(WEBHOOK_CODES.iter().map(|code| (*code, 0)).collect()),
            signals_queued: AtomicU64::new(0),
            signals_dropped: AtomicU64::new(0),
            alerts_without_target: AtomicU64::new(0),
            decisions: Mutex::new(BTreeMap::new()),
            connections_open: AtomicU64::new(0),
            connections_refused: AtomicU64::new(0),
            requests_timed_out: AtomicU64::new(0),
        }
    }

    pub(crate) fn alert_received(&self, status: AlertStatus) {
        let counter = match status {
            AlertStatus::Firing => &self.firing,
            AlertStatus::Resolved => &self.resolved,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn webhook_answered(&self, code: u16) {
        *lock(&self.requests).entry(code).or_insert(0) += 1;
    }

    pub(crate) fn signals_queued(&self, count: usize) {
        self.signals_queued
            .fetch_add(count as u64, Ordering::Relaxed);
    }

    pub(crate) fn signals_dropped(&self, count: usize) {
        self.signals_dropped
            .fetch_add(count as u64, Ordering::Relaxed);
    }

    pub(crate) fn alert_without_target(&self) {
        self.alerts_without_target.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one engine decision, by its journal event name (`detected`, `action_started`…).
    pub(crate) fn decision(&self, event: &str) {
        *lock(&self.decisions).entry(event.to_owned()).or_insert(0) += 1;
    }

    pub(crate) fn connection_opened(&self) {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn request_timed_out(&self) {
        self.requests_timed_out.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition (format 0.0.4) of every counter.
    pub(crate) fn render(&self, engine_up: bool) -> String {
        let mut out = String::new();
        let firing = self.firing.load(Ordering::Relaxed);
        let resolved = self.resolved.load(Ordering::Relaxed);
        family(
            &mut out,
            "healer_alerts_received_total",
            "counter",
            "Alerts received on the Alertmanager webhook, by status.",
            &[
                (r#"status="firing""#.to_owned(), firing),
                (r#"status="resolved""#.to_owned(), resolved),
            ],
        );
        let requests: Vec<(String, u64)> = lock(&self.requests)
            .iter()
            .map(|(code, count)| (format!(r#"code="{code}""#), *count))
            .collect();
        family(
            &mut out,
            "healer_webhook_requests_total",
            "counter",
            "Webhook requests, by the HTTP status code answered.",
            &requests,
        );
        single(
            &mut out,
            "healer_signals_queued_total",
            "counter",
            "Alert signals handed to the engine.",
            self.signals_queued.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "healer_signals_dropped_total",
            "counter",
            "Alert signals refused (503) because the engine's queue was full.",
            self.signals_dropped.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "healer_alerts_without_target_total",
            "counter",
            "Alerts ignored because no container, name or instance label names a target.",
            self.alerts_without_target.load(Ordering::Relaxed),
        );
        let decisions: Vec<(String, u64)> = lock(&self.decisions)
            .iter()
            .map(|(event, count)| (format!(r#"event="{event}""#), *count))
            .collect();
        family(
            &mut out,
            "healer_decisions_total",
            "counter",
            "Decisions and actions the engine recorded, by audit event.",
            &decisions,
        );
        single(
            &mut out,
            "healer_http_connections_open",
            "gauge",
            "HTTP connections open now.",
            self.connections_open.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "healer_http_connections_refused_total",
            "counter",
            "HTTP connections answered 503 and closed because --max-connections were open.",
            self.connections_refused.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "healer_http_requests_timed_out_total",
            "counter",
            "HTTP requests answered 408 because they were not read and answered within --request-timeout.",
            self.requests_timed_out.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "healer_engine_up",
            "gauge",
            "1 while the engine runs.",
            u64::from(engine_up),
        );
        let _ = writeln!(
            out,
            "# HELP healer_uptime_seconds Seconds since the daemon started.\n\
             # TYPE healer_uptime_seconds gauge\n\
             healer_uptime_seconds {:.3}",
            self.started.elapsed().as_secs_f64()
        );
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str, series: &[(String, u64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in series {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

fn single(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// A poisoned lock only means a panic elsewhere mid-increment; the counts stay usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}
