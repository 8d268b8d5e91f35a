//! `network-errors`: this share (`rate`, above 0%) of new connections from the balancer to the
//! replica reset by the proxy in the path. Needs a balancer.

use std::time::Duration;

use super::Fault;
use crate::docker::TargetContainer;
use crate::faults::{network, FaultError, Injector};
use crate::netproxy::Toxic;
use crate::scenario::KindCompiler;

/// The share of connections reset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetworkErrors {
    /// A fraction, 0..=1.
    pub rate: f64,
}

impl NetworkErrors {
    fn toxic(&self) -> Toxic {
        Toxic::Reset {
            fraction: self.rate,
        }
    }
}

impl Fault for NetworkErrors {
    const NAME: &'static str = "network-errors";
    const FIELDS: &'static [&'static str] = &["rate"];
    const LASTS: bool = true;
    const IN_NETWORK: bool = true;

    fn compile(f: &mut KindCompiler<'_, '_>) -> Option<Self> {
        let rate = f.share("rate: 50%")?;
        Some(NetworkErrors { rate })
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
