//! `pause`: the replica's processes frozen (`docker pause`) until the fault ends.

use std::time::Duration;

use super::Fault;
use crate::docker::TargetContainer;
use crate::faults::{FaultError, Injector};
use crate::scenario::KindCompiler;

/// A pause; no fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause;

impl Fault for Pause {
    const NAME: &'static str = "pause";
    const FIELDS: &'static [&'static str] = &[];
    const LASTS: bool = true;

    fn compile(_: &mut KindCompiler<'_, '_>) -> Option<Self> {
        Some(Pause)
    }

    async fn inject(
        &self,
        injector: &Injector,
        target: &TargetContainer,
        _window: Option<Duration>,
    ) -> Result<(), FaultError> {
        injector
            .docker
            .pause_container(&target.container)
            .await
            .map_err(FaultError::docker(target))
    }

    async fn clear(&self, injector: &Injector, target: &TargetContainer) -> Result<(), FaultError> {
        // A restart (the healer's) or a kill already ended the pause: nothing to undo.
        let state = injector
            .state(&target.container)
            .await
            .map_err(FaultError::docker(target))?;
        if state.paused != Some(true) {
            return Ok(());
        }
        injector
            .docker
            .unpause_container(&target.container)
            .await
            .map_err(FaultError::docker(target))
    }

    fn describe(&self, _window: Option<Duration>) -> String {
        "docker pause".to_owned()
    }
}
