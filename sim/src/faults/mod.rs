//! Injecting a scenario's faults into target replicas, and removing them again. Each kind of
//! fault is a module of [`kinds`], listed in its registry; this module holds what they share:
//! the [`Injector`] (Docker, an HTTP client, the network proxies, the limits to restore).
//!
//! Faults inside the built-in target go through its chaos endpoints; `kill`, `pause` and
//! `resource-squeeze` go through Docker; `crash-loop` writes a marker file through Docker that
//! makes the built-in target refuse to start, then crashes it; `bad-deploy` replaces the replica
//! with a container of the built-in target's failing next version; `dependency-outage` and
//! `monitoring-outage` stop the scenario's dependency or the run's Prometheus or Alertmanager;
//! `network-latency`, `network-errors` and `network-loss` set a toxic on the replica's proxy
//! (see [`crate::netproxy`]). Every fault that can outlive its window is cleared when the window
//! ends or the trial ends; most live inside the trial's containers, so removing those removes
//! whatever a failed clear left (a toxic lives in the run's proxy, a monitoring outage in the
//! run's monitoring container: both are removed with the run).

mod chaos;
pub mod kinds;
mod limits;
mod network;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::Docker;

use crate::docker::TargetContainer;
use crate::netproxy::NetProxies;
use crate::scenario::FaultPlan;
pub use kinds::prepare as prepare_deploys;
use kinds::FaultKind;
pub use kinds::MARKER_PATH as CRASH_LOOP_MARKER;
use limits::Limits;

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
    #[error("{target}: a network fault needs the replica's proxy, and it has none")]
    NoProxy { target: String },
    #[error("{target}: {detail}")]
    Cluster { target: String, detail: String },
    #[error(
        "{target}: the run has no {component} container to stop: its monitoring stack is not \
         running (the scenario needs `monitoring: {{ prometheus: required }}`)"
    )]
    NoMonitoring {
        target: String,
        component: &'static str,
    },
    #[error("{target}: the deploy failed: {source}")]
    Deploy {
        target: String,
        source: kinds::DeployError,
    },
}

impl FaultError {
    /// Makes Docker's refusal of a fault on `target` a [`FaultError::Docker`].
    fn docker(target: &TargetContainer) -> impl FnOnce(bollard::errors::Error) -> Self + '_ {
        |source| FaultError::Docker {
            target: target.name.clone(),
            source,
        }
    }
}

/// Talks to targets to inject faults, and remembers what it must put back.
#[derive(Debug, Clone)]
pub struct Injector {
    http: reqwest::Client,
    docker: Docker,
    /// The limits each squeezed container had before its first squeeze, by container name.
    originals: Arc<Mutex<HashMap<String, Limits>>>,
    /// The proxies network faults are set on (none unless the scenario has network faults).
    net_proxies: NetProxies,
}

impl Injector {
    pub fn new(docker: Docker) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap_or_default();
        Injector {
            http,
            docker,
            originals: Arc::default(),
            net_proxies: NetProxies::default(),
        }
    }

    /// The same injector, setting network faults on `proxies`.
    pub fn with_net_proxies(self, proxies: NetProxies) -> Self {
        Injector {
            net_proxies: proxies,
            ..self
        }
    }

    /// Injects `fault` into `target`.
    pub async fn inject(
        &self,
        fault: &FaultPlan,
        target: &TargetContainer,
    ) -> Result<(), FaultError> {
        fault.kind.inject(self, target, fault.duration).await
    }

    /// Removes a fault whose window ended: resumes a paused replica, restores squeezed limits,
    /// turns off a leak or latency. Faults that end by themselves (a kill, a crash, a CPU burn
    /// with its own duration, a one-off leak) need nothing; a hang cannot be undone without a
    /// restart.
    pub async fn clear(
        &self,
        fault: &FaultKind,
        target: &TargetContainer,
    ) -> Result<(), FaultError> {
        fault.clear(self, target).await
    }

    async fn state(
        &self,
        id: &str,
    ) -> Result<bollard::models::ContainerState, bollard::errors::Error> {
        let inspect = self.docker.inspect_container(id, None).await?;
        Ok(inspect.state.unwrap_or_default())
    }

    fn originals_mut(&self) -> std::sync::MutexGuard<'_, HashMap<String, Limits>> {
        // The map holds plain values: a panic elsewhere cannot leave it half-written.
        self.originals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn post(&self, target: &TargetContainer, query: &str) -> Result<(), FaultError> {
        let url = format!("http://127.0.0.1:{}/chaos/{query}", target.host_port);
        self.send(target, reqwest::Method::POST, url).await
    }

    /// Clears every toxic on the network proxy in front of `target`, if it has one.
    pub async fn reset_network(&self, target: &TargetContainer) -> Result<(), FaultError> {
        match self.net_proxies.control_url(&target.name) {
            Some(url) => self.send(target, reqwest::Method::DELETE, url).await,
            None => Ok(()),
        }
    }

    /// Sends a request that must succeed (2xx) to `url`, on behalf of `target`.
    async fn send(
        &self,
        target: &TargetContainer,
        method: reqwest::Method,
        url: String,
    ) -> Result<(), FaultError> {
        let error = |detail: String| FaultError::Http {
            target: target.name.clone(),
            url: url.clone(),
            detail,
        };
        let response = self
            .http
            .request(method, &url)
            .send()
            .await
            .map_err(|e| error(e.to_string()))?;
        if !response.status().is_success() {
            return Err(error(format!("status {}", response.status())));
        }
        Ok(())
    }
}

/// How the journal describes `fault`'s injection: the chaos request, the signal sent, or the
/// Docker change made.
pub fn describe(fault: &FaultPlan) -> String {
    fault.kind.describe(fault.duration)
}
