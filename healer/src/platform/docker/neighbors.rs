//! After a container starts again, forget the host's stale neighbor (ARP) entry for its address.
//!
//! Traffic that reaches a container's address while it is down (users, load balancers, probes
//! through Docker's port proxy) leaves the host's neighbor entry for that address INCOMPLETE,
//! and the kernel asks again only after `retrans_time_ms` (1 s by default). So a container that
//! started in 0.25 s still answered nothing for up to a second more: measured here, start →
//! first good answer 0.70-0.83 s under load, 8-13 ms without traffic during the outage, and
//! 9-13 ms under load once the entry is deleted right after the start (the next packet then
//! asks at once). Deleting the entry is what `ip neigh del ADDR dev BRIDGE` does; it needs the
//! engine's host (and CAP_NET_ADMIN). Where that is not given this does nothing and says so in a
//! debug log: the heal is then only slower, never wrong.

use std::time::Duration;

use bollard::Docker;

/// How long the `ip` command may take.
const IP_TIMEOUT: Duration = Duration::from_secs(1);

/// Deletes the host's neighbor entries for `container`'s addresses on its bridge networks.
/// Best effort: every failure is logged at debug level and otherwise ignored.
pub async fn forget_stale_neighbors(docker: &Docker, container: &str) {
    for (address, bridge) in bridge_addresses(docker, container).await {
        let command = tokio::process::Command::new("ip")
            .args(["neigh", "del", &address, "dev", &bridge])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        match tokio::time::timeout(IP_TIMEOUT, command).await {
            Ok(Ok(status)) if status.success() => {
                tracing::debug!(%address, %bridge, "forgot the stale neighbor entry")
            }
            // No entry (nothing was waiting on it), or not allowed / no `ip` here.
            outcome => tracing::debug!(%address, %bridge, ?outcome, "no neighbor entry deleted"),
        }
    }
}

/// The container's IPv4 addresses with the host bridge each one lives on.
async fn bridge_addresses(docker: &Docker, container: &str) -> Vec<(String, String)> {
    let Ok(inspect) = docker.inspect_container(container, None).await else {
        return Vec::new();
    };
    let networks = inspect
        .network_settings
        .and_then(|settings| settings.networks)
        .unwrap_or_default();
    let mut found = Vec::new();
    for endpoint in networks.into_values() {
        let (Some(address), Some(network)) = (
            endpoint.ip_address.filter(|a| !a.is_empty()),
            endpoint.network_id.filter(|n| !n.is_empty()),
        ) else {
            continue;
        };
        if let Some(bridge) = bridge_name(docker, &network).await {
            found.push((address, bridge));
        }
    }
    found
}

/// The host interface of a bridge network: its `com.docker.network.bridge.name` option (e.g.
/// `docker0`), else Docker's default `br-<first 12 characters of its id>`; `None` when it is
/// not a bridge network (or cannot be inspected).
pub(super) async fn bridge_name(docker: &Docker, network: &str) -> Option<String> {
    let inspect = docker
        .inspect_network(
            network,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        .ok()?;
    if inspect.driver.as_deref() != Some("bridge") {
        return None;
    }
    let named = inspect
        .options
        .and_then(|options| options.get("com.docker.network.bridge.name").cloned());
    Some(named.unwrap_or_else(|| default_bridge_name(inspect.id.as_deref().unwrap_or(network))))
}

fn default_bridge_name(network_id: &str) -> String {
    format!("br-{}", network_id.get(..12).unwrap_or(network_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_defined_bridge_is_br_and_twelve_characters_of_its_id() {
        assert_eq!(
            default_bridge_name("05f2ab61f32a7d0e9c1d2b3a4f5e6d7c"),
            "br-05f2ab61f32a"
        );
        assert_eq!(default_bridge_name("short"), "br-short");
    }
}
