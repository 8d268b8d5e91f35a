//! `node-partition`: one node of a `platform: swarm` cluster is cut off from every other node
//! and from this host (its link to the cluster's bridge set down), for the fault's `duration`
//! or to the end of the trial; its daemons and task containers go on running, unreachable.
//!
//! A cluster fault like [`NodeCrash`](super::NodeCrash): the runner's schedule hands it to the
//! trial's cluster, which mends the link when the window ends (or the trial does); through the
//! [`Injector`], with only a container at hand, it refuses.

use std::time::Duration;

use super::node_crash::compile_node;
use super::Fault;
use crate::docker::TargetContainer;
use crate::faults::{FaultError, Injector};
use crate::scenario::KindCompiler;

/// A node partition: which node (from 1); `None`, the last one (as for a crash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodePartition {
    pub node: Option<u32>,
}

impl Fault for NodePartition {
    const NAME: &'static str = "node-partition";
    const FIELDS: &'static [&'static str] = &["node"];
    const LASTS: bool = true;

    fn compile(f: &mut KindCompiler<'_, '_>) -> Option<Self> {
        Some(NodePartition {
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
            detail: "node-partition cuts a swarm node off, not a container".to_owned(),
        })
    }

    fn describe(&self, _window: Option<Duration>) -> String {
        "the node's link to the cluster's bridge set down".to_owned()
    }
}
