//! `monitoring-outage`: the run's Prometheus or Alertmanager (`component`) stopped (`docker
//! stop`) until the fault ends, then started again if still stopped: meanwhile no alert can
//! reach the healer. It needs the scenario's `monitoring` (checked with the monitoring section).
//! The container is the run's, not a replica's: the fault finds the one of the replica's run by
//! its labels, so a fault that hits several replicas stops it once.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::ContainerSummaryStateEnum;
use bollard::query_parameters::{ListContainersOptionsBuilder, StopContainerOptionsBuilder};
use specfile::did_you_mean;

use super::Fault;
use crate::docker::{TargetContainer, LABEL_RUN, LABEL_TARGET};
use crate::faults::{FaultError, Injector};
use crate::monitoring::{ALERTMANAGER_ROLE, PROMETHEUS_ROLE};
use crate::scenario::KindCompiler;

/// Which part of the monitoring stack stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Prometheus,
    Alertmanager,
}

impl Component {
    const NAMES: &[&str] = &[PROMETHEUS_ROLE, ALERTMANAGER_ROLE];

    /// Its name in scenario files, which is also its service name in the run.
    pub fn name(self) -> &'static str {
        match self {
            Component::Prometheus => PROMETHEUS_ROLE,
            Component::Alertmanager => ALERTMANAGER_ROLE,
        }
    }
}

/// A monitoring outage: which component stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitoringOutage {
    pub component: Component,
}

impl Fault for MonitoringOutage {
    const NAME: &'static str = "monitoring-outage";
    const FIELDS: &'static [&'static str] = &["component"];
    const LASTS: bool = true;

    fn compile(f: &mut KindCompiler<'_, '_>) -> Option<Self> {
        let Some(component) = &f.spec.component else {
            f.push(
                "component",
                "is required",
                Some("add `component: alertmanager` (or `prometheus`)".into()),
            );
            return None;
        };
        let component = match component.as_str() {
            PROMETHEUS_ROLE => Component::Prometheus,
            ALERTMANAGER_ROLE => Component::Alertmanager,
            other => {
                f.push(
                    "component",
                    format!(
                        "unknown component `{other}`, expected one of: {}",
                        Component::NAMES.join(", ")
                    ),
                    did_you_mean(other, Component::NAMES),
                );
                return None;
            }
        };
        Some(MonitoringOutage { component })
    }

    async fn inject(
        &self,
        injector: &Injector,
        target: &TargetContainer,
        _window: Option<Duration>,
    ) -> Result<(), FaultError> {
        let (id, running) = self.container(injector, target).await?;
        if !running {
            // Stopped already, by this fault on another replica.
            return Ok(());
        }
        let options = StopContainerOptionsBuilder::new().t(1).build();
        injector
            .docker
            .stop_container(&id, Some(options))
            .await
            .map_err(FaultError::docker(target))
    }

    async fn clear(&self, injector: &Injector, target: &TargetContainer) -> Result<(), FaultError> {
        let (id, running) = self.container(injector, target).await?;
        if running {
            return Ok(());
        }
        injector
            .docker
            .start_container(&id, None)
            .await
            .map_err(FaultError::docker(target))
    }

    fn describe(&self, _window: Option<Duration>) -> String {
        format!("docker stop of the run's {}", self.component.name())
    }
}

impl MonitoringOutage {
    /// The id of the component's container in the run of `target`, and whether it runs.
    async fn container(
        &self,
        injector: &Injector,
        target: &TargetContainer,
    ) -> Result<(String, bool), FaultError> {
        let inspected = injector
            .docker
            .inspect_container(&target.container, None)
            .await
            .map_err(FaultError::docker(target))?;
        let run = inspected
            .config
            .and_then(|config| config.labels)
            .and_then(|labels| labels.get(LABEL_RUN).cloned())
            .unwrap_or_default();
        let filters = HashMap::from([(
            "label",
            vec![
                format!("{LABEL_RUN}={run}"),
                format!("{LABEL_TARGET}={}", self.component.name()),
            ],
        )]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let found = injector
            .docker
            .list_containers(Some(options))
            .await
            .map_err(FaultError::docker(target))?;
        let missing = || FaultError::NoMonitoring {
            target: target.name.clone(),
            component: self.component.name(),
        };
        let container = found.into_iter().next().ok_or_else(missing)?;
        let id = container.id.ok_or_else(missing)?;
        let running = container.state == Some(ContainerSummaryStateEnum::RUNNING);
        Ok((id, running))
    }
}
