//! `node-crash`: one node of a `platform: swarm` cluster crashes, its whole PID namespace
//! killed (`docker-init`, and with it dockerd, containerd, the shims and its task containers).
//!
//! A cluster fault: it hits a node, not a replica's container, so the runner's schedule hands
//! it to the trial's cluster (see `runner::swarm`) rather than to the [`Injector`]; through the
//! injector, with only a container at hand, it refuses. The compile step allows it only on a
//! swarm, and no other kind there. The node stays down for the rest of the trial and is
//! started again before the next one.

use std::time::Duration;

use super::Fault;
use crate::docker::TargetContainer;
use crate::faults::{FaultError, Injector};
use crate::scenario::KindCompiler;

/// A node crash: which node (from 1); `None`, the last one (never the first, the swarm's
/// initial leader, so the figures are of a reschedule, not of a leader election too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeCrash {
    pub node: Option<u32>,
}

/// The node index (from 0) that `node` (from 1; `None`: the last) names in a cluster of
/// `nodes`.
pub fn node_index(node: Option<u32>, nodes: usize) -> usize {
    node.map_or(nodes.saturating_sub(1), |n| n as usize - 1)
}

/// A node fault's `node:` field.
pub(super) fn compile_node(f: &mut KindCompiler<'_, '_>) -> Option<Option<u32>> {
    match f.spec.node {
        None => Some(None),
        Some(node) => Some(Some(f.int("node", Some(node), 1, 1..=250)?)),
    }
}

impl Fault for NodeCrash {
    const NAME: &'static str = "node-crash";
    const FIELDS: &'static [&'static str] = &["node"];
    const LASTS: bool = false;

    fn compile(f: &mut KindCompiler<'_, '_>) -> Option<Self> {
        Some(NodeCrash {
            node: compile_node(f)?,
        })
    }

    async fn inject(
        &self,
        _injector: &Injector,
        target: &TargetContainer,
        _window: Option<Duration>,
    ) -> Result<(), FaultError> {
        Err(FaultError::Cluster {
            target: target.name.clone(),
            detail: "node-crash hits a swarm node, not a container".to_owned(),
        })
    }

    fn describe(&self, _window: Option<Duration>) -> String {
        "SIGKILL to the node's PID 1 (docker-init)".to_owned()
    }
}
