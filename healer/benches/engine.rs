//! Benchmarks of the healer engine with a fake platform (no Docker): signal throughput through
//! the detectors and de-duplication, decision latency (fault signal → first action), and the
//! memory the engine holds for 1,000 targets. A `harness = false` bench that times with
//! `tokio::time::Instant` and prints medians: `cargo bench -p healer --bench engine`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{signal, FakePlatform, Feed};
use healer::{Healer, Runbook, Scope, SignalKind, TargetRef};
use journal::{Event, Sink};
use stop::CancelOnDrop;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Targets the engine watches.
const TARGETS: usize = 1_000;
/// Signals per target in the throughput run (probes and metrics, plus repeated OOM kills that
/// de-duplication must fold into one incident per target).
const ROUNDS: usize = 100;
/// Repetitions of the throughput run; the median is reported.
const REPEATS: usize = 5;
/// Fault signals timed for decision latency.
const DECISIONS: usize = 500;

/// Counts every event and forwards the ones the bench waits on (detections, action starts)
/// with the instant they were recorded.
struct Watch {
    events: AtomicU64,
    marks: mpsc::UnboundedSender<(Instant, Event)>,
}

impl Sink for Watch {
    fn record(&self, event: Event) {
        self.events.fetch_add(1, Ordering::Relaxed);
        if matches!(event, Event::Detected { .. } | Event::ActionStarted { .. }) {
            let _ = self.marks.send((Instant::now(), event));
        }
    }
}

fn target(index: usize) -> TargetRef {
    TargetRef {
        id: format!("id-{index}"),
        name: format!("t-{index}"),
        labels: BTreeMap::from([("healer.port".to_owned(), "8080".to_owned())]),
    }
}

/// Every runbook shipped in `runbooks/` that loads.
fn runbooks() -> Vec<Runbook> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.sort();
    paths
        .iter()
        .filter_map(|path| Runbook::load(path).ok())
        .collect()
}

/// A loopback HTTP server answering 200 to everything, for the healer's verification.
async fn ok_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = conn.read(&mut buf).await;
                let _ = conn
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    address
}

struct Running {
    feed: Feed,
    marks: mpsc::UnboundedReceiver<(Instant, Event)>,
    _stop: CancelOnDrop,
}

/// A healer over the fake platform (signals from the bench, restarts succeeding at once,
/// verification probes to `endpoint`) with every runbook in `runbooks`.
fn start(endpoint: SocketAddr, runbooks: &[Runbook]) -> Running {
    let (platform, feed) = FakePlatform::new();
    let platform = Arc::new(platform.with_endpoint(Some(endpoint)));
    let (marks_tx, marks) = mpsc::unbounded_channel();
    let sink = Arc::new(Watch {
        events: AtomicU64::new(0),
        marks: marks_tx,
    });
    let healer = Healer::new(platform, runbooks.to_vec(), Scope::default(), sink);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = healer
            .run(async {
                let _ = stop_rx.await;
            })
            .await;
    });
    Running {
        feed,
        marks,
        _stop: CancelOnDrop(Some(stop_tx)),
    }
}

/// Waits for the `ActionStarted` about `name`; returns when it was recorded.
async fn wait_for_action(
    marks: &mut mpsc::UnboundedReceiver<(Instant, Event)>,
    name: &str,
) -> Option<Instant> {
    while let Some((at, event)) = marks.recv().await {
        if matches!(&event, Event::ActionStarted { target, .. } if target == name) {
            return Some(at);
        }
    }
    None
}

