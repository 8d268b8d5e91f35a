//! `cpu-burn`: the built-in target spins `threads` threads (default 1) for the fault's window.

use std::time::Duration;

use super::Fault;
use crate::docker::TargetContainer;
use crate::faults::chaos::Chaos;
use crate::faults::{FaultError, Injector};
use crate::scenario::KindCompiler;

const DEFAULT_THREADS: u32 = 1;

/// Threads burning CPU inside the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuBurn {
    pub threads: u32,
}

impl Chaos for CpuBurn {
    /// A burn ends by itself after the fault's window (or at the latest with the trial's
    /// container).
    fn query(&self, window: Option<Duration>) -> String {
        let secs = window.map_or(3600.0, |w| w.as_secs_f64().clamp(0.001, 3600.0));
        format!("cpu?threads={}&secs={secs}", self.threads)
    }
}

impl Fault for CpuBurn {
    const NAME: &'static str = "cpu-burn";
    const FIELDS: &'static [&'static str] = &["threads"];
    const LASTS: bool = true;

    fn compile(f: &mut KindCompiler<'_, '_>) -> Option<Self> {
        let threads = f.int("threads", f.spec.threads, DEFAULT_THREADS, 1..=64)?;
        Some(CpuBurn { threads })
    }

    async fn inject(
        &self,
        injector: &Injector,
        target: &TargetContainer,
        window: Option<Duration>,
    ) -> Result<(), FaultError> {
        injector.chaos(target, self, window).await
    }

    fn describe(&self, window: Option<Duration>) -> String {
        self.query(window)
    }
}
