//! Container stats samples as metrics: memory in bytes and in % of the limit, CPU % and the
//! share of CPU-throttled scheduler periods from two samples' counters.

use tokio::time::Instant;

use crate::platform::Stats;

/// The metric names a stats sample gives.
pub(crate) const STATS_METRICS: [&str; 5] = [
    "memory_bytes",
    "memory_limit_bytes",
    "memory_percent",
    "cpu_percent",
    "cpu_throttled_percent",
];

/// The metrics of `stats` taken at `now`: `memory_bytes` always; `memory_limit_bytes` and
/// `memory_percent` when there is a limit; `cpu_percent` (100 = one core busy) when there is a
/// `previous` sample to compare with and time has passed since; `cpu_throttled_percent` (the
/// share of scheduler periods since `previous` in which the target hit its CPU limit: a
/// CPU-starved container, whatever its limit) when it ran under a CPU limit in between.
pub(crate) fn metrics(
    stats: &Stats,
    previous: Option<&(Instant, Stats)>,
    now: Instant,
) -> Vec<(&'static str, f64)> {
    let mut out = vec![("memory_bytes", stats.memory_bytes as f64)];
    if let Some(limit) = stats.memory_limit_bytes.filter(|limit| *limit > 0) {
        out.push(("memory_limit_bytes", limit as f64));
        out.push((
            "memory_percent",
            stats.memory_bytes as f64 * 100.0 / limit as f64,
        ));
    }
    if let Some((at, before)) = previous {
        let elapsed = now.duration_since(*at).as_nanos() as f64;
        // A restarted container's counter starts again from zero: skip that pair.
        if elapsed > 0.0 && stats.cpu_total_ns >= before.cpu_total_ns {
            let used = (stats.cpu_total_ns - before.cpu_total_ns) as f64;
            out.push(("cpu_percent", used * 100.0 / elapsed));
        }
        let periods = stats.cpu_periods.checked_sub(before.cpu_periods);
        let throttled = stats
            .cpu_throttled_periods
            .checked_sub(before.cpu_throttled_periods);
        if let (Some(periods @ 1..), Some(throttled)) = (periods, throttled) {
            out.push((
                "cpu_throttled_percent",
                throttled as f64 * 100.0 / periods as f64,
            ));
        }
    }
    out
}
