//! What one trial's charts and audit show, taken from its records: probe series, failing spans,
//! event markers, load totals and the healer's decisions. Nothing here is invented or resampled.

use std::collections::BTreeMap;

use journal::{Event, Record};

/// One probe of the independent prober, seconds since the trial's first record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ProbePoint {
    pub at_s: f64,
    pub latency_ms: f64,
    pub ok: bool,
}

/// A vertical marker on the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum MarkerKind {
    Fault,
    Detection,
    ActionStart,
    ActionEnd,
    Recovered,
}

impl MarkerKind {
    pub fn label(self) -> &'static str {
        match self {
            MarkerKind::Fault => "fault injected",
            MarkerKind::Detection => "detected",
            MarkerKind::ActionStart => "action started",
            MarkerKind::ActionEnd => "action finished",
            MarkerKind::Recovered => "recovered",
        }
    }
}

/// The load generator's totals for the trial (the journal has no per-second series).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LoadTotals {
    pub requests_ok: u64,
    pub requests_failed: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// One trial, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrialTimeline {
    pub trial: u32,
    /// The trial's first record, on the journal clock.
    pub start_ms: f64,
    /// Seconds from the first to the last record of the trial.
    pub length_s: f64,
    /// Probes per target, in time order.
    pub probes: BTreeMap<String, Vec<ProbePoint>>,
    /// Failing probe spans (first failed probe to the next ok probe, or the target's last probe).
    pub down_spans: Vec<(f64, f64)>,
    pub markers: Vec<(MarkerKind, f64)>,
    pub load: Vec<LoadTotals>,
}

/// The trial's records in time order (journal order for equal times).
pub(crate) fn trial_records(records: &[Record], trial: u32) -> Vec<&Record> {
    let mut own: Vec<&Record> = records.iter().filter(|r| r.trial == Some(trial)).collect();
    own.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
    own
}

/// The timeline of `trial`; `recovered_at_ms` comes from the trial's outcome (the K-probes rule).
pub(crate) fn timeline(
    records: &[Record],
    trial: u32,
    recovered_at_ms: Option<f64>,
) -> TrialTimeline {
    let own = trial_records(records, trial);
    let start_ms = own.first().map_or(0.0, |r| r.t_ms);
    let rel = |t_ms: f64| (t_ms - start_ms) / 1000.0;
    let mut probes: BTreeMap<String, Vec<ProbePoint>> = BTreeMap::new();
    let mut markers = Vec::new();
    let mut load = Vec::new();
    for r in &own {
        let at_s = rel(r.t_ms);
        match &r.event {
            Event::Probe {
                target,
                ok,
                latency_ms,
                ..
            } => probes.entry(target.clone()).or_default().push(ProbePoint {
                at_s,
                latency_ms: *latency_ms,
                ok: *ok,
            }),
            Event::FaultInjected { .. } => markers.push((MarkerKind::Fault, at_s)),
            Event::Detected { .. } => markers.push((MarkerKind::Detection, at_s)),
            Event::ActionStarted { .. } => markers.push((MarkerKind::ActionStart, at_s)),
            Event::ActionFinished { .. } => markers.push((MarkerKind::ActionEnd, at_s)),
            Event::Load {
                requests_ok,
                requests_failed,
                rps,
                p50_ms,
                p95_ms,
                p99_ms,
                max_ms,
            } => load.push(LoadTotals {
                requests_ok: *requests_ok,
                requests_failed: *requests_failed,
                rps: *rps,
                p50_ms: *p50_ms,
                p95_ms: *p95_ms,
                p99_ms: *p99_ms,
                max_ms: *max_ms,
            }),
            _ => {}
        }
    }
    if let Some(t) = recovered_at_ms {
        markers.push((MarkerKind::Recovered, rel(t)));
    }
    let down_spans = probes.values().flat_map(|s| failing_spans(s)).collect();
    TrialTimeline {
        trial,
        start_ms,
        length_s: own.last().map_or(0.0, |r| rel(r.t_ms)),
        probes,
        down_spans,
        markers,
        load,
    }
}

