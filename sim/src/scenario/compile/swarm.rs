//! `platform:` and `nodes:` — where the target runs: containers on this host's engine
//! (`docker`, the default) or a replicated service on a Swarm of `nodes` dockerd processes
//! that sim forms on this machine (`swarm`, see [`crate::swarm`]).
//!
//! On a swarm run the node faults (`node-crash` only runs there), the faults sent to the
//! built-in target's chaos endpoints ([`THROUGH_THE_TARGET`]), which reach a task through its
//! slot's forwarder, and `bad-deploy`, a rolling update of a slot's service through the
//! managers ([`THROUGH_THE_MANAGERS`]); the faults that need the container from this host's
//! engine (kill, pause, limits, the network proxies) do not. A swarm target has no compose project, dependency,
//! monitoring or HAProxy (the service's tasks are reached through `crate::swarm::Front`).

use specfile::did_you_mean;

use super::super::plan::{Balancer, FaultKind, FaultPlan, SwarmPlan, TargetPlan};
use super::super::spec::ScenarioSpec;
use super::Compiler;

const PLATFORMS: &[&str] = &["docker", "swarm"];
/// The fault kinds the built-in target injects into itself when asked over HTTP (its `/chaos`
/// endpoints): on a swarm, sent to a task through its slot's forwarder.
const THROUGH_THE_TARGET: &[&str] = &[
    "memory-leak",
    "cpu-burn",
    "latency",
    "hang",
    "crash",
    "log-error",
];
/// The fault kinds a swarm run injects through the managers: `bad-deploy` is a rolling update
/// of one slot's service.
const THROUGH_THE_MANAGERS: &[&str] = &["bad-deploy"];
const DEFAULT_NODES: usize = 3;

impl Compiler<'_> {
    /// The swarm the scenario runs on, if `platform: swarm`; reads `platform` and `nodes`.
    pub(super) fn platform(&mut self, spec: &ScenarioSpec) -> Option<SwarmPlan> {
        let platform = spec.platform.as_deref().unwrap_or("docker");
        if !PLATFORMS.contains(&platform) {
            self.p.push(
                "platform",
                format!(
                    "unknown platform `{platform}`, expected one of: {}",
                    PLATFORMS.join(", ")
                ),
                did_you_mean(platform, PLATFORMS),
            );
            return None;
        }
        if platform != "swarm" {
            if spec.nodes.is_some() {
                self.p.push(
                    "nodes",
                    "`nodes` is the size of a swarm, and the platform is docker",
                    Some("add `platform: swarm`, or remove `nodes`".into()),
                );
            }
            return None;
        }
        let nodes = self.int("nodes", spec.nodes, DEFAULT_NODES, 1..=9)?;
        let present = [
            ("dependency", spec.dependency.is_some()),
            ("monitoring", spec.monitoring.is_some()),
            (
                "target.compose",
                spec.target.as_ref().is_some_and(|t| t.compose.is_some()),
            ),
            (
                "target.balancer",
                spec.target.as_ref().is_some_and(|t| t.balancer.is_some()),
            ),
        ];
        for (field, _) in present.iter().filter(|(_, set)| *set) {
            self.p.push(
                field,
                format!("`{field}` is not supported on `platform: swarm` yet"),
                Some(format!("remove `{field}`")),
            );
        }
        Some(SwarmPlan { nodes })
    }

    /// Checks the faults against the platform, and shapes the target for a swarm.
    pub(super) fn swarm_faults(
        &mut self,
        swarm: Option<&SwarmPlan>,
        faults: &[FaultPlan],
        target: &mut TargetPlan,
    ) {
        for (i, fault) in faults.iter().enumerate() {
            let node = match &fault.kind {
                FaultKind::NodeCrash(crash) => Some(crash.node),
                FaultKind::NodePartition(partition) => Some(partition.node),
                _ => None,
            };
            match (swarm, node) {
                (None, Some(_)) => self.p.push(
                    &format!("faults[{i}].kind"),
                    format!(
                        "a {} fault hits a swarm node, and the platform is docker",
                        fault.kind.name()
                    ),
                    Some("add `platform: swarm` and `nodes: 3`".into()),
                ),
                (Some(_), None)
                    if !THROUGH_THE_TARGET.contains(&fault.kind.name())
                        && !THROUGH_THE_MANAGERS.contains(&fault.kind.name()) =>
                {
                    self.p.push(
                        &format!("faults[{i}].kind"),
                        format!(
                            "a {} fault is not supported on `platform: swarm` yet",
                            fault.kind.name()
                        ),
                        Some(format!(
                            "use `kind: node-crash`, `node-partition`, or one of: {}, {}",
                            THROUGH_THE_TARGET.join(", "),
                            THROUGH_THE_MANAGERS.join(", ")
                        )),
                    );
                }
                (Some(swarm), Some(node)) => {
                    if node.is_some_and(|n| n as usize > swarm.nodes) {
                        self.p.push(
                            &format!("faults[{i}].node"),
                            format!("the swarm has {} node(s), numbered from 1", swarm.nodes),
                            Some(format!("use a node from 1 to {}", swarm.nodes)),
                        );
                    }
                    if fault.replica.is_some() {
                        self.p.push(
                            &format!("faults[{i}].replica"),
                            format!(
                                "a {} fault hits a node, whichever tasks it runs",
                                fault.kind.name()
                            ),
                            Some("remove `replica`, and say `node`".into()),
                        );
                    }
                }
                (None, None) | (Some(_), None) => {}
            }
        }
        if swarm.is_some() {
            target.balancer = Balancer::None;
        }
    }
}
