//! `--strategy embedded` (the default): the embedded healer with the scenario's runbooks, fed by
//! its own signals and the run's alerts, given the balancer's runtime API for `drain` steps. On
//! a swarm it acts through the managers (`healer::SwarmPlatform`).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Strategy, Trial};
use crate::balancer;

/// The embedded healer with the scenario's runbooks.
#[derive(Debug)]
pub struct Embedded;

impl Strategy for Embedded {
    fn name(&self) -> &'static str {
        "embedded"
    }

    fn heals_swarm(&self) -> bool {
        true
    }

    fn heal(&self, trial: &Trial<'_>, cancel: CancellationToken) -> Option<JoinHandle<()>> {
        Some(spawn_healer(trial, cancel))
    }
}

/// Starts the embedded healer on the trial's containers with the trial's runbooks and alerts,
/// until `cancel`.
pub(super) fn spawn_healer(trial: &Trial<'_>, cancel: CancellationToken) -> JoinHandle<()> {
    let healer = healer::Healer::new(
        Arc::clone(trial.platform),
        trial.runbooks.to_vec(),
        healer::Scope {
            labels: trial
                .scope
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        },
        trial.narrator.clone(),
    );
    let healer = match trial.probe_timeout {
        Some(probe_timeout) => healer.with_sources(healer::SourceSettings {
            probe_timeout,
            ..healer::SourceSettings::default()
        }),
        None => healer,
    };
    let healer = trial
        .advisor
        .cloned()
        .into_iter()
        .fold(healer, healer::Healer::with_advisor);
    let healer = match trial.alerts {
        Some(alerts) => healer
            .with_external_signals(alerts.connect_trial())
            .with_alert_source(alerts.alert_source()),
        None => healer,
    };
    // A `drain` step takes a replica out of the balancer's rotation.
    let healer = match trial.balancer {
        Some(balancer) => healer.with_rotation(Arc::new(healer::rotation::Haproxy::new(
            SocketAddr::from((Ipv4Addr::LOCALHOST, balancer.api)),
            balancer::BACKEND,
        ))),
        None => healer,
    };
    tokio::spawn(async move {
        if let Err(e) = healer.run(cancel.cancelled_owned()).await {
            tracing::warn!("healer stopped: {e}");
        }
    })
}
