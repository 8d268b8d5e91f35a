//! Every detector, fed in paused tokio time: deterministic and instant.

use std::path::Path;
use std::time::Duration;

use tokio::time::{advance, Instant};

use super::*;
use crate::triggers::anomaly::AnomalyDetector;
use crate::triggers::probe_failures::ConsecutiveFailures;
use crate::triggers::threshold::ThresholdDetector;
use crate::triggers::trend::TrendDetector;

fn runbook(name: &str, when: &str) -> Arc<Runbook> {
    let yaml = format!(
        "name: {name}\nclass: c-{name}\nwhen: [{when}]\nsteps: [{{action: restart, timeout: 1s}}]\n\
         verify: {{http_path: /health, within: 1s}}\ncooldown: 0s\nmax_actions: 1\nwindow: 1m\n"
    );
    Arc::new(Runbook::parse(&yaml, Path::new("test")).unwrap())
}

fn metric(value: f64) -> SignalKind {
    SignalKind::Metric {
        name: "memory_percent".into(),
        value,
    }
}

#[test]
fn first_matching_runbook_wins_and_says_why() {
    let runbooks = [
        runbook("oom", "{docker_event: oom}"),
        runbook("crash", "{docker_event: die, exit_code: 1}"),
        runbook("any-death", "{docker_event: die}"),
    ];
    let mut d = Detectors::default();
    let now = Instant::now();
    let oom = d.observe("t", &SignalKind::Oom, now, &runbooks).remove(0);
    assert_eq!(oom.runbook.name(), "oom");
    assert_eq!(oom.reason, "`when: docker_event: oom` matches oom");
    let crash = d.observe(
        "t",
        &SignalKind::Died { exit_code: Some(1) },
        now,
        &runbooks,
    );
    assert_eq!(crash.len(), 2, "both death runbooks match");
    assert_eq!(crash[0].runbook.class(), "c-crash");
    assert_eq!(crash[1].runbook.class(), "c-any-death");
    let killed = SignalKind::Died {
        exit_code: Some(137),
    };
    assert_eq!(
        d.observe("t", &killed, now, &runbooks)
            .remove(0)
            .runbook
            .name(),
        "any-death"
    );
    assert!(d
        .observe("t", &SignalKind::Health { healthy: false }, now, &runbooks)
        .is_empty());
}

#[test]
fn consecutive_failures_need_n_in_a_row() {
    let mut d = ConsecutiveFailures::new(3);
    assert_eq!(d.observe(false), Verdict::NotYet);
    assert_eq!(d.observe(false), Verdict::NotYet);
    assert_eq!(d.observe(true), Verdict::Fine);
    assert_eq!(d.observe(false), Verdict::NotYet);
    assert_eq!(d.observe(false), Verdict::NotYet);
    assert!(matches!(d.observe(false), Verdict::Firing(r) if r == "3 failed probes in a row"));
    assert_eq!(
        d.observe(false),
        Verdict::NotYet,
        "starts over after firing"
    );
}

#[tokio::test(start_paused = true)]
async fn threshold_fires_only_when_held_for_its_duration() {
    let mut d = ThresholdDetector::new(90.0, Duration::from_secs(5));
    assert_eq!(d.observe(95.0, Instant::now()), Verdict::NotYet);
    advance(Duration::from_secs(3)).await;
    assert_eq!(d.observe(96.0, Instant::now()), Verdict::NotYet);
    assert_eq!(
        d.observe(50.0, Instant::now()),
        Verdict::Fine,
        "a dip resets"
    );
    advance(Duration::from_secs(1)).await;
    assert_eq!(d.observe(91.0, Instant::now()), Verdict::NotYet);
    advance(Duration::from_millis(4999)).await;
    assert_eq!(d.observe(91.0, Instant::now()), Verdict::NotYet);
    advance(Duration::from_millis(1)).await;
    assert!(
        matches!(d.observe(92.0, Instant::now()), Verdict::Firing(r) if r.starts_with("above 90 for 5s"))
    );
}

