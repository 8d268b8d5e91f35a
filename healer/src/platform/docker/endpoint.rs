//! Where this host reaches a container's port: the port it publishes on this host, else its own
//! address on a bridge network.
//!
//! A published port comes first, the IPv4 loopback binding before the others (sim publishes on
//! 127.0.0.1 only, at a port that survives a restart). A container that publishes nothing for
//! the port (the usual case behind a reverse proxy, which reaches it on a user-defined network)
//! is reached at its address on a bridge network: the engine's host routes to those through the
//! network's bridge interface, which on Linux is this host's own (with Docker Desktop's VM in
//! between it is not, and the request then fails naming the address it tried). A container in
//! the host's network namespace (`network_mode: host`) listens on this host's loopback.
//! Overlay, macvlan and the like are not tried: this host is not on them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bollard::models::{ContainerInspectResponse, EndpointSettings, PortMap};
use bollard::Docker;

use super::neighbors::bridge_name;
use crate::platform::PlatformError;
use crate::signal::TargetRef;

/// Where this host reaches `port` (TCP) of the container `inspect` describes now.
pub(super) async fn http_endpoint(
    docker: &Docker,
    target: &TargetRef,
    inspect: ContainerInspectResponse,
    port: u16,
) -> Result<SocketAddr, PlatformError> {
    let settings = inspect.network_settings.unwrap_or_default();
    if let Some(published) = published(settings.ports, port) {
        return Ok(published);
    }
    let mode = inspect.host_config.and_then(|host| host.network_mode);
    if mode.as_deref() == Some("host") {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    let mut networks: Vec<(String, EndpointSettings)> =
        settings.networks.unwrap_or_default().into_iter().collect();
    networks.sort_by(|a, b| a.0.cmp(&b.0));
    let mut tried = Vec::new();
    for (name, endpoint) in networks {
        let Some(ip) = own_address(&endpoint) else {
            tried.push(format!("{name} (no address)"));
            continue;
        };
        let network = endpoint
            .network_id
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| name.clone());
        if bridge_name(docker, &network).await.is_some() {
            return Ok(SocketAddr::new(ip, port));
        }
        tried.push(format!("{name} ({ip}, not a bridge network)"));
    }
    Err(PlatformError::Unreachable {
        target: target.name.clone(),
        port,
        tried: not_reached(&tried),
    })
}

/// The host address bound to `port`, the IPv4 loopback binding first; `None` if unpublished.
fn published(ports: Option<PortMap>, port: u16) -> Option<SocketAddr> {
    let bindings = ports
        .and_then(|mut ports| ports.remove(&format!("{port}/tcp")))
        .flatten()
        .unwrap_or_default();
    bindings
        .iter()
        .filter_map(|binding| {
            let host_port = binding.host_port.as_deref()?.parse::<u16>().ok()?;
            Some(SocketAddr::new(
                reachable_ip(binding.host_ip.as_deref()),
                host_port,
            ))
        })
        .min_by_key(|addr| addr.ip() != IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// The container's address on a network: IPv4, else its global IPv6 address.
fn own_address(endpoint: &EndpointSettings) -> Option<IpAddr> {
    [&endpoint.ip_address, &endpoint.global_ipv6_address]
        .into_iter()
        .find_map(|ip| ip.as_deref()?.parse().ok())
}

/// What was tried, for the error: the published ports, then each network.
fn not_reached(networks: &[String]) -> String {
    let networks = match networks {
        [] => "it is on no network".to_owned(),
        _ => format!("its networks: {}", networks.join(", ")),
    };
    format!(
        "it publishes no host port for it, and it has no address on a bridge network ({networks})"
    )
}

/// The address to dial for a binding's host IP: loopback for "all interfaces".
fn reachable_ip(host_ip: Option<&str>) -> IpAddr {
    match host_ip.and_then(|ip| ip.parse::<IpAddr>().ok()) {
        Some(ip) if ip.is_unspecified() && ip.is_ipv6() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        Some(ip) if !ip.is_unspecified() => ip,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use bollard::models::PortBinding;

    use super::*;

    fn binding(ip: &str, port: &str) -> PortBinding {
        PortBinding {
            host_ip: Some(ip.to_owned()),
            host_port: Some(port.to_owned()),
        }
    }

    #[test]
    fn the_loopback_binding_is_preferred_and_other_ports_are_unpublished() {
        let ports = || {
            Some(HashMap::from([
                (
                    "8080/tcp".to_owned(),
                    Some(vec![binding("::", "32001"), binding("127.0.0.1", "32000")]),
                ),
                ("9090/tcp".to_owned(), None),
            ]))
        };
        assert_eq!(
            published(ports(), 8080),
            Some("127.0.0.1:32000".parse().unwrap())
        );
        assert_eq!(published(ports(), 9090), None);
        assert_eq!(published(ports(), 1), None);
        assert_eq!(published(None, 8080), None);
    }

    #[test]
    fn a_network_address_is_ipv4_else_global_ipv6() {
        let endpoint = |v4: &str, v6: &str| EndpointSettings {
            ip_address: Some(v4.to_owned()),
            global_ipv6_address: Some(v6.to_owned()),
            ..EndpointSettings::default()
        };
        assert_eq!(
            own_address(&endpoint("172.30.0.2", "fd00::2")),
            Some("172.30.0.2".parse().unwrap())
        );
        assert_eq!(
            own_address(&endpoint("", "fd00::2")),
            Some("fd00::2".parse().unwrap())
        );
        assert_eq!(own_address(&endpoint("", "")), None);
    }

    #[test]
    fn the_error_says_what_was_tried() {
        assert_eq!(
            not_reached(&["ingress (10.0.0.5, not a bridge network)".to_owned()]),
            "it publishes no host port for it, and it has no address on a bridge network \
             (its networks: ingress (10.0.0.5, not a bridge network))"
        );
        assert!(not_reached(&[]).ends_with("(it is on no network)"));
    }

    #[test]
    fn unspecified_host_ips_are_reached_through_loopback() {
        assert_eq!(
            reachable_ip(Some("0.0.0.0")),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(reachable_ip(Some("::")), IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(reachable_ip(Some("")), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(
            reachable_ip(Some("10.1.2.3")),
            "10.1.2.3".parse::<IpAddr>().unwrap()
        );
    }
}
