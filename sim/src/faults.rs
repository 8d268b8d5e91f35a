//! Injecting a scenario's faults into target replicas, and removing them again.
//!
//! Faults inside the built-in target go through its chaos endpoints; `kill` goes through Docker.
//! Every fault that can outlive its window is cleared when the window ends or the trial ends.

use std::time::Duration;

use bollard::query_parameters::KillContainerOptionsBuilder;
use bollard::Docker;

use crate::docker::TargetContainer;
use crate::scenario::{FaultKind, FaultPlan, Leak};

/// Injecting or clearing a fault failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FaultError {
    #[error("{target}: chaos request {url} failed: {detail}")]
    Http {
        target: String,
        url: String,
        detail: String,
    },
    #[error("{target}: docker refused the fault: {source}")]
    Docker {
        target: String,
        source: bollard::errors::Error,
    },
}

/// Talks to targets to inject faults.
#[derive(Debug, Clone)]
pub struct Injector {
    http: reqwest::Client,
    docker: Docker,
}

impl Injector {
    pub fn new(docker: Docker) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap_or_default();
        Injector { http, docker }
    }

    /// Injects `fault` into `target`.
    pub async fn inject(
        &self,
        fault: &FaultPlan,
        target: &TargetContainer,
    ) -> Result<(), FaultError> {
        match &fault.kind {
            FaultKind::Kill => {
                let options = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
                self.docker
                    .kill_container(&target.id, Some(options))
                    .await
                    .map_err(|source| FaultError::Docker {
                        target: target.name.clone(),
                        source,
                    })?;
                Ok(())
            }
            _ => {
                self.post(target, &chaos_query(&fault.kind, fault.duration))
                    .await
            }
        }
    }

    /// Removes a fault whose window ended. Faults that end by themselves (a kill, a crash, a
    /// CPU burn with its own duration, a one-off leak) need nothing; a hang cannot be undone
    /// without a restart.
    pub async fn clear(
        &self,
        fault: &FaultKind,
        target: &TargetContainer,
    ) -> Result<(), FaultError> {
        if let Some(query) = clear_query(fault) {
            self.post(target, query).await?;
        }
        Ok(())
    }

    async fn post(&self, target: &TargetContainer, query: &str) -> Result<(), FaultError> {
        let url = format!("http://127.0.0.1:{}/chaos/{query}", target.host_port);
        let error = |detail: String| FaultError::Http {
            target: target.name.clone(),
            url: url.clone(),
            detail,
        };
        let response = self
            .http
            .post(&url)
            .send()
            .await
            .map_err(|e| error(e.to_string()))?;
        if !response.status().is_success() {
            return Err(error(format!("status {}", response.status())));
        }
        Ok(())
    }
}

/// How the journal describes `fault`'s injection: the chaos request, or the signal sent.
pub fn describe(fault: &FaultPlan) -> String {
    match fault.kind {
        FaultKind::Kill => "SIGKILL".to_owned(),
        _ => chaos_query(&fault.kind, fault.duration),
    }
}

/// The chaos endpoint and query that injects `fault` into the built-in target. A CPU burn ends
/// by itself after the fault's window (or at the latest with the trial's container).
fn chaos_query(fault: &FaultKind, window: Option<Duration>) -> String {
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
        FaultKind::Kill => String::new(),
    }
}

/// The chaos endpoint and query that removes `fault`, if it needs removing.
fn clear_query(fault: &FaultKind) -> Option<&'static str> {
    match fault {
        FaultKind::MemoryLeak(Leak::Rate { .. }) => Some("leak-rate?mib_per_sec=0"),
        FaultKind::MemoryLeak(Leak::PerRequest { .. }) => Some("leak-per-request?bytes=0"),
        FaultKind::Latency { .. } => Some("latency?ms=0&jitter_ms=0"),
        FaultKind::MemoryLeak(Leak::Amount { .. })
        | FaultKind::CpuBurn { .. }
        | FaultKind::Hang
        | FaultKind::Crash { .. }
        | FaultKind::Kill => None,
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