/// Throughput: TARGETS × ROUNDS signals (probe ok, probe failed, a memory metric, and an OOM
/// kill every 10th round) queued up front, then a sentinel fault; timed until the sentinel's
/// detection. Returns signals per second, signals sent, OOM signals sent and incidents opened.
async fn throughput(endpoint: SocketAddr, runbooks: &[Runbook]) -> (f64, usize, usize, usize) {
    let mut running = start(endpoint, runbooks);
    let targets: Vec<TargetRef> = (0..TARGETS).map(target).collect();
    let mut sent = 0usize;
    let mut ooms = 0usize;
    for round in 0..ROUNDS {
        for t in &targets {
            let kind = match round % 10 {
                0 => {
                    ooms += 1;
                    SignalKind::Oom
                }
                1 | 5 => SignalKind::Probe {
                    ok: false,
                    latency: Duration::from_millis(500),
                },
                2 | 6 | 8 => SignalKind::Metric {
                    name: "memory_bytes".to_owned(),
                    value: (round * 1_000_000) as f64,
                },
                _ => SignalKind::Probe {
                    ok: true,
                    latency: Duration::from_millis(2),
                },
            };
            let _ = running.feed.send(Ok(signal(t, kind)));
            sent += 1;
        }
    }
    let sentinel = target(TARGETS + 1);
    let started = Instant::now();
    let _ = running.feed.send(Ok(signal(&sentinel, SignalKind::Oom)));
    let mut incidents = 0;
    while let Some((_, event)) = running.marks.recv().await {
        if let Event::Detected { target, .. } = event {
            if target == sentinel.name {
                break;
            }
            incidents += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    ((sent + 1) as f64 / elapsed, sent + 1, ooms, incidents)
}

/// Decision latency: a fresh OOM kill on one target at a time (each target once, so no cooldown
/// applies), timed from the send to the journal's `ActionStarted`.
async fn decisions(endpoint: SocketAddr, runbooks: &[Runbook]) -> Vec<f64> {
    let mut running = start(endpoint, runbooks);
    let mut latencies = Vec::with_capacity(DECISIONS);
    for index in 0..DECISIONS {
        let t = target(index);
        let sent = Instant::now();
        let _ = running.feed.send(Ok(signal(&t, SignalKind::Oom)));
        if let Some(at) = wait_for_action(&mut running.marks, &t.name).await {
            latencies.push(at.duration_since(sent).as_secs_f64() * 1e6);
        }
    }
    latencies
}

/// Resident memory of this process (kB), from /proc/self/status.
fn rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Memory: the RSS the engine adds once it has seen signals (probes, metrics, an OOM kill and
/// its incident) for TARGETS targets.
async fn memory(endpoint: SocketAddr, runbooks: &[Runbook]) -> Option<(u64, u64)> {
    let before = rss_kb()?;
    let mut running = start(endpoint, runbooks);
    let targets: Vec<TargetRef> = (0..TARGETS).map(target).collect();
    for round in 0..30 {
        for t in &targets {
            let kind = if round == 0 {
                SignalKind::Started
            } else {
                SignalKind::Metric {
                    name: "memory_bytes".to_owned(),
                    value: (round * 1_000_000) as f64,
                }
            };
            let _ = running.feed.send(Ok(signal(t, kind)));
        }
    }
    for t in &targets {
        let _ = running.feed.send(Ok(signal(t, SignalKind::Oom)));
    }
    let last = &targets[TARGETS - 1];
    wait_for_action(&mut running.marks, &last.name).await;
    let after = rss_kb()?;
    Some((before, after))
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let runbooks = runbooks();
        let endpoint = ok_server().await;
        println!(
            "healer engine benchmark: {TARGETS} targets, {} runbooks, fake platform",
            runbooks.len()
        );

        // First, while the allocator holds nothing freed by earlier phases.
        match memory(endpoint, &runbooks).await {
            Some((before, after)) => println!(
                "memory: RSS {before} kB before, {after} kB with {TARGETS} targets watched and one incident each (+{} kB, {:.1} kB per target)",
                after.saturating_sub(before),
                after.saturating_sub(before) as f64 / TARGETS as f64
            ),
            None => println!("memory: /proc/self/status unreadable"),
        }

        let mut rates = Vec::new();
        let mut count = (0, 0, 0);
        for _ in 0..REPEATS {
            let (rate, sent, ooms, incidents) = throughput(endpoint, &runbooks).await;
            rates.push(rate);
            count = (sent, ooms, incidents);
        }
        println!(
            "de-duplication: {} OOM signals for {TARGETS} targets opened {} incidents",
            count.1, count.2
        );
        println!(
            "throughput: {} signals per run, median {:.0} signals/s (min {:.0}, max {:.0}) over {REPEATS} runs",
            count.0,
            percentile(&rates, 50.0),
            percentile(&rates, 0.0),
            percentile(&rates, 100.0)
        );

        let latencies = decisions(endpoint, &runbooks).await;
        println!(
            "decision latency (OOM signal → ActionStarted), {} decisions: p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
            latencies.len(),
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0),
            percentile(&latencies, 100.0)
        );

    });
}

mod stop {
    //! Stops a running healer when the bench drops its handle.

    /// Sends the stop signal on drop.
    pub struct CancelOnDrop(pub Option<tokio::sync::oneshot::Sender<()>>);

    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            if let Some(tx) = self.0.take() {
                let _ = tx.send(());
            }
        }
    }
}
