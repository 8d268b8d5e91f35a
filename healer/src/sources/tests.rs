//! The sources against a fake platform: which start, what they send, how often (in paused
//! time), and the prober against a real loopback server (in real time).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::platform::fake::{Fake, MIB};

fn runbooks(whens: &[&str]) -> Vec<Arc<Runbook>> {
    whens
        .iter()
        .map(|when| {
            let yaml = format!(
                "name: r\nclass: c\nwhen:\n  - {when}\nsteps:\n  - action: restart\n    timeout: 5s\n\
                 verify:\n  http_path: /health\n  within: 5s\ncooldown: 1s\nmax_actions: 3\nwindow: 1m\n"
            );
            Arc::new(Runbook::parse(&yaml, Path::new("test.yaml")).unwrap())
        })
        .collect()
}

fn target() -> TargetRef {
    TargetRef {
        id: "id-0".into(),
        name: "leaky-0".into(),
        labels: BTreeMap::new(),
    }
}

fn start(needs: Needs) -> (Sources, mpsc::Receiver<Signal>, Arc<Fake>) {
    let platform = Arc::new(Fake::default());
    let (sources, rx) = Sources::new(
        needs,
        SourceSettings::default(),
        platform.clone(),
        reqwest::Client::new(),
    );
    (sources, rx, platform)
}

/// Everything sent until `until` (paused time), with the time since `start` it was sent at.
async fn collect(rx: &mut mpsc::Receiver<Signal>, until: Duration) -> Vec<(Duration, SignalKind)> {
    let start = Instant::now();
    let mut got = Vec::new();
    while let Ok(Some(signal)) = tokio::time::timeout_at(start + until, rx.recv()).await {
        got.push((signal.at - start, signal.kind));
    }
    got
}

#[test]
fn only_the_sources_some_trigger_reads_are_needed() {
    assert!(!Needs::of(&runbooks(&["docker_event: oom", "alert: '*'"])).any());
    let needs = Needs::of(&runbooks(&[
        "probe_failures: 3",
        "{ trend: memory_percent, reaches: 95, within: 30s }",
        "{ threshold: http_request_duration_seconds_p95, above: 0.5, for: 10s }",
    ]));
    assert_eq!(
        needs,
        Needs {
            probe: true,
            probe_slow: None,
            stats: true,
            scraped: ["http_request_duration_seconds_p95".to_owned()].into(),
            logs: false,
        }
    );
    let logs = Needs::of(&runbooks(&["docker_event: oom", "log_match: FATAL"]));
    assert!(logs.logs && !logs.probe && !logs.stats, "{logs:?}");
    // The lowest latency any threshold on it counts is what makes a probe slow.
    let latency = Needs::of(&runbooks(&[
        "{ threshold: probe_latency_ms, above: 500, for: 5s }",
        "{ threshold: probe_latency_ms, above: 200, for: 1s }",
    ]));
    assert_eq!(
        (latency.probe, latency.stats, latency.scraped.len()),
        (true, false, 0)
    );
    assert_eq!(latency.probe_slow, Some(Duration::from_millis(200)));
}

#[tokio::test(start_paused = true)]
async fn stats_become_memory_and_cpu_metrics_every_interval() {
    let (mut sources, mut rx, platform) = start(Needs {
        stats: true,
        ..Needs::default()
    });
    sources.watch(&target());
    sources.watch(&target()); // a second start signal starts nothing more
    let got = collect(&mut rx, Duration::from_millis(2500)).await;
    assert_eq!(
        platform.samples.load(Ordering::SeqCst),
        3,
        "samples at 0, 1 s, 2 s"
    );
    let series = |name: &str| -> Vec<(Duration, f64)> {
        got.iter()
            .filter_map(|(at, kind)| match kind {
                SignalKind::Metric { name: n, value } if n == name => Some((*at, *value)),
                _ => None,
            })
            .collect()
    };
    let secs = Duration::from_secs;
    assert_eq!(
        series("memory_percent"),
        [(secs(0), 10.0), (secs(1), 20.0), (secs(2), 30.0)]
    );
    assert_eq!(series("memory_bytes")[2], (secs(2), (30 * MIB) as f64));
    // 0.5 s of CPU per 1 s: 50 % of one core, from the second sample on.
    assert_eq!(series("cpu_percent"), [(secs(1), 50.0), (secs(2), 50.0)]);
    // 4 of every 10 scheduler periods throttled.
    assert_eq!(
        series("cpu_throttled_percent"),
        [(secs(1), 40.0), (secs(2), 40.0)]
    );
    assert!(got
        .iter()
        .all(|(_, kind)| matches!(kind, SignalKind::Metric { .. })));
}