fn failing_spans(series: &[ProbePoint]) -> Vec<(f64, f64)> {
    let mut spans = Vec::new();
    let mut open: Option<f64> = None;
    for p in series {
        match (open, p.ok) {
            (None, false) => open = Some(p.at_s),
            (Some(from), true) => {
                spans.push((from, p.at_s));
                open = None;
            }
            _ => {}
        }
    }
    if let (Some(from), Some(last)) = (open, series.last()) {
        spans.push((from, last.at_s.max(from)));
    }
    spans
}

/// One line of the healer's audit: what it decided or did, and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AuditEntry {
    pub trial: Option<u32>,
    pub t_ms: f64,
    pub target: String,
    pub what: String,
    pub why: String,
}

/// Every healer decision in the journal (detections, runbook choices, suppressions, actions,
/// verifications, escalations), in journal order.
pub(crate) fn audit(records: &[Record]) -> Vec<AuditEntry> {
    records
        .iter()
        .filter_map(|r| {
            let (target, what, why) = match &r.event {
                Event::Detected {
                    target,
                    incident,
                    class,
                    signal,
                    confidence,
                    ..
                } => (
                    target,
                    match confidence {
                        Some(confidence) => {
                            format!("detected {class} ({confidence:.2}, incident {incident})")
                        }
                        None => format!("detected {class} (incident {incident})"),
                    },
                    format!("signal: {signal}"),
                ),
                Event::RunbookSelected {
                    target,
                    incident,
                    runbook,
                    reason,
                } => (
                    target,
                    format!("selected runbook {runbook} for {incident}"),
                    reason.clone(),
                ),
                Event::Suppressed {
                    target,
                    signal,
                    reason,
                } => (
                    target,
                    format!("suppressed signal {signal}"),
                    reason.clone(),
                ),
                Event::ActionStarted {
                    target,
                    incident,
                    runbook,
                    action,
                } => (
                    target,
                    format!("started {action} ({runbook})"),
                    format!("incident {incident}"),
                ),
                Event::ActionFinished {
                    target,
                    incident,
                    runbook,
                    action,
                    ok,
                    duration_ms,
                    error,
                } => (
                    target,
                    format!(
                        "{action} ({runbook}) {} after {:.3}s",
                        if *ok { "succeeded" } else { "failed" },
                        duration_ms / 1000.0
                    ),
                    error
                        .clone()
                        .unwrap_or_else(|| format!("incident {incident}")),
                ),
                Event::Verified {
                    target,
                    incident,
                    runbook,
                    ok,
                    attempts,
                    duration_ms,
                } => (
                    target,
                    format!(
                        "verification {} after {attempts} attempt(s), {:.3}s",
                        if *ok { "passed" } else { "failed" },
                        duration_ms / 1000.0
                    ),
                    format!("runbook {runbook}, incident {incident}"),
                ),
                Event::Escalated {
                    target,
                    incident,
                    reason,
                } => (
                    target,
                    format!("escalated incident {incident}"),
                    reason.clone(),
                ),
                _ => return None,
            };
            Some(AuditEntry {
                trial: r.trial,
                t_ms: r.t_ms,
                target: target.clone(),
                what,
                why,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(at_s: f64, ok: bool) -> ProbePoint {
        ProbePoint {
            at_s,
            latency_ms: 1.0,
            ok,
        }
    }

    #[test]
    fn spans_run_to_the_next_ok_probe_or_the_last_probe() {
        let series = [
            p(0.0, true),
            p(1.0, false),
            p(2.0, false),
            p(3.0, true),
            p(4.0, false),
            p(5.0, false),
        ];
        assert_eq!(failing_spans(&series), vec![(1.0, 3.0), (4.0, 5.0)]);
    }
}
