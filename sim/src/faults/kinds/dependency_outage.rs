//! `dependency-outage`: the scenario's dependency stopped (`docker stop`) until the fault ends,
//! then started again if still stopped. It needs a `dependency` and takes no `replica` (both
//! checked with the dependency section).

use std::time::Duration;

use bollard::query_parameters::StopContainerOptionsBuilder;

use super::Fault;
use crate::docker::TargetContainer;
use crate::faults::{FaultError, Injector};
use crate::scenario::KindCompiler;

/// A dependency outage; no fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DependencyOutage;

impl Fault for DependencyOutage {
    const NAME: &'static str = "dependency-outage";
    const FIELDS: &'static [&'static str] = &[];
    const LASTS: bool = true;
    const HITS_DEPENDENCY: bool = true;

    fn compile(_: &mut KindCompiler<'_, '_>) -> Option<Self> {
        Some(DependencyOutage)
    }

    async fn inject(
        &self,
        injector: &Injector,
        target: &TargetContainer,
        _window: Option<Duration>,
    ) -> Result<(), FaultError> {
        let options = StopContainerOptionsBuilder::new().t(1).build();
        injector
            .docker
            .stop_container(&target.container, Some(options))
            .await
            .map_err(FaultError::docker(target))
    }

    async fn clear(&self, injector: &Injector, target: &TargetContainer) -> Result<(), FaultError> {
        // The healer may have started it again already: nothing to undo then.
        let state = injector
            .state(&target.container)
            .await
            .map_err(FaultError::docker(target))?;
        if state.running == Some(true) {
            return Ok(());
        }
        injector
            .docker
            .start_container(&target.container, None)
            .await
            .map_err(FaultError::docker(target))
    }

    fn describe(&self, _window: Option<Duration>) -> String {
        "docker stop of the dependency".to_owned()
    }
}
