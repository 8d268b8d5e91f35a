//! Swarm mode across the nodes: `swarm init` on the first, the others joined as managers one at
//! a time (Raft adds one member at a time), then a wait until every node is Ready and every
//! manager reachable.
//!
//! Nothing leaves the swarm at teardown: killing each node's PID namespace ends the swarm with
//! its daemons. A forced `swarm leave` of every manager cost 1.5 s and, once in four tries here,
//! hung until a 5 s timeout (the managers that stay lose their quorum), for nothing the kill
//! does not do.

use bollard::models::{NodeState, Reachability, SwarmInitRequest, SwarmJoinRequest};
use bollard::Docker;
use tokio::time::{sleep, Duration, Instant};

use super::state::NodeRecord;
use super::SwarmError;

/// How long the nodes get to be Ready after the last join.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Forms the swarm: every node a manager.
pub(super) async fn form(nodes: &[(NodeRecord, Docker)]) -> Result<(), SwarmError> {
    let Some(((first, leader), others)) = nodes.split_first() else {
        return Ok(());
    };
    let failed = |node: &NodeRecord, step: &'static str| {
        let node = node.name.clone();
        move |source| SwarmError::Docker { node, step, source }
    };
    let started = Instant::now();
    let init = SwarmInitRequest {
        listen_addr: Some(format!("{}:2377", first.address)),
        advertise_addr: Some(first.address.clone()),
        ..SwarmInitRequest::default()
    };
    leader
        .init_swarm(init)
        .await
        .map_err(failed(first, "swarm init"))?;
    tracing::info!(node = %first.name, elapsed_ms = ms(started), "swarm initialised");
    let swarm = leader
        .inspect_swarm()
        .await
        .map_err(failed(first, "swarm inspect"))?;
    let token = swarm.join_tokens.and_then(|tokens| tokens.manager);
    for (node, docker) in others {
        let joined = Instant::now();
        let join = SwarmJoinRequest {
            listen_addr: Some(format!("{}:2377", node.address)),
            advertise_addr: Some(node.address.clone()),
            remote_addrs: Some(vec![format!("{}:2377", first.address)]),
            join_token: token.clone(),
            ..SwarmJoinRequest::default()
        };
        docker
            .join_swarm(join)
            .await
            .map_err(failed(node, "swarm join"))?;
        tracing::info!(node = %node.name, elapsed_ms = ms(joined), "joined as a manager");
    }
    wait_ready(first, leader, nodes.len()).await?;
    tracing::info!(nodes = nodes.len(), elapsed_ms = ms(started), "swarm ready");
    Ok(())
}

/// Waits until the leader lists `count` nodes, each Ready and a reachable manager.
pub(super) async fn wait_ready(
    first: &NodeRecord,
    leader: &Docker,
    count: usize,
) -> Result<(), SwarmError> {
    let started = Instant::now();
    loop {
        let nodes = leader
            .list_nodes(None)
            .await
            .map_err(|source| SwarmError::Docker {
                node: first.name.clone(),
                step: "node ls",
                source,
            })?;
        let ready = nodes
            .iter()
            .filter(|node| {
                let state = node.status.as_ref().and_then(|s| s.state);
                let reachability = node.manager_status.as_ref().and_then(|m| m.reachability);
                state == Some(NodeState::READY) && reachability == Some(Reachability::REACHABLE)
            })
            .count();
        if ready == count {
            return Ok(());
        }
        if started.elapsed() > READY_TIMEOUT {
            return Err(SwarmError::Timeout {
                what: format!("{count} Ready managers ({ready} of {} nodes)", nodes.len()),
                after: READY_TIMEOUT,
            });
        }
        sleep(Duration::from_millis(100)).await;
    }
}

pub(super) fn ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}
