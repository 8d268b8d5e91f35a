//! `network-latency`: every chunk between the balancer and the replica delayed, in each
//! direction, by `fixed` (required) ± `jitter` (default 0) in the proxy in the path (the
//! replica itself answers as fast as ever). Needs a balancer.

use std::time::Duration;

use super::Fault;
use crate::docker::TargetContainer;
use crate::faults::{network, FaultError, Injector};
use crate::netproxy::Toxic;
use crate::scenario::KindCompiler;

/// The delay the proxy adds to each chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkLatency {
    pub fixed: Duration,
    pub jitter: Duration,
}

impl NetworkLatency {
    fn toxic(&self) -> Toxic {
        Toxic::Latency {
            fixed: self.fixed,
            jitter: self.jitter,
        }
    }
}

impl Fault for NetworkLatency {
    const NAME: &'static str = "network-latency";
    const FIELDS: &'static [&'static str] = &["fixed", "jitter"];
    const LASTS: bool = true;
    const IN_NETWORK: bool = true;

    fn compile(f: &mut KindCompiler<'_, '_>) -> Option<Self> {
        let (fixed, jitter) = f.latency()?;
        Some(NetworkLatency { fixed, jitter })
    }

    async fn inject(
        &self,
        injector: &Injector,
        target: &TargetContainer,
        _window: Option<Duration>,
    ) -> Result<(), FaultError> {
        injector.toxic(target, &self.toxic(), true).await
    }

    async fn clear(&self, injector: &Injector, target: &TargetContainer) -> Result<(), FaultError> {
        injector.toxic(target, &self.toxic(), false).await
    }

    fn describe(&self, _window: Option<Duration>) -> String {
        network::describe(&self.toxic())
    }
}