#[tokio::test(start_paused = true)]
async fn trend_fires_before_the_limit_and_not_on_flat_or_falling_series() {
    // 2 %/s from 50 %: the fitted line reaches 100 % 25 s after the first sample.
    let mut d = TrendDetector::new(100.0, Duration::from_secs(10), 5);
    let mut verdicts = Vec::new();
    for i in 0..12 {
        verdicts.push(d.observe(50.0 + 2.0 * f64::from(i), Instant::now()));
        advance(Duration::from_secs(1)).await;
    }
    // Four samples: not enough. Then the ETA shrinks 21 s, 20 s… and crosses 10 s at t = 15 s.
    assert!(
        verdicts[..4].iter().all(|v| *v == Verdict::NotYet),
        "{verdicts:?}"
    );
    assert!(
        verdicts[4..].iter().all(|v| *v == Verdict::Fine),
        "{verdicts:?}"
    );
    let mut fired = None;
    for i in 12..20 {
        if let Verdict::Firing(reason) = d.observe(50.0 + 2.0 * f64::from(i), Instant::now()) {
            fired = Some((i, reason));
            break;
        }
        advance(Duration::from_secs(1)).await;
    }
    let (at, reason) = fired.expect("fires before the limit");
    assert_eq!(at, 15, "{reason}");
    assert!(reason.contains("reaches 100 in 10.0s"), "{reason}");

    let mut flat = TrendDetector::new(100.0, Duration::from_secs(10), 3);
    for _ in 0..2 {
        assert_eq!(flat.observe(60.0, Instant::now()), Verdict::NotYet);
        advance(Duration::from_secs(1)).await;
    }
    assert_eq!(flat.observe(60.0, Instant::now()), Verdict::Fine);
    let mut falling = TrendDetector::new(100.0, Duration::from_secs(10), 3);
    for v in [90.0, 80.0] {
        falling.observe(v, Instant::now());
        advance(Duration::from_secs(1)).await;
    }
    assert_eq!(falling.observe(70.0, Instant::now()), Verdict::Fine);
    let mut same_instant = TrendDetector::new(100.0, Duration::from_secs(10), 3);
    for v in [1.0, 2.0, 3.0] {
        assert_eq!(same_instant.observe(v, Instant::now()), Verdict::NotYet);
    }
}

#[test]
fn anomaly_learns_a_baseline_then_fires_on_an_outlier_only() {
    let mut d = AnomalyDetector::new(4.0, 20);
    for i in 0..20 {
        let noisy = 100.0 + if i % 2 == 0 { 5.0 } else { -5.0 };
        assert_eq!(d.observe(noisy), Verdict::NotYet, "warming up at {i}");
    }
    for i in 0..50 {
        let noisy = 100.0 + if i % 2 == 0 { 5.0 } else { -5.0 };
        assert_eq!(d.observe(noisy), Verdict::Fine);
    }
    assert!(matches!(d.observe(200.0), Verdict::Firing(r) if r.contains("standard deviations")));
    assert!(
        matches!(d.observe(200.0), Verdict::Firing(_)),
        "an outlier is not learned as normal"
    );
    assert_eq!(d.observe(104.0), Verdict::Fine);
}

#[tokio::test(start_paused = true)]
async fn detectors_are_per_target_and_per_metric() {
    let runbooks = [runbook(
        "mem",
        "{threshold: memory_percent, above: 90, for: 2s}",
    )];
    let mut d = Detectors::default();
    let cpu = SignalKind::Metric {
        name: "cpu_percent".into(),
        value: 99.0,
    };
    assert!(d
        .observe("a", &metric(95.0), Instant::now(), &runbooks)
        .is_empty());
    assert!(d
        .observe("b", &metric(50.0), Instant::now(), &runbooks)
        .is_empty());
    advance(Duration::from_secs(2)).await;
    assert!(
        d.observe("a", &cpu, Instant::now(), &runbooks).is_empty(),
        "other metric"
    );
    assert!(
        d.observe("b", &metric(95.0), Instant::now(), &runbooks)
            .is_empty(),
        "b just began"
    );
    let fired = d
        .observe("a", &metric(95.0), Instant::now(), &runbooks)
        .remove(0);
    assert_eq!(fired.runbook.name(), "mem");
    assert!(
        fired.reason.starts_with("above 90 for 2s"),
        "{}",
        fired.reason
    );

    let probes = [runbook("hang", "{probe_failures: 2}")];
    let mut d = Detectors::default();
    let failed = SignalKind::Probe {
        ok: false,
        latency: Duration::from_millis(500),
    };
    assert!(d.observe("a", &failed, Instant::now(), &probes).is_empty());
    assert_eq!(d.observe("a", &failed, Instant::now(), &probes).len(), 1);
}