#[tokio::test(start_paused = true)]
async fn a_failing_target_is_probed_at_the_suspicious_cadence_with_each_latency() {
    let (mut sources, mut rx, platform) = start(Needs {
        probe: true,
        ..Needs::default()
    });
    sources.watch(&target());
    let got = collect(&mut rx, Duration::from_millis(525)).await;
    let probes: Vec<Duration> = got
        .iter()
        .filter_map(|(at, kind)| matches!(kind, SignalKind::Probe { ok: false, .. }).then_some(*at))
        .collect();
    let expected: Vec<Duration> = (0..=500).step_by(50).map(Duration::from_millis).collect();
    assert_eq!(
        probes, expected,
        "the first failure turns probing suspicious"
    );
    let latencies = got
        .iter()
        .filter(|(_, kind)| matches!(kind, SignalKind::Metric { name, .. } if name == PROBE_LATENCY_METRIC))
        .count();
    assert_eq!(latencies, expected.len());
    assert_eq!(
        platform.samples.load(Ordering::SeqCst),
        0,
        "no stats asked for"
    );
}

#[tokio::test(start_paused = true)]
async fn log_lines_become_log_signals_in_order_each_cut_to_the_cap() {
    let long = "x".repeat(crate::excerpt::LINE_CAP * 3);
    let platform = Arc::new(Fake {
        log_lines: vec![
            "booting\n".to_owned(),
            long,
            "FATAL: pool exhausted".to_owned(),
        ],
        ..Fake::default()
    });
    let needs = Needs {
        logs: true,
        ..Needs::default()
    };
    let (mut sources, mut rx) = Sources::new(
        needs,
        SourceSettings::default(),
        platform.clone(),
        reqwest::Client::new(),
    );
    sources.watch(&target());
    let got = collect(&mut rx, Duration::from_secs(1)).await;
    let lines: Vec<(usize, &str)> = got
        .iter()
        .map(|(_, kind)| match kind {
            SignalKind::Log { line } => (line.chars().count(), &line[..7]),
            other => panic!("only log lines: {other:?}"),
        })
        .collect();
    assert_eq!(
        lines,
        [
            (7, "booting"),
            (crate::excerpt::LINE_CAP, "xxxxxxx"),
            (21, "FATAL: ")
        ]
    );
    // Without a trigger on logs, nothing follows them.
    let (mut sources, mut rx) = Sources::new(
        Needs::default(),
        SourceSettings::default(),
        platform,
        reqwest::Client::new(),
    );
    sources.watch(&target());
    assert!(collect(&mut rx, Duration::from_secs(1)).await.is_empty());
}

/// A target labelled as having no health endpoint is not probed at a guessed path.
#[tokio::test(start_paused = true)]
async fn a_target_without_a_health_endpoint_is_not_probed() {
    let (mut sources, mut rx, _platform) = start(Needs {
        probe: true,
        ..Needs::default()
    });
    let mut balancer = target();
    balancer.id = "id-lb".into();
    balancer
        .labels
        .insert(HEALTH_LABEL.to_owned(), NO_HEALTH_ENDPOINT.to_owned());
    sources.watch(&balancer);
    assert!(collect(&mut rx, Duration::from_secs(2)).await.is_empty());
    sources.watch(&target());
    assert!(!collect(&mut rx, Duration::from_millis(300))
        .await
        .is_empty());
}

/// Serves `/health` on a loopback port, at once or never (each request then hangs); counts
/// the requests.
async fn health_server(answers: bool) -> (SocketAddr, Arc<AtomicU64>) {
    let requests = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&requests);
    let health = move || {
        let seen = Arc::clone(&seen);
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            if !answers {
                std::future::pending::<()>().await;
            }
            "ok"
        }
    };
    let app = axum::Router::new().route("/health", axum::routing::get(health));
    let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, requests)
}

