//! `--strategy swarm`: Swarm's own reconciliation heals, nobody else. A task whose node is gone
//! is rescheduled by the managers once they mark the node down; a task that exits is restarted
//! by the service's restart policy. Runbooks are not loaded into anything and no healer runs,
//! so what the prober measures is Swarm alone.

use super::Strategy;

/// Swarm itself.
#[derive(Debug)]
pub(super) struct SwarmItself;

impl Strategy for SwarmItself {
    fn name(&self) -> &'static str {
        "swarm"
    }

    fn heals_swarm(&self) -> bool {
        true
    }
}
