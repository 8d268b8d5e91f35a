//! `kill`: the replica sent SIGKILL through Docker, at once.

use std::time::Duration;

use bollard::query_parameters::KillContainerOptionsBuilder;

use super::Fault;
use crate::docker::TargetContainer;
use crate::faults::{FaultError, Injector};
use crate::scenario::KindCompiler;

/// A kill; no fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kill;

impl Fault for Kill {
    const NAME: &'static str = "kill";
    const FIELDS: &'static [&'static str] = &[];
    const LASTS: bool = false;

    fn compile(_: &mut KindCompiler<'_, '_>) -> Option<Self> {
        Some(Kill)
    }

    async fn inject(
        &self,
        injector: &Injector,
        target: &TargetContainer,
        _window: Option<Duration>,
    ) -> Result<(), FaultError> {
        let options = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
        injector
            .docker
            .kill_container(&target.container, Some(options))
            .await
            .map_err(FaultError::docker(target))
    }

    fn describe(&self, _window: Option<Duration>) -> String {
        "SIGKILL".to_owned()
    }
}