fn start_against(endpoint: SocketAddr) -> (Sources, mpsc::Receiver<Signal>) {
    let platform = Arc::new(Fake {
        endpoint: Some(endpoint),
        ..Fake::default()
    });
    let needs = Needs {
        probe: true,
        ..Needs::default()
    };
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    Sources::new(needs, SourceSettings::default(), platform, client)
}

// Real time from here: the probes go to a real socket.

#[tokio::test]
async fn probes_keep_leaving_while_a_hung_target_holds_the_earlier_ones() {
    let (addr, requests) = health_server(false).await;
    let (mut sources, mut rx) = start_against(addr);
    sources.watch(&target());
    let got = collect(&mut rx, Duration::from_millis(700)).await;
    // Closed loop, one probe per timeout would have sent 3 by now. Open loop: the first is
    // suspected at 50 ms, then one every 50 ms, each timing out on its own.
    let sent = requests.load(Ordering::SeqCst);
    assert!(sent >= 8, "only {sent} probes sent");
    let failed: Vec<Duration> = got
        .iter()
        .filter_map(|(_, kind)| match kind {
            SignalKind::Probe { ok: false, latency } => Some(*latency),
            _ => None,
        })
        .collect();
    assert!(failed.len() >= 3, "{got:?}");
    assert!(failed
        .iter()
        .all(|latency| *latency >= Duration::from_millis(250)));
}

#[tokio::test]
async fn a_start_of_a_healthy_target_speeds_its_probing_up_and_a_listing_does_not() {
    let (addr, requests) = health_server(true).await;
    let (mut sources, mut rx) = start_against(addr);
    sources.watch(&target());
    let got = collect(&mut rx, Duration::from_millis(700)).await;
    assert!(
        got.iter()
            .all(|(_, kind)| !matches!(kind, SignalKind::Probe { ok: false, .. })),
        "{got:?}"
    );
    let listed = requests.load(Ordering::SeqCst);
    assert!(listed <= 4, "{listed} probes of a healthy listed target");

    let (addr, requests) = health_server(true).await;
    let (mut sources, mut rx) = start_against(addr);
    sources.started(&target());
    sources.started(&target()); // one prober, however many starts
    collect(&mut rx, Duration::from_millis(700)).await;
    let started = requests.load(Ordering::SeqCst);
    assert!(
        (10..=16).contains(&started),
        "{started} probes after a start"
    );
}

#[tokio::test(start_paused = true)]
async fn sources_stop_when_the_healer_is_gone() {
    let (mut sources, rx, _platform) = start(Needs {
        probe: true,
        stats: true,
        ..Needs::default()
    });
    sources.watch(&target());
    drop(rx);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let finished = tokio::time::timeout(Duration::from_secs(1), async {
        while sources.tasks.join_next().await.is_some() {}
    })
    .await;
    assert!(finished.is_ok(), "source tasks still running");
}

#[tokio::test(start_paused = true)]
async fn a_removed_target_is_no_longer_watched() {
    let (mut sources, mut rx, platform) = start(Needs {
        stats: true,
        ..Needs::default()
    });
    sources.watch(&target());
    collect(&mut rx, Duration::from_millis(1500)).await;
    sources.forget(&target().id);
    let after = collect(&mut rx, Duration::from_secs(5)).await;
    assert!(after.is_empty(), "{after:?}");
    assert_eq!(platform.samples.load(Ordering::SeqCst), 2);
    // Watching it again (a new start) starts afresh.
    sources.watch(&target());
    assert!(!collect(&mut rx, Duration::from_millis(500))
        .await
        .is_empty());
}

#[tokio::test]
async fn a_target_that_starts_with_new_labels_is_probed_under_them() {
    let (addr, _) = health_server(false).await;
    let (mut sources, mut rx) = start_against(addr);
    sources.watch(&target());
    let mut deployed = target();
    deployed
        .labels
        .insert(crate::PREVIOUS_IMAGE_LABEL.to_owned(), "app:1".to_owned());
    sources.started(&deployed);
    // Only the new prober's failures are in what arrives once the old one's are drained.
    collect(&mut rx, Duration::from_millis(400)).await;
    let until = tokio::time::Instant::now() + Duration::from_millis(700);
    let mut probes = 0;
    while let Ok(Some(signal)) = tokio::time::timeout_at(until, rx.recv()).await {
        assert_eq!(signal.target, deployed, "{:?}", signal.kind);
        probes += 1;
    }
    assert!(probes >= 3, "{probes} probes under the new labels");
}
