//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz): each runs outside input through the
//! very code the healer runs it through, and ignores the result. Not part of the API: hidden
//! from the docs, and may change with the fuzz targets.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::time::Instant;

use crate::alertmanager;

/// An Alertmanager webhook body as `healer serve` and sim's receiver take it: parsed, then each
/// alert's name, signal, target name and start time, as the daemon and sim's alerting read them.
pub fn webhook(body: &[u8]) {
    let Ok(payload) = alertmanager::parse_payload(body) else {
        return;
    };
    for alert in &payload.alerts {
        let _ = alert.name();
        let _ = alert.starts_at_unix_ms();
        if let crate::SignalKind::Alert(parsed) = alert.to_signal().kind {
            let _ = parsed.target_name();
        }
    }
}

/// Runbook YAML through parse and compile, as the healer loads a file.
pub fn runbook(text: &str) {
    let _ = crate::Runbook::parse(text, std::path::Path::new("fuzz.yaml"));
}

/// Prometheus text as two `/metrics` scrapes: `text` split at its first form feed (`\x0c`),
/// or without one the same text twice; see [`prometheus_scrapes`].
pub fn prometheus_text(text: &str) {
    let (first, second) = text.split_once('\x0c').unwrap_or((text, text));
    prometheus_scrapes(first, second);
}

/// Two `/metrics` scrapes, a second apart, as the scraper derives metrics from them, with every
/// metric name either text mentions wanted (plain, `_rate` and the quantiles) so that every
/// derivation runs.
pub fn prometheus_scrapes(first: &str, second: &str) {
    // The names first, once each (a scrape repeats a name on every label set and bucket, and
    // the two scrapes are mostly the same text), then each with its suffixes: building the
    // wanted set must not cost more than the derivation it feeds.
    let mut names = BTreeSet::new();
    for line in first.lines().chain(second.lines()) {
        let line = line.trim_start_matches(['#', ' ']);
        let line = line
            .strip_prefix("TYPE ")
            .or_else(|| line.strip_prefix("HELP "))
            .unwrap_or(line);
        let end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(line.len());
        let name = &line[..end];
        if !name.is_empty() {
            names.insert(name);
        }
    }
    let wanted: BTreeSet<String> = names
        .into_iter()
        .flat_map(|name| ["", "_rate", "_p50", "_p95", "_p99"].map(|s| format!("{name}{s}")))
        .collect();
    let mut deriver = crate::sources::scrape::Deriver::default();
    let now = Instant::now();
    let _ = deriver.derive(first, now, &wanted);
    let _ = deriver.derive(second, now + Duration::from_secs(1), &wanted);
}

/// One line of the Docker events stream, decoded as bollard decodes it, then turned into a
/// signal as `DockerPlatform::signals` does.
#[cfg(feature = "docker")]
pub fn docker_event(json: &[u8]) {
    if let Ok(message) = serde_json::from_slice::<bollard::models::EventMessage>(json) {
        let _ = crate::platform::docker::to_signal(message);
    }
}

/// A Docker stats answer, decoded as bollard decodes it, then read as `DockerPlatform::stats`
/// does.
#[cfg(feature = "docker")]
pub fn docker_stats(json: &[u8]) {
    if let Ok(sample) = serde_json::from_slice::<bollard::models::ContainerStatsResponse>(json) {
        let _ = crate::platform::docker::to_stats(sample);
    }
}
