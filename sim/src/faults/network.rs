//! Network faults: toxics set on the proxy between the balancer and a replica (see
//! [`crate::netproxy`]) through its control API, and cleared there again.

use super::{FaultError, Injector};
use crate::docker::TargetContainer;
use crate::netproxy::Toxic;

impl Injector {
    /// Sets (`on`) or clears `toxic` on `target`'s proxy.
    pub(super) async fn toxic(
        &self,
        target: &TargetContainer,
        toxic: &Toxic,
        on: bool,
    ) -> Result<(), FaultError> {
        let Some(url) = self.net_proxies.control_url(&target.name) else {
            return Err(FaultError::NoProxy {
                target: target.name.clone(),
            });
        };
        let (method, query) = if on {
            (reqwest::Method::POST, toxic.set_query())
        } else {
            (reqwest::Method::DELETE, toxic.clear_query())
        };
        self.send(target, method, format!("{url}?{query}")).await
    }
}

/// How the journal describes setting `toxic`.
pub(super) fn describe(toxic: &Toxic) -> String {
    format!("netproxy POST /toxics?{}", toxic.set_query())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::faults::kinds::{FaultKind, Latency, NetworkErrors, NetworkLatency};

    #[test]
    fn network_faults_become_toxics_and_others_do_not() {
        let latency = FaultKind::NetworkLatency(NetworkLatency {
            fixed: Duration::from_millis(400),
            jitter: Duration::from_millis(100),
        });
        assert!(latency.is_network());
        assert_eq!(
            latency.describe(None),
            "netproxy POST /toxics?latency_ms=400&jitter_ms=100"
        );
        let errors = FaultKind::NetworkErrors(NetworkErrors { rate: 0.5 });
        assert!(errors.is_network());
        assert_eq!(errors.describe(None), "netproxy POST /toxics?reset=0.5");
        let in_target = FaultKind::Latency(Latency {
            fixed: Duration::from_millis(400),
            jitter: Duration::ZERO,
        });
        assert!(!in_target.is_network());
    }
}
