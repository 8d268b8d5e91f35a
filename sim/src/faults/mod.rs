//! Injecting a scenario's faults into target replicas, and removing them again.
//!
//! Faults inside the built-in target go through its chaos endpoints; `kill`, `pause` and
//! `resource-squeeze` go through Docker; `crash-loop` writes a marker file through Docker that
//! makes the built-in target refuse to start, then crashes it; `bad-deploy` replaces the replica
//! with a container of the built-in target's failing next version; `network-latency` and
//! `network-errors` set a toxic on the replica's proxy (see [`crate::netproxy`]). Every fault that can outlive its window is cleared when
//! the window ends or the trial ends; all but the network faults live inside the trial's
//! containers, so removing those removes whatever a failed clear left (a toxic lives in the
//! run's proxy, removed with the run).

mod chaos;
mod crash_loop;
mod deploy;
mod limits;
mod network;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::query_parameters::{KillContainerOptionsBuilder, StopContainerOptionsBuilder};
use bollard::Docker;

use crate::docker::TargetContainer;
use crate::netproxy::NetProxies;
use crate::scenario::{FaultKind, FaultPlan};
use chaos::{chaos_query, clear_query};
pub use crash_loop::MARKER_PATH as CRASH_LOOP_MARKER;
pub use deploy::prepare as prepare_deploys;
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
    #[error("{target}: the deploy failed: {source}")]
    Deploy {
        target: String,
        source: deploy::DeployError,
    },
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
        let docker_error = |source| FaultError::Docker {
            target: target.name.clone(),
            source,
        };
        match &fault.kind {
            FaultKind::Kill => {
                let options = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
                self.docker
                    .kill_container(&target.container, Some(options))
                    .await
                    .map_err(docker_error)
            }
            FaultKind::Pause => self
                .docker
                .pause_container(&target.container)
                .await
                .map_err(docker_error),
            FaultKind::ResourceSqueeze {
                memory_bytes,
                nano_cpus,
            } => {
                let current = Limits::inspect(&self.docker, &target.container)
                    .await
                    .map_err(docker_error)?;
                // Overlapping squeezes keep the limits from before the first one.
                self.originals_mut()
                    .entry(target.container.clone())
                    .or_insert(current);
                let squeezed = current.squeezed(*memory_bytes, *nano_cpus);
                squeezed
                    .apply(&self.docker, &target.container)
                    .await
                    .map_err(docker_error)
            }
            FaultKind::DependencyOutage => {
                let options = StopContainerOptionsBuilder::new().t(1).build();
                self.docker
                    .stop_container(&target.container, Some(options))
                    .await
                    .map_err(docker_error)
            }
            FaultKind::BadDeploy => deploy::deploy(&self.docker, target)
                .await
                .map_err(|source| FaultError::Deploy {
                    target: target.name.clone(),
                    source,
                }),
            FaultKind::CrashLoop => {
                crash_loop::set_marker(&self.docker, &target.container, true)
                    .await
                    .map_err(docker_error)?;
                let crash = FaultKind::Crash { exit_code: 1 };
                self.post(target, &chaos_query(&crash, None)).await
            }
            kind @ (FaultKind::NetworkLatency { .. } | FaultKind::NetworkErrors { .. }) => {
                self.toxic(target, kind, true).await
            }
            kind => self.post(target, &chaos_query(kind, fault.duration)).await,
        }
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
        let docker_error = |source| FaultError::Docker {
            target: target.name.clone(),
            source,
        };
        match fault {
            FaultKind::Pause => {
                // A restart (the healer's) or a kill already ended the pause: nothing to undo.
                let state = self.state(&target.container).await.map_err(docker_error)?;
                if state.paused != Some(true) {
                    return Ok(());
                }
                self.docker
                    .unpause_container(&target.container)
                    .await
                    .map_err(docker_error)
            }
            FaultKind::ResourceSqueeze { .. } => {
                let original = self.originals_mut().remove(&target.container);
                match original {
                    Some(original) => original
                        .apply(&self.docker, &target.container)
                        .await
                        .map_err(docker_error),
                    None => Ok(()),
                }
            }
            FaultKind::DependencyOutage => {
                // The healer may have started it again already: nothing to undo then.
                let state = self.state(&target.container).await.map_err(docker_error)?;
                if state.running == Some(true) {
                    return Ok(());
                }
                self.docker
                    .start_container(&target.container, None)
                    .await
                    .map_err(docker_error)
            }
            FaultKind::CrashLoop => crash_loop::set_marker(&self.docker, &target.container, false)
                .await
                .map_err(docker_error),
            kind @ (FaultKind::NetworkLatency { .. } | FaultKind::NetworkErrors { .. }) => {
                self.toxic(target, kind, false).await
            }
            kind => match clear_query(kind) {
                Some(query) => self.post(target, query).await,
                None => Ok(()),
            },
        }
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

    /// Sets (`on`) or clears the toxic of network fault `kind` on `target`'s proxy.
    /// Clears every toxic on the network proxy in front of `target`, if it has one.
    pub async fn reset_network(&self, target: &TargetContainer) -> Result<(), FaultError> {
        match self.net_proxies.control_url(&target.name) {
            Some(url) => self.send(target, reqwest::Method::DELETE, url).await,
            None => Ok(()),
        }
    }

    async fn toxic(
        &self,
        target: &TargetContainer,
        kind: &FaultKind,
        on: bool,
    ) -> Result<(), FaultError> {
        let (Some(toxic), Some(url)) = (
            network::toxic(kind),
            self.net_proxies.control_url(&target.name),
        ) else {
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
    match &fault.kind {
        FaultKind::Kill => "SIGKILL".to_owned(),
        FaultKind::Pause => "docker pause".to_owned(),
        FaultKind::CrashLoop => format!("marker {} + crash?code=1", crash_loop::MARKER_PATH),
        FaultKind::BadDeploy => deploy::DESCRIPTION.to_owned(),
        FaultKind::DependencyOutage => "docker stop of the dependency".to_owned(),
        FaultKind::ResourceSqueeze {
            memory_bytes,
            nano_cpus,
        } => limits::describe(*memory_bytes, *nano_cpus),
        kind => match network::toxic(kind) {
            Some(toxic) => network::describe(&toxic),
            None => chaos_query(kind, fault.duration),
        },
    }
}
