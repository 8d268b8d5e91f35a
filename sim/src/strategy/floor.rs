//! `--strategy floor`: the physical floor of a restart-based heal, the Docker API `start` called
//! on a trial's container the moment its `die` event arrives (`docker::floor`). No runbook, no
//! verification; it heals nothing that does not exit.

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Strategy, Trial};
use crate::docker;

/// The floor: a bare `start` on every `die`.
#[derive(Debug)]
pub(super) struct Floor;

impl Strategy for Floor {
    fn name(&self) -> &'static str {
        "floor"
    }

    /// Watches the trial's containers: its replicas and its dependency.
    fn heal(&self, trial: &Trial<'_>, cancel: CancellationToken) -> Option<JoinHandle<()>> {
        Some(tokio::spawn(docker::floor(
            trial.docker.clone(),
            trial.label_filters(),
            trial.narrator.clone(),
            cancel,
        )))
    }
}
