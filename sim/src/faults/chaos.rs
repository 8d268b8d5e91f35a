//! The built-in target's chaos endpoints: the request that injects a fault, and the one that
//! removes it.

use std::time::Duration;

use crate::scenario::{FaultKind, Leak};

/// The chaos endpoint and query that injects `fault` into the built-in target. A CPU burn ends
/// by itself after the fault's window (or at the latest with the trial's container).
pub(super) fn chaos_query(fault: &FaultKind, window: Option<Duration>) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    match fault {
        FaultKind::MemoryLeak(Leak::Rate { bytes_per_sec }) => {
            format!("leak-rate?mib_per_sec={}", *bytes_per_sec as f64 / MIB)
        }
        FaultKind::MemoryLeak(Leak::Amount { bytes }) => {
            format!("leak?mib={}", *bytes as f64 / MIB)
        }
        FaultKind::MemoryLeak(Leak::PerRequest { bytes }) => {
            format!("leak-per-request?bytes={bytes}")
        }
        FaultKind::CpuBurn { threads } => {
            let secs = window.map_or(3600.0, |w| w.as_secs_f64().clamp(0.001, 3600.0));
            format!("cpu?threads={threads}&secs={secs}")
        }
        FaultKind::Latency { fixed, jitter } => format!(
            "latency?ms={}&jitter_ms={}",
            fixed.as_millis(),
            jitter.as_millis()
        ),
        FaultKind::Hang => "hang".to_owned(),
        FaultKind::Crash { exit_code } => format!("crash?code={exit_code}"),
        // Done through Docker or the network proxy, not the target.
        FaultKind::Kill
        | FaultKind::Pause
        | FaultKind::ResourceSqueeze { .. }
        | FaultKind::CrashLoop
        | FaultKind::BadDeploy
        | FaultKind::DependencyOutage
        | FaultKind::NetworkLatency { .. }
        | FaultKind::NetworkErrors { .. } => String::new(),
    }
}

/// The chaos endpoint and query that removes `fault`, if it needs removing.
pub(super) fn clear_query(fault: &FaultKind) -> Option<&'static str> {
    match fault {
        FaultKind::MemoryLeak(Leak::Rate { .. }) => Some("leak-rate?mib_per_sec=0"),
        FaultKind::MemoryLeak(Leak::PerRequest { .. }) => Some("leak-per-request?bytes=0"),
        FaultKind::Latency { .. } => Some("latency?ms=0&jitter_ms=0"),
        FaultKind::MemoryLeak(Leak::Amount { .. })
        | FaultKind::CpuBurn { .. }
        | FaultKind::Hang
        | FaultKind::Crash { .. }
        | FaultKind::Kill
        | FaultKind::Pause
        | FaultKind::ResourceSqueeze { .. }
        | FaultKind::CrashLoop
        | FaultKind::BadDeploy
        | FaultKind::DependencyOutage
        | FaultKind::NetworkLatency { .. }
        | FaultKind::NetworkErrors { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_map_to_the_targets_chaos_endpoints() {
        let cases = [
            (
                FaultKind::MemoryLeak(Leak::Rate {
                    bytes_per_sec: 32 * 1024 * 1024,
                }),
                "leak-rate?mib_per_sec=32",
                Some("leak-rate?mib_per_sec=0"),
            ),
            (
                FaultKind::MemoryLeak(Leak::Amount { bytes: 512 * 1024 }),
                "leak?mib=0.5",
                None,
            ),
            (
                FaultKind::Latency {
                    fixed: Duration::from_millis(200),
                    jitter: Duration::from_millis(50),
                },
                "latency?ms=200&jitter_ms=50",
                Some("latency?ms=0&jitter_ms=0"),
            ),
            (FaultKind::Crash { exit_code: 3 }, "crash?code=3", None),
            (
                FaultKind::CpuBurn { threads: 2 },
                "cpu?threads=2&secs=5",
                None,
            ),
            (FaultKind::Hang, "hang", None),
        ];
        for (fault, inject, clear) in cases {
            assert_eq!(chaos_query(&fault, Some(Duration::from_secs(5))), inject);
            assert_eq!(clear_query(&fault), clear);
        }
    }
}
