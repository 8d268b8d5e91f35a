//! Compact journal builders shared by the integration tests.
#![allow(dead_code)] // Each test file uses a different subset of the builders.

use journal::{Event, Record};
use reports::{trial_outcomes, TrialOutcome};

/// Records from `(t_ms, trial, event)` entries; trial 0 means "no trial".
pub fn journal(entries: Vec<(f64, u32, Event)>) -> Vec<Record> {
    entries
        .into_iter()
        .map(|(t_ms, trial, event)| Record {
            t_ms,
            unix_ms: 1_700_000_000_000 + t_ms as u64,
            trial: (trial > 0).then_some(trial),
            event,
        })
        .collect()
}

/// Builds a journal from `(t_ms, trial, event)` entries, computes every trial's outcome with
/// K = `healthy_after`, and compares its full description with `expected` (one block per trial).
pub fn check(entries: Vec<(f64, u32, Event)>, healthy_after: u32, expected: &str) {
    let outcomes = trial_outcomes(&journal(entries), healthy_after);
    let actual: Vec<String> = outcomes.iter().map(describe).collect();
    let expected: Vec<String> = expected
        .trim()
        .split("\n\n")
        .map(|block| block.lines().map(str::trim).collect::<Vec<_>>().join("\n"))
        .collect();
    assert_eq!(actual, expected, "\nactual:\n{}\n", actual.join("\n\n"));
}

/// One trial's outcome as a few lines of text: its result, its outage, then only the figures it
/// has (an instant, duration or count that is absent or zero is left out, so a figure that
/// appears or disappears changes the text all the same):
///
/// ```text
/// trial 1: success                          (or `FAILED: <reason>`, then ` (interrupted)`)
/// outage: leaky-0 ContainerDied              (or `none`)
/// at: fault 1000, outage 2050, …             (instants, ms on the journal's clock)
/// fault→outage 1050, ttd 100, …              (durations, ms; `(healer first)` after a ttd < 0)
/// downtime 502, requests …, oom 1, …         (downtime, then the counts)
/// notes: … | …
/// ```
pub fn describe(t: &TrialOutcome) -> String {
    let present = |figures: &[(&str, Option<f64>)]| -> Vec<String> {
        figures
            .iter()
            .filter_map(|(name, v)| v.map(|v| format!("{name} {v}")))
            .collect()
    };
    let mut lines = vec![format!(
        "trial {}: {}{}",
        t.trial,
        t.failure_reason
            .as_ref()
            .map_or_else(|| "success".to_owned(), |r| format!("FAILED: {r}")),
        if t.interrupted { " (interrupted)" } else { "" }
    )];
    lines.push(match (t.outage, &t.outage_target, t.outage_cause) {
        (false, None, None) => "outage: none".to_owned(),
        (true, Some(target), Some(cause)) => format!("outage: {target} {cause:?}"),
        (outage, target, cause) => format!("outage: {outage} {target:?} {cause:?}"),
    });
    let at = present(&[
        ("fault", t.fault_at_ms),
        ("outage", t.outage_start_ms),
        ("detected", t.detected_at_ms),
        ("action", t.action_started_at_ms),
        ("finished", t.action_finished_at_ms),
        ("container start", t.container_started_at_ms),
        ("recovered", t.recovered_at_ms),
        ("confirmed", t.confirmed_at_ms),
    ]);
    if !at.is_empty() {
        lines.push(format!("at: {}", at.join(", ")));
    }
    let mut durations = present(&[("fault→outage", t.fault_to_outage_ms)]);
    let first = if t.detected_before_outage {
        " (healer first)"
    } else {
        ""
    };
    durations.extend(t.ttd_ms.map(|ttd| format!("ttd {ttd}{first}")));
    durations.extend(present(&[
        ("tta", t.tta_ms),
        ("platform", t.platform_call_ms),
        ("start→good", t.finished_to_recovered_ms),
        ("container start→good", t.container_start_to_recovered_ms),
        ("confirm", t.confirmation_ms),
        ("act→recovered", t.action_to_recovered_ms),
        ("mttr", t.mttr_ms),
    ]));
    if !durations.is_empty() {
        lines.push(durations.join(", "));
    }
    let mut counts = vec![format!("downtime {}", t.downtime_ms)];
    if t.requests_ok > 0 || t.requests_failed > 0 || t.error_rate.is_some() {
        let rate = t
            .error_rate
            .map_or_else(|| "-".to_owned(), |r| r.to_string());
        counts.push(format!(
            "requests {} ok {} failed (rate {rate})",
            t.requests_ok, t.requests_failed
        ));
    }
    for (name, n) in [
        ("oom", t.oom_kills),
        ("actions", t.actions),
        ("heals", t.heals),
        ("unverified", t.unverified),
        ("escalations", t.escalations),
        ("false positives", t.false_positives),
        ("agent calls", t.agent_calls),
        ("refused", t.refused_calls),
        ("api errors", t.api_errors),
    ] {
        if n > 0 {
            counts.push(format!("{name} {n}"));
        }
    }
    lines.push(counts.join(", "));
    if !t.notes.is_empty() {
        lines.push(format!("notes: {}", t.notes.join(" | ")));
    }
    lines.join("\n")
}

