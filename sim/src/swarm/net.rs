//! The cluster's network: a hub network namespace with a bridge, and per node a network namespace
//! joined to the bridge by a veth pair, with its own address on a private /24.
//!
//! A bridge in the host's own namespace would not do: bridged packets cross the host's FORWARD
//! chain, whose policy drops them. Inside the hub nothing else is attached but one veth to the
//! host's namespace: its host end (`simsw<third>`, address `.254` of the subnet) is a routed
//! interface, not a bridge port, so the host reaches the nodes through its OUTPUT and INPUT
//! chains and the FORWARD chain never sees that traffic; nothing routes on from there (the nodes
//! have no default route). Every other link is made inside the cluster's namespaces, and the
//! host end goes with its peer when the hub is deleted, so deleting the namespaces removes every
//! link. Everything goes through `ip`.

use std::path::Path;

use super::state::ClusterState;
use super::SwarmError;

/// The nodes' subnets are `10.213.<third>.0/24`; `third` is picked among these.
const SUBNETS: std::ops::RangeInclusive<u8> = 1..=254;

/// The bridge inside the hub namespace.
const BRIDGE: &str = "br0";

/// The first `10.213.<n>.0/24` that overlaps no address or route of the host and no other
/// cluster recorded under `base`. The nodes cannot reach the host, so an overlap would only
/// confuse a reader; two clusters racing for the same subnet are harmless for the same reason.
pub(super) async fn free_subnet(base: &Path) -> Result<u8, SwarmError> {
    let mut taken: Vec<(u32, u8)> = vec![];
    let listings: [&[&str]; 2] = [
        &["-4", "-o", "addr", "show"],
        &["-4", "route", "show", "table", "all"],
    ];
    for args in listings {
        let out = ip_output(args).await?;
        taken.extend(out.split_whitespace().filter_map(parse_cidr));
    }
    let (clusters, _) = ClusterState::all(base);
    taken.extend(clusters.iter().filter_map(|c| parse_cidr(&c.subnet)));
    SUBNETS
        .into_iter()
        .find(|third| {
            let candidate = u32::from_be_bytes([10, 213, *third, 0]);
            !taken.iter().any(|net| overlaps(*net, candidate))
        })
        .ok_or(SwarmError::NoSubnet)
}

/// `a.b.c.d` or `a.b.c.d/len`, as an address and a prefix length.
fn parse_cidr(token: &str) -> Option<(u32, u8)> {
    let (address, len) = match token.split_once('/') {
        Some((address, len)) => (address, len.parse().ok().filter(|len| *len <= 32)?),
        None => (token, 32),
    };
    let address: std::net::Ipv4Addr = address.parse().ok()?;
    Some((u32::from(address), len))
}

/// Whether the network `(address, len)` and the /24 starting at `candidate` share an address.
fn overlaps((address, len): (u32, u8), candidate: u32) -> bool {
    let len = len.min(24);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    address & mask == candidate & mask
}

/// The address of node `k` (from 1) on subnet `third`.
pub(super) fn node_address(third: u8, k: usize) -> String {
    format!("10.213.{third}.{k}")
}

/// The host's end of the veth into the hub of the cluster on subnet `third`: unique among
/// clusters as their subnets are, and short enough for a link name (15 bytes at most).
pub(super) fn host_link(third: u8) -> String {
    format!("simsw{third}")
}

/// The host's address on the cluster's subnet `10.213.<third>.0/24`.
fn host_address(subnet: &str) -> String {
    subnet.replace(".0/24", ".254/24")
}

