//! `--strategy docker-restart`: Docker's restart policy `on-failure` on every target, and no task
//! of ours; it restarts on a non-zero exit, never on "unhealthy".

use super::Strategy;
use crate::docker::{TargetRestart, TargetSpec};

/// Docker's restart policy `on-failure`.
#[derive(Debug)]
pub(super) struct DockerRestart;

impl Strategy for DockerRestart {
    fn name(&self) -> &'static str {
        "docker-restart"
    }

    fn shape_target(&self, spec: &mut TargetSpec) {
        spec.restart = TargetRestart::OnFailure;
    }
}
