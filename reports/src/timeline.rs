//! What one trial's charts and audit show, taken from its records: probe series, failing spans,
//! event markers, load totals and the healer's decisions. Nothing here is invented or resampled.

use std::collections::BTreeMap;

use journal::{Event, Record};

use crate::outcome::{down_spans, trial_records, verification_outcome};

/// One probe of the independent prober.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ProbePoint {
    /// When it was sent, seconds since the trial's first record: failures and downtime are dated
    /// by send time, so the probes are drawn there too.
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

/// The load generator's totals over the whole trial, from its final `Load` report (its series
/// over time are the `LoadWindow`s drawn by `over_time`).
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
    /// Probes per target, in send order.
    pub probes: BTreeMap<String, Vec<ProbePoint>>,
    /// The downtime's failing probe spans, seconds since the trial's first record: from a failed
    /// probe's send to the first good answer after it (see `outcome::down_spans`).
    pub down_spans: Vec<(f64, f64)>,
    pub markers: Vec<(MarkerKind, f64)>,
    pub load: Vec<LoadTotals>,
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
        // A probe at its send time, every other event at its record's.
        let at_s = rel(r.probe_sent_ms().unwrap_or(r.t_ms));
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
    for series in probes.values_mut() {
        // Stable: probes sent at the same instant keep their journal order.
        series.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    }
    let down_spans = down_spans(&own)
        .into_iter()
        .map(|(from, to)| (rel(from), rel(to)))
        .collect();
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
/// verifications, escalations) and every source of its signals it lost or got back (its
/// `target` is the source), in journal order.
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
                    ..
                } => (
                    target,
                    verification_outcome(&r.event)?,
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
                Event::LogExcerpt {
                    target,
                    incident,
                    lines,
                } => (
                    target,
                    format!("log excerpt of incident {incident} ({} lines)", lines.len()),
                    lines.join("\n"),
                ),
                Event::AdvisorConsulted {
                    target,
                    incident,
                    model,
                    latency_ms,
                    answer,
                    decision,
                    reason,
                } => (
                    target,
                    format!(
                        "advisor {model} consulted for {incident}: {decision} after {:.3}s",
                        latency_ms / 1000.0
                    ),
                    format!("{reason}; answer: {answer}"),
                ),
                Event::SourceLost {
                    source,
                    detail,
                    fallback,
                } => (
                    source,
                    format!("lost {source}"),
                    format!("{detail}; meanwhile: {fallback}"),
                ),
                Event::SourceRestored {
                    source,
                    down_ms,
                    detail,
                } => (
                    source,
                    format!("{source} back after {:.3}s", down_ms / 1000.0),
                    detail.clone(),
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

    fn record(t_ms: f64, event: Event) -> Record {
        Record {
            t_ms,
            unix_ms: 0,
            trial: Some(1),
            event,
        }
    }

    fn probe(t_ms: f64, latency_ms: f64, ok: bool) -> Record {
        record(
            t_ms,
            Event::Probe {
                target: "t".into(),
                ok,
                status: ok.then_some(200),
                latency_ms,
                error: None,
            },
        )
    }

    #[test]
    fn the_audit_tells_the_log_excerpt_and_the_advisors_answer() {
        let records = [
            record(
                1.0,
                Event::LogExcerpt {
                    target: "t".into(),
                    incident: "i1".into(),
                    lines: vec!["FATAL: a".into(), "FATAL: b".into()],
                },
            ),
            record(
                2.0,
                Event::AdvisorConsulted {
                    target: "t".into(),
                    incident: "i1".into(),
                    model: "stub".into(),
                    latency_ms: 9.0,
                    answer: "{\"runbook\":\"x\"}".into(),
                    decision: "escalated".into(),
                    reason: "runbook x is not in the library".into(),
                },
            ),
        ];
        let entries = audit(&records);
        let told: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e.what.as_str(), e.why.as_str()))
            .collect();
        assert_eq!(
            told,
            [
                ("log excerpt of incident i1 (2 lines)", "FATAL: a\nFATAL: b"),
                (
                    "advisor stub consulted for i1: escalated after 0.009s",
                    "runbook x is not in the library; answer: {\"runbook\":\"x\"}"
                ),
            ]
        );
    }

    #[test]
    fn the_audit_tells_a_lost_source_its_fallback_and_its_return() {
        let records = [
            record(
                1.0,
                Event::SourceLost {
                    source: "alertmanager".into(),
                    detail: "http://127.0.0.1:1/-/healthy: cannot connect".into(),
                    fallback: "runbook r on `probe_failures: 3`".into(),
                },
            ),
            record(
                2.0,
                Event::SourceRestored {
                    source: "alertmanager".into(),
                    down_ms: 5240.0,
                    detail: "http://127.0.0.1:1/-/healthy answers again".into(),
                },
            ),
        ];
        let told: Vec<(String, String, String)> = audit(&records)
            .into_iter()
            .map(|e| (e.target, e.what, e.why))
            .collect();
        assert_eq!(
            told,
            [
                (
                    "alertmanager".to_owned(),
                    "lost alertmanager".to_owned(),
                    "http://127.0.0.1:1/-/healthy: cannot connect; meanwhile: runbook r on \
                     `probe_failures: 3`"
                        .to_owned()
                ),
                (
                    "alertmanager".to_owned(),
                    "alertmanager back after 5.240s".to_owned(),
                    "http://127.0.0.1:1/-/healthy answers again".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn probes_are_drawn_at_their_send_time_and_shaded_to_the_first_good_answer() {
        // A probe sent at 1000 times out (recorded at 1500), one sent at 1050 is refused at
        // once; the one sent at 1100 is held until the target serves at 1300.
        let records = [
            record(0.0, Event::TrialStarted),
            record(500.0, Event::TargetReady { target: "t".into() }),
            probe(900.0, 1.0, true),
            probe(1051.0, 1.0, false),
            probe(1300.0, 200.0, true),
            probe(1500.0, 500.0, false),
            probe(1351.0, 1.0, true),
            record(2000.0, Event::TrialEnded { interrupted: false }),
        ];
        let tl = timeline(&records, 1, Some(1300.0));
        let drawn: Vec<(f64, bool)> = tl.probes["t"].iter().map(|p| (p.at_s, p.ok)).collect();
        assert_eq!(
            drawn,
            [
                (0.899, true),
                (1.0, false),
                (1.05, false),
                (1.1, true),
                (1.35, true)
            ]
        );
        assert_eq!(tl.down_spans, [(1.0, 1.3)]);
        assert_eq!(tl.markers, [(MarkerKind::Recovered, 1.3)]);
    }
}
