//! A synthetic two-trial `oom` run with the over-time series a current harness journals:
//! resource samples every 100 ms and load windows of 250 ms in trial 1, none in trial 2 (as in
//! journals older than those events).
#![allow(dead_code)] // Each test file uses a different subset.

use std::path::PathBuf;

use journal::{Event, Record};
use reports::{render_html, summarize, Expectations, RunInfo};

pub const TARGET: &str = "leaky-0";

/// The charts of the run's report, in page order: trial 2 has no samples, so only its timeline.
pub const CHART_IDS: [&str; 6] = [
    "mttr-distribution",
    "mttr-breakdown",
    "timeline-trial-1",
    "resources-trial-1",
    "load-trial-1",
    "timeline-trial-2",
];
const MIB: u64 = 1024 * 1024;

/// Trial 1's story, on the journal clock (ms): the target is ready at 500, a leak starts at 2000,
/// memory reaches its 64 MiB limit and the kernel kills the target at 3010, the healer detects
/// at 3050 and restarts it from 3060 to 3600; it answers again from 3750. The trial ends at 8000.
pub const FAULT_MS: f64 = 2000.0;
pub const OOM_MS: f64 = 3010.0;
pub const BACK_MS: f64 = 3750.0;
pub const END_MS: f64 = 8000.0;

fn sample(mib: f64, cpu: Option<f64>, throttled: Option<f64>) -> Event {
    Event::ResourceSample {
        target: TARGET.into(),
        memory_bytes: (mib * MIB as f64) as u64,
        memory_limit_bytes: Some(64 * MIB),
        cpu_percent: cpu,
        throttled_ms: throttled,
        source: "cgroup".into(),
    }
}

fn probe(ok: bool, latency_ms: f64) -> Event {
    Event::Probe {
        target: TARGET.into(),
        ok,
        status: ok.then_some(200),
        latency_ms,
        error: (!ok).then(|| "connection refused".into()),
    }
}

fn window(ok: u64, failed: u64, p50: f64, p99: f64) -> Event {
    Event::LoadWindow {
        window_ms: 250.0,
        ok,
        failed,
        p50_ms: Some(p50),
        p99_ms: Some(p99),
        max_ms: Some(p99 * 1.5),
    }
}

fn docker(action: &str) -> Event {
    Event::Docker {
        target: TARGET.into(),
        action: action.into(),
        exit_code: (action == "die").then_some(137),
    }
}

fn healer(t_ms: f64) -> Vec<(f64, Event)> {
    let (target, incident, runbook) = (TARGET.to_owned(), "inc-1".to_owned(), "oom".to_owned());
    vec![
        (
            t_ms,
            Event::Detected {
                target: target.clone(),
                incident: incident.clone(),
                class: "oom".into(),
                signal: "docker oom".into(),
                confidence: Some(0.95),
                classified_because: None,
            },
        ),
        (
            t_ms + 10.0,
            Event::ActionStarted {
                target: target.clone(),
                incident: incident.clone(),
                runbook: runbook.clone(),
                action: "restart".into(),
            },
        ),
        (
            t_ms + 550.0,
            Event::ActionFinished {
                target,
                incident,
                runbook,
                action: "restart".into(),
                ok: true,
                duration_ms: 540.0,
                error: None,
            },
        ),
    ]
}