pub const T: &str = "leaky-0";

pub fn run_started() -> Event {
    Event::RunStarted {
        run_id: "run-1".into(),
        scenario: "oom".into(),
        trials: 1,
        sim_version: "0.1.0".into(),
        strategy: None,
        seed: None,
        setup: None,
    }
}

pub fn run_ended(interrupted: bool) -> Event {
    Event::RunEnded { interrupted }
}

pub fn trial_started() -> Event {
    Event::TrialStarted
}

pub fn trial_ended(interrupted: bool) -> Event {
    Event::TrialEnded { interrupted }
}

pub fn ready(target: &str) -> Event {
    Event::TargetReady {
        target: target.into(),
    }
}

pub fn fault(target: &str) -> Event {
    Event::FaultInjected {
        fault: "memory_leak".into(),
        target: target.into(),
        detail: "64 MiB/s".into(),
    }
}

/// How long after it was sent a [`probe`] answered: its record's time is its answer, its send
/// time is [`PROBE_MS`] earlier.
pub const PROBE_MS: f64 = 2.0;

/// A probe that answered [`PROBE_MS`] after it was sent.
pub fn probe(target: &str, ok: bool) -> Event {
    probe_took(target, ok, PROBE_MS)
}

/// A probe recorded `latency_ms` after it was sent: a failed one with more than 400 ms timed out.
pub fn probe_took(target: &str, ok: bool, latency_ms: f64) -> Event {
    let error = if latency_ms > 400.0 {
        "timeout"
    } else {
        "connection refused"
    };
    Event::Probe {
        target: target.into(),
        ok,
        status: ok.then_some(200),
        latency_ms,
        error: (!ok).then(|| error.into()),
    }
}

pub fn docker(target: &str, action: &str) -> Event {
    Event::Docker {
        target: target.into(),
        action: action.into(),
        exit_code: (action == "die").then_some(137),
    }
}

pub fn detected(target: &str) -> Event {
    Event::Detected {
        target: target.into(),
        incident: "inc-1".into(),
        class: "oom".into(),
        signal: "docker oom".into(),
        confidence: None,
        classified_because: None,
    }
}

pub fn action_started(target: &str) -> Event {
    Event::ActionStarted {
        target: target.into(),
        incident: "inc-1".into(),
        runbook: "restart".into(),
        action: "restart".into(),
    }
}

pub fn action_finished(target: &str, ok: bool) -> Event {
    Event::ActionFinished {
        target: target.into(),
        incident: "inc-1".into(),
        runbook: "restart".into(),
        action: "restart".into(),
        ok,
        duration_ms: 350.0,
        error: (!ok).then(|| "restart failed".into()),
    }
}

/// The healer's verification of the `restart` runbook of incident `inc-1`: 2 attempts in 0.5 s,
/// or 31 attempts in 15 s when it failed.
pub fn verified(target: &str, ok: bool) -> Event {
    Event::Verified {
        target: target.into(),
        incident: "inc-1".into(),
        runbook: "restart".into(),
        ok,
        attempts: if ok { 2 } else { 31 },
        duration_ms: if ok { 500.0 } else { 15_000.0 },
    }
}

pub fn escalated(target: &str) -> Event {
    Event::Escalated {
        target: target.into(),
        incident: "inc-1".into(),
        reason: "retries exhausted".into(),
    }
}

pub fn load(requests_ok: u64, requests_failed: u64) -> Event {
    Event::Load {
        requests_ok,
        requests_failed,
        rps: 100.0,
        p50_ms: 3.0,
        p95_ms: 9.0,
        p99_ms: 20.0,
        max_ms: 400.0,
    }
}

/// A complete one-trial run: OOM at 2000, die at 2050, probe fails at 2100, detected at 2150,
/// restart from 2200 to 2550 (container start at 2560), ok probes answered at 2600, 3100 and 3600
/// (K = 3; each sent [`PROBE_MS`] earlier), verified at 3650, 990 ok / 10 failed requests.
pub fn oom_trial(trial: u32, offset: f64) -> Vec<(f64, u32, Event)> {
    let at = |t: f64| offset + t;
    vec![
        (at(0.0), trial, trial_started()),
        (at(500.0), trial, ready(T)),
        (at(600.0), trial, probe(T, true)),
        (at(1000.0), trial, fault(T)),
        (at(1100.0), trial, probe(T, true)),
        (at(2000.0), trial, docker(T, "oom")),
        (at(2050.0), trial, docker(T, "die")),
        (at(2100.0), trial, probe(T, false)),
        (at(2150.0), trial, detected(T)),
        (at(2200.0), trial, action_started(T)),
        (at(2550.0), trial, action_finished(T, true)),
        (at(2560.0), trial, docker(T, "start")),
        (at(2600.0), trial, probe(T, true)),
        (at(3100.0), trial, probe(T, true)),
        (at(3600.0), trial, probe(T, true)),
        (at(3650.0), trial, verified(T, true)),
        (at(4500.0), trial, load(990, 10)),
        (at(5000.0), trial, trial_ended(false)),
    ]
}
