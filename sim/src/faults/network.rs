//! Network faults: toxics set on the proxy between the balancer and a replica (see
//! [`crate::netproxy`]) through its control API, and cleared there again.

use crate::netproxy::Toxic;
use crate::scenario::FaultKind;

/// The toxic a network fault sets, or `None` for a fault that is not in the network path.
pub(super) fn toxic(kind: &FaultKind) -> Option<Toxic> {
    match *kind {
        FaultKind::NetworkLatency { fixed, jitter } => Some(Toxic::Latency { fixed, jitter }),
        FaultKind::NetworkErrors { rate } => Some(Toxic::Reset { fraction: rate }),
        _ => None,
    }
}

/// How the journal describes setting `toxic`.
pub(super) fn describe(toxic: &Toxic) -> String {
    format!("netproxy POST /toxics?{}", toxic.set_query())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn network_faults_become_toxics_and_others_do_not() {
        let latency = FaultKind::NetworkLatency {
            fixed: Duration::from_millis(400),
            jitter: Duration::from_millis(100),
        };
        let toxic = toxic(&latency).unwrap();
        assert_eq!(
            describe(&toxic),
            "netproxy POST /toxics?latency_ms=400&jitter_ms=100"
        );
        let errors = super::toxic(&FaultKind::NetworkErrors { rate: 0.5 }).unwrap();
        assert_eq!(describe(&errors), "netproxy POST /toxics?reset=0.5");
        let in_target = FaultKind::Latency {
            fixed: Duration::from_millis(400),
            jitter: Duration::ZERO,
        };
        assert_eq!(super::toxic(&in_target), None);
    }
}
