//! The built-in target's chaos endpoints: a fault inside the target is the request that injects
//! it and, for some, the one that removes it.

use std::time::Duration;

use super::{FaultError, Injector};
use crate::docker::TargetContainer;

/// A fault the built-in target does to itself when asked through a chaos endpoint.
pub(super) trait Chaos {
    /// The chaos endpoint and query that injects it; `window` is how long it is to last, if
    /// the fault says.
    fn query(&self, window: Option<Duration>) -> String;

    /// The chaos endpoint and query that removes it, if it needs removing.
    fn clear_query(&self) -> Option<&'static str> {
        None
    }
}

impl Injector {
    /// Injects `fault` into `target` through its chaos endpoint.
    pub(super) async fn chaos(
        &self,
        target: &TargetContainer,
        fault: &impl Chaos,
        window: Option<Duration>,
    ) -> Result<(), FaultError> {
        self.post(target, &fault.query(window)).await
    }

    /// Removes `fault` from `target` through its chaos endpoint, if it needs removing.
    pub(super) async fn chaos_clear(
        &self,
        target: &TargetContainer,
        fault: &impl Chaos,
    ) -> Result<(), FaultError> {
        match fault.clear_query() {
            Some(query) => self.post(target, query).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::kinds::{CpuBurn, Crash, Hang, Latency, Leak};

    fn check(fault: &impl Chaos, inject: &str, clear: Option<&str>) {
        assert_eq!(fault.query(Some(Duration::from_secs(5))), inject);
        assert_eq!(fault.clear_query(), clear);
    }

    #[test]
    fn faults_map_to_the_targets_chaos_endpoints() {
        check(
            &Leak::Rate {
                bytes_per_sec: 32 * 1024 * 1024,
            },
            "leak-rate?mib_per_sec=32",
            Some("leak-rate?mib_per_sec=0"),
        );
        check(&Leak::Amount { bytes: 512 * 1024 }, "leak?mib=0.5", None);
        check(
            &Latency {
                fixed: Duration::from_millis(200),
                jitter: Duration::from_millis(50),
            },
            "latency?ms=200&jitter_ms=50",
            Some("latency?ms=0&jitter_ms=0"),
        );
        check(&Crash { exit_code: 3 }, "crash?code=3", None);
        check(&CpuBurn { threads: 2 }, "cpu?threads=2&secs=5", None);
        check(&Hang, "hang", None);
    }
}