/// Creates the hub, its bridge, the host's link into it, and every node's namespace and link.
pub(super) async fn create(state: &ClusterState) -> Result<(), SwarmError> {
    let hub = state.hub.as_str();
    ip(&["netns", "add", hub]).await?;
    ip(&["-n", hub, "link", "set", "lo", "up"]).await?;
    ip(&["-n", hub, "link", "add", BRIDGE, "type", "bridge"]).await?;
    ip(&["-n", hub, "link", "set", BRIDGE, "up"]).await?;
    if let Some(link) = &state.host_link {
        // Made in one step with its peer in the hub: no moment where only the host end exists.
        ip(&[
            "link", "add", link, "type", "veth", "peer", "name", "host", "netns", hub,
        ])
        .await?;
        ip(&["-n", hub, "link", "set", "host", "master", BRIDGE, "up"]).await?;
        ip(&["addr", "add", &host_address(&state.subnet), "dev", link]).await?;
        ip(&["link", "set", link, "up"]).await?;
    }
    for (k, node) in state.nodes.iter().enumerate() {
        let name = node.name.as_str();
        let port = node_port(k);
        let address = format!("{}/24", node.address);
        ip(&["netns", "add", name]).await?;
        ip(&[
            "-n", hub, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", name,
        ])
        .await?;
        ip(&["-n", hub, "link", "set", &port, "master", BRIDGE, "up"]).await?;
        ip(&["-n", name, "addr", "add", &address, "dev", "eth0"]).await?;
        ip(&["-n", name, "link", "set", "eth0", "up"]).await?;
        ip(&["-n", name, "link", "set", "lo", "up"]).await?;
    }
    Ok(())
}

/// The hub's end of node `k`'s veth (from 0).
fn node_port(k: usize) -> String {
    format!("v{}", k + 1)
}

/// Sets node `k`'s link to the bridge down (cut off from the other nodes and this host) or up.
pub(super) async fn set_node_link(
    state: &ClusterState,
    k: usize,
    up: bool,
) -> Result<(), SwarmError> {
    let state_word = if up { "up" } else { "down" };
    ip(&["-n", &state.hub, "link", "set", &node_port(k), state_word]).await
}

/// Deletes the network namespace `name` if it exists (its links go with it). Blocking: teardown
/// also runs in `Drop`.
pub(super) fn delete_namespace(name: &str) -> Result<(), String> {
    if !Path::new("/run/netns").join(name).exists() {
        return Ok(());
    }
    let output = std::process::Command::new("ip")
        .args(["netns", "delete", name])
        .output()
        .map_err(|e| format!("ip netns delete {name}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip netns delete {name}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Deletes the host's link `name` if it is still there (its peer's namespace normally took it
/// along). Blocking, like [`delete_namespace`].
pub(super) fn delete_host_link(name: &str) -> Result<(), String> {
    if !Path::new("/sys/class/net").join(name).exists() {
        return Ok(());
    }
    let output = std::process::Command::new("ip")
        .args(["link", "delete", name])
        .output()
        .map_err(|e| format!("ip link delete {name}: {e}"))?;
    if output.status.success() || !Path::new("/sys/class/net").join(name).exists() {
        Ok(())
    } else {
        Err(format!(
            "ip link delete {name}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

async fn ip(args: &[&str]) -> Result<(), SwarmError> {
    ip_output(args).await.map(drop)
}

async fn ip_output(args: &[&str]) -> Result<String, SwarmError> {
    let failed = |detail: String| SwarmError::Command {
        command: format!("ip {}", args.join(" ")),
        detail,
    };
    let output = tokio::process::Command::new("ip")
        .args(args)
        .output()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !output.status.success() {
        return Err(failed(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> (u32, u8) {
        parse_cidr(text).unwrap()
    }

    #[test]
    fn networks_overlap_a_candidate_by_their_shorter_prefix() {
        let candidate = u32::from_be_bytes([10, 213, 7, 0]);
        assert!(overlaps(net("10.213.7.42"), candidate));
        assert!(overlaps(net("10.0.0.0/8"), candidate));
        assert!(overlaps(net("10.213.7.128/25"), candidate));
        assert!(!overlaps(net("10.213.8.0/24"), candidate));
        assert!(!overlaps(net("172.17.0.0/16"), candidate));
    }

    #[test]
    fn only_addresses_and_networks_parse() {
        assert_eq!(parse_cidr("192.0.2.2/24"), Some((0xC000_0202, 24)));
        assert_eq!(parse_cidr("dev"), None);
        assert_eq!(parse_cidr("10.0.0.0/33"), None);
        assert_eq!(parse_cidr("fd00::2/64"), None);
    }
}