/// One trial starting at `offset` ms; `series` adds its resource samples and load windows.
fn trial(trial: u32, offset: f64, series: bool) -> Vec<Record> {
    let mut events: Vec<(f64, Event)> = vec![
        (0.0, Event::TrialStarted),
        (
            300.0,
            Event::TargetStarted {
                target: TARGET.into(),
                container_id: "c0ffee".into(),
                host_port: 40_001,
            },
        ),
        (
            500.0,
            Event::TargetReady {
                target: TARGET.into(),
            },
        ),
        (
            FAULT_MS,
            Event::FaultInjected {
                fault: "memory_leak".into(),
                target: TARGET.into(),
                detail: "64 MiB/s".into(),
            },
        ),
        (OOM_MS, docker("oom")),
        (OOM_MS + 5.0, docker("die")),
        (3650.0, docker("start")),
    ];
    events.extend(healer(3050.0));
    // The prober, every 50 ms from readiness: refused while the target is dead.
    for i in 0..((END_MS - 600.0) / 50.0) as u32 {
        let t = 600.0 + f64::from(i) * 50.0;
        let ok = !(OOM_MS..BACK_MS).contains(&t);
        let latency = if ok {
            1.5 + f64::from(i % 5) * 0.3
        } else {
            0.8
        };
        events.push((t, probe(ok, latency)));
    }
    if series {
        for i in 0..((END_MS - 500.0) / 100.0) as u32 {
            let t = 500.0 + f64::from(i) * 100.0;
            if (OOM_MS..BACK_MS).contains(&t) {
                continue; // the container is not running: it has no cgroup to sample
            }
            // The first sample of each run of the container has no CPU figure yet.
            let first = t == 500.0 || (BACK_MS..BACK_MS + 100.0).contains(&t);
            let leaking = (FAULT_MS..OOM_MS).contains(&t);
            let mib = if leaking {
                6.0 + (t - FAULT_MS) / (OOM_MS - FAULT_MS) * 58.0
            } else if t < OOM_MS {
                6.0
            } else {
                5.0 + (t - BACK_MS) / 1000.0
            };
            // Allocating costs CPU, and the half-core quota throttles it a quarter of the time.
            let cpu = if leaking {
                48.0
            } else {
                4.0 + f64::from(i % 3)
            };
            let throttled = if leaking { 25.0 } else { 0.0 };
            events.push((
                t,
                sample(mib, (!first).then_some(cpu), (!first).then_some(throttled)),
            ));
        }
        for i in 1..=((END_MS - 500.0) / 250.0) as u32 {
            let t = 500.0 + f64::from(i) * 250.0;
            let w = if t <= OOM_MS {
                window(100, 0, 2.0, 8.0)
            } else if t <= BACK_MS {
                window(0, 60, 0.9, 3.0)
            } else if t <= BACK_MS + 250.0 {
                window(140, 5, 12.0, 320.0)
            } else {
                window(100, 0, 2.1, 9.0)
            };
            events.push((t, w));
        }
    }
    events.push((
        7900.0,
        Event::Load {
            requests_ok: 2700,
            requests_failed: if series { 205 } else { 0 },
            rps: 400.0,
            p50_ms: 2.0,
            p95_ms: 6.0,
            p99_ms: 9.0,
            max_ms: 320.0,
        },
    ));
    events.push((END_MS, Event::TrialEnded { interrupted: false }));
    events
        .into_iter()
        .map(|(t, event)| Record {
            t_ms: offset + t,
            unix_ms: 1_700_000_000_000 + (offset + t) as u64,
            trial: Some(trial),
            event,
        })
        .collect()
}

/// The whole run: trial 1 with series, trial 2 without.
pub fn oom_run() -> Vec<Record> {
    let at = |t_ms: f64, event| Record {
        t_ms,
        unix_ms: 1_700_000_000_000 + t_ms as u64,
        trial: None,
        event,
    };
    let mut records = vec![at(
        0.0,
        Event::RunStarted {
            run_id: "0ver7ime".into(),
            scenario: "oom-recovery".into(),
            trials: 2,
            sim_version: "0.1.0".into(),
            strategy: Some("embedded".into()),
            seed: None,
            setup: None,
        },
    )];
    records.extend(trial(1, 100.0, true));
    records.extend(trial(2, 9000.0, false));
    records.push(at(17_500.0, Event::RunEnded { interrupted: false }));
    records
}

/// `records`' HTML report, with K = 3 and no expectations.
pub fn html(records: &[Record]) -> String {
    let summary = summarize(records, 3, &Expectations::default());
    let info = RunInfo {
        run_id: "0ver7ime".into(),
        scenario: "oom-recovery".into(),
        journal: PathBuf::from("journal.jsonl"),
        started_unix_ms: 1_700_000_000_000,
        interrupted: false,
    };
    render_html(records, &summary, &info)
}
