//! The sources against a fake platform, in paused time: which start, what they send, how often.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{self, BoxFuture};
use futures_util::stream::{self, BoxStream};
use futures_util::{FutureExt, StreamExt};

use super::*;
use crate::platform::{PlatformError, Scope, Stats};

/// Stats grow by 10 MiB of memory and 0.5 s of CPU per sample, against a 100 MiB limit; no
/// port is published, so every probe fails at once.
#[derive(Default)]
struct Fake {
    samples: AtomicU64,
}

const MIB: u64 = 1024 * 1024;

impl Platform for Fake {
    fn signals(&self, _scope: &Scope) -> BoxStream<'static, Result<Signal, PlatformError>> {
        stream::empty().boxed()
    }

    fn restart(&self, _: &TargetRef, _: Duration) -> BoxFuture<'_, Result<(), PlatformError>> {
        future::ready(Ok(())).boxed()
    }

    fn http_endpoint(
        &self,
        target: &TargetRef,
        port: u16,
    ) -> BoxFuture<'_, Result<SocketAddr, PlatformError>> {
        future::ready(Err(PlatformError::PortNotPublished {
            target: target.name.clone(),
            port,
        }))
        .boxed()
    }

    fn stats(&self, _: &TargetRef) -> BoxFuture<'_, Result<Stats, PlatformError>> {
        let n = self.samples.fetch_add(1, Ordering::SeqCst) + 1;
        future::ready(Ok(Stats {
            memory_bytes: 10 * MIB * n,
            memory_limit_bytes: Some(100 * MIB),
            cpu_total_ns: 500_000_000 * n,
            cpu_periods: 10 * n,
            cpu_throttled_periods: 4 * n,
        }))
        .boxed()
    }
}

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
            stats: true,
            scraped: ["http_request_duration_seconds_p95".to_owned()].into(),
        }
    );
    let latency = Needs::of(&runbooks(&[
        "{ threshold: probe_latency_ms, above: 500, for: 5s }",
    ]));
    assert_eq!(
        (latency.probe, latency.stats, latency.scraped.len()),
        (true, false, 0)
    );
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
async fn the_prober_sends_a_failed_probe_and_its_latency_every_interval() {
    let (mut sources, mut rx, platform) = start(Needs {
        probe: true,
        ..Needs::default()
    });
    sources.watch(&target());
    let got = collect(&mut rx, Duration::from_millis(3500)).await;
    let probes: Vec<Duration> = got
        .iter()
        .filter_map(|(at, kind)| matches!(kind, SignalKind::Probe { ok: false, .. }).then_some(*at))
        .collect();
    let secs = Duration::from_secs;
    assert_eq!(probes, [secs(0), secs(1), secs(2), secs(3)]);
    let latencies = got
        .iter()
        .filter(|(_, kind)| matches!(kind, SignalKind::Metric { name, .. } if name == PROBE_LATENCY_METRIC))
        .count();
    assert_eq!(latencies, 4);
    assert_eq!(
        platform.samples.load(Ordering::SeqCst),
        0,
        "no stats asked for"
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
