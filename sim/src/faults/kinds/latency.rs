//! `latency`: every answer of the built-in target delayed by `fixed` (required) ± `jitter`
//! (default 0), the process itself slow.

use std::time::Duration;

use super::Fault;
use crate::docker::TargetContainer;
use crate::faults::chaos::Chaos;
use crate::faults::{FaultError, Injector};
use crate::scenario::KindCompiler;

/// The delay the target adds to each answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    pub fixed: Duration,
    pub jitter: Duration,
}

impl Chaos for Latency {
    fn query(&self, _window: Option<Duration>) -> String {
        format!(
            "latency?ms={}&jitter_ms={}",
            self.fixed.as_millis(),
            self.jitter.as_millis()
        )
    }

    fn clear_query(&self) -> Option<&'static str> {
        Some("latency?ms=0&jitter_ms=0")
    }
}

impl Fault for Latency {
    const NAME: &'static str = "latency";
    const FIELDS: &'static [&'static str] = &["fixed", "jitter"];
    const LASTS: bool = true;

    fn compile(f: &mut KindCompiler<'_, '_>) -> Option<Self> {
        let (fixed, jitter) = f.latency()?;
        Some(Latency { fixed, jitter })
    }

    async fn inject(
        &self,
        injector: &Injector,
        target: &TargetContainer,
        window: Option<Duration>,
    ) -> Result<(), FaultError> {
        injector.chaos(target, self, window).await
    }

    async fn clear(&self, injector: &Injector, target: &TargetContainer) -> Result<(), FaultError> {
        injector.chaos_clear(target, self).await
    }

    fn describe(&self, window: Option<Duration>) -> String {
        self.query(window)
    }
}
