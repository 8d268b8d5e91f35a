//! `platform: swarm`: which faults and sections a swarm scenario may have.

use super::*;

const SWARM: &str =
    "platform: swarm\nnodes: 3\ntarget: { image: leaky, replicas: 3 }\nload: { duration: 10s }\n";

#[test]
fn a_swarm_runs_node_faults_the_faults_sent_to_the_target_itself_and_bad_deploys() {
    let scratch = Scratch::new();
    let text = format!(
        "{SWARM}faults:\n  - {{ kind: node-crash, at: 1s, node: 2 }}\n  - {{ kind: memory-leak, at: 2s, rate: 64MiB/s, replica: 0 }}\n  - {{ kind: hang, at: 3s }}\n  - {{ kind: bad-deploy, at: 4s, replica: 1 }}\n"
    );
    let plan = scratch.compile(&text).unwrap();
    assert_eq!(plan.swarm.map(|s| s.nodes), Some(3));
    assert_eq!(plan.faults.len(), 4);
    assert_eq!(
        plan.target.balancer,
        Balancer::None,
        "the forwarders front a swarm"
    );
}

#[test]
fn a_fault_that_needs_the_container_is_refused_on_a_swarm_with_the_kinds_that_work() {
    check(
        &format!("{SWARM}faults:\n  - {{ kind: kill, at: 1s }}\n"),
        6,
        "faults[0].kind",
        "a kill fault is not supported on `platform: swarm` yet",
    );
    let text = format!("{SWARM}faults:\n  - {{ kind: pause, at: 1s }}\n");
    let problems = Scratch::new()
        .compile(&text)
        .expect_err("pause needs the container")
        .0;
    let fix = problems[0].fix.clone().unwrap_or_default();
    assert!(
        fix.contains("node-crash") && fix.contains("memory-leak") && fix.contains("bad-deploy"),
        "the fix names what does run: {fix:?}"
    );
}

#[test]
fn node_faults_need_a_swarm_and_a_node_it_has() {
    check(
        &format!("{MINIMAL}faults:\n  - {{ kind: node-crash, at: 1s }}\n"),
        4,
        "faults[0].kind",
        "a node-crash fault hits a swarm node, and the platform is docker",
    );
    check(
        &format!("{SWARM}faults:\n  - {{ kind: node-crash, at: 1s, node: 4 }}\n"),
        6,
        "faults[0].node",
        "the swarm has 3 node(s)",
    );
}
