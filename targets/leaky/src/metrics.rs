//! HTTP statistics and the `/metrics` exposition (Prometheus text format 0.0.4, by hand).
//!
//! Label values are route templates, status codes and the validated version: none contains
//! `,` `=` or quotes, which naive parsers (prometheus-parse) would split on.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::state::{lock, State};

/// Upper bounds of the duration histogram, in seconds, with their label text.
const BOUNDS: [(f64, &str); 10] = [
    (0.005, "0.005"),
    (0.01, "0.01"),
    (0.025, "0.025"),
    (0.05, "0.05"),
    (0.1, "0.1"),
    (0.25, "0.25"),
    (0.5, "0.5"),
    (1.0, "1"),
    (2.5, "2.5"),
    (5.0, "5"),
];

/// Bytes per page in `/proc/self/statm` (4 KiB on the x86-64 and arm64 hosts targeted).
const PAGE_SIZE: u64 = 4096;

/// Request counts, durations and the in-flight gauge.
#[derive(Default)]
pub(crate) struct HttpStats {
    inner: Mutex<Recorded>,
    inflight: Arc<AtomicI64>,
}

#[derive(Default)]
struct Recorded {
    /// (route, status code) → requests.
    requests: BTreeMap<(String, u16), u64>,
    /// route → durations.
    durations: BTreeMap<String, Histogram>,
}

#[derive(Default)]
struct Histogram {
    /// Observations per bucket (not cumulative); the last slot is above the largest bound.
    buckets: [u64; BOUNDS.len() + 1],
    sum: f64,
    count: u64,
}

/// Counts one in-flight request until dropped.
pub(crate) struct InFlight(Arc<AtomicI64>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl HttpStats {
    /// Marks a request in flight until the guard drops.
    pub fn enter(&self) -> InFlight {
        self.inflight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(&self.inflight))
    }

    /// Records one answered request.
    pub fn record(&self, route: &str, code: u16, took: Duration) {
        let mut recorded = lock(&self.inner);
        *recorded
            .requests
            .entry((route.to_owned(), code))
            .or_default() += 1;
        let histogram = recorded.durations.entry(route.to_owned()).or_default();
        let secs = took.as_secs_f64();
        let slot = BOUNDS
            .iter()
            .position(|(bound, _)| secs <= *bound)
            .unwrap_or(BOUNDS.len());
        histogram.buckets[slot] += 1;
        histogram.sum += secs;
        histogram.count += 1;
    }
}

/// Resident set size of this process, from `/proc/self/statm` (second field, in pages).
pub(crate) fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * PAGE_SIZE)
}

/// The full `/metrics` page. (`write!` to a `String` cannot fail, hence the ignored results.)
pub(crate) fn render(state: &State) -> String {
    let mut out = String::new();
    if let Some(rss) = resident_bytes() {
        header(
            &mut out,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
        );
        let _ = writeln!(out, "process_resident_memory_bytes {rss}");
    }
    header(
        &mut out,
        "leaky_leaked_bytes",
        "gauge",
        "Bytes held by injected memory leaks.",
    );
    let _ = writeln!(out, "leaky_leaked_bytes {}", state.leaks.bytes());
    header(
        &mut out,
        "leaky_inflight_requests",
        "gauge",
        "HTTP requests being served now, including hung ones.",
    );
    let _ = writeln!(
        out,
        "leaky_inflight_requests {}",
        state.stats.inflight.load(Ordering::Relaxed)
    );
    header(
        &mut out,
        "leaky_cpu_burners",
        "gauge",
        "Threads burning CPU on purpose.",
    );
    let _ = writeln!(out, "leaky_cpu_burners {}", state.burners.live());
    header(
        &mut out,
        "leaky_build_info",
        "gauge",
        "Version of the running service.",
    );
    let _ = writeln!(out, "leaky_build_info{{version=\"{}\"}} 1", state.version);
    header(
        &mut out,
        "leaky_dependency_up",
        "gauge",
        "Whether the dependency answered its last check (1 when there is none).",
    );
    let _ = writeln!(
        out,
        "leaky_dependency_up {}",
        u8::from(state.dependency_up())
    );

    let recorded = lock(&state.stats.inner);
    header(
        &mut out,
        "leaky_http_requests_total",
        "counter",
        "HTTP requests answered, by route and status code.",
    );
    for ((path, code), n) in &recorded.requests {
        let _ = writeln!(
            out,
            "leaky_http_requests_total{{path=\"{path}\",code=\"{code}\"}} {n}"
        );
    }
    let name = "leaky_http_request_duration_seconds";
    header(
        &mut out,
        name,
        "histogram",
        "Time to answer HTTP requests, by route.",
    );
    for (path, h) in &recorded.durations {
        let mut cumulative = 0;
        for ((_, le), n) in BOUNDS.iter().zip(&h.buckets) {
            cumulative += n;
            let _ = writeln!(
                out,
                "{name}_bucket{{path=\"{path}\",le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{path=\"{path}\",le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(out, "{name}_sum{{path=\"{path}\"}} {}", h.sum);
        let _ = writeln!(out, "{name}_count{{path=\"{path}\"}} {}", h.count);
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let stats = HttpStats::default();
        stats.record("/", 200, Duration::from_millis(3));
        stats.record("/", 200, Duration::from_millis(30));
        stats.record("/", 500, Duration::from_secs(10));
        let recorded = lock(&stats.inner);
        let h = &recorded.durations["/"];
        assert_eq!(h.count, 3);
        assert_eq!(h.buckets[0], 1);
        assert_eq!(h.buckets[3], 1);
        assert_eq!(h.buckets[BOUNDS.len()], 1);
        assert!((h.sum - 10.033).abs() < 1e-9);
        assert_eq!(recorded.requests[&("/".to_owned(), 200)], 2);
    }

    #[test]
    fn inflight_guard_counts_down() {
        let stats = HttpStats::default();
        let a = stats.enter();
        let b = stats.enter();
        assert_eq!(stats.inflight.load(Ordering::Relaxed), 2);
        drop(a);
        drop(b);
        assert_eq!(stats.inflight.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn resident_memory_is_read_from_proc() {
        let rss = resident_bytes().expect("/proc/self/statm is readable on Linux");
        assert!(rss > 1 << 20, "{rss}");
    }
}
