//! `network-loss`: this share (`rate`, above 0%) of new connections from the balancer to the
//! replica lost in the proxy in the path: accepted, then never forwarded nor answered, so the
//! balancer sees a timeout, not a reset (a TCP proxy cannot drop packets; this is what their
//! loss looks like to a client). Needs a balancer.

use std::time::Duration;

use super::Fault;
use crate::docker::TargetContainer;
use crate::faults::{network, FaultError, Injector};
use crate::netproxy::Toxic;
use crate::scenario::KindCompiler;

/// The share of connections lost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetworkLoss {
    /// A fraction, 0..=1.
    pub rate: f64,
}

impl NetworkLoss {
    fn toxic(&self) -> Toxic {
        Toxic::Loss {
            fraction: self.rate,
        }
    }
}

impl Fault for NetworkLoss {
    const NAME: &'static str = "network-loss";
    const FIELDS: &'static [&'static str] = &["rate"];
    const LASTS: bool = true;
    const IN_NETWORK: bool = true;

    fn compile(f: &mut KindCompiler<'_, '_>) -> Option<Self> {
        let rate = f.share("rate: 30%")?;
        Some(NetworkLoss { rate })
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
