//! The runner's side of the proxies: one container per replica on the run's network, running
//! this very binary as `sim target netproxy`, alive for the whole run (a new trial's replica
//! under the same name is reached again, since the upstream is resolved per connection).

use std::collections::HashMap;
use std::path::Path;

use crate::docker::{self, HostProgramImage, RunResources, ServiceSpec};

/// The port each proxy's control API listens on inside its container (Toxiproxy's).
const CONTROL_PORT: u16 = 8474;

/// Starting the proxies failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetProxyError {
    #[error(transparent)]
    Image(#[from] docker::ImageError),
    #[error("docker: {0}")]
    Docker(#[from] bollard::errors::Error),
}

/// The run's proxies: each replica's proxy control port on 127.0.0.1, by replica name.
#[derive(Debug, Clone, Default)]
pub struct NetProxies {
    control_ports: HashMap<String, u16>,
}

impl NetProxies {
    /// Where `replica`'s proxy takes toxics (`http://127.0.0.1:<port>/toxics`), if it has one.
    pub fn control_url(&self, replica: &str) -> Option<String> {
        let port = self.control_ports.get(replica)?;
        Some(format!("http://127.0.0.1:{port}/toxics"))
    }
}

/// The network alias of `replica`'s proxy: what the balancer reaches instead of the replica.
pub fn alias(replica: &str) -> String {
    format!("{replica}-net")
}

/// Starts a proxy for each of `replicas` (network aliases), listening on `port` (the replicas'
/// own port, so the balancer's configuration does not change) and forwarding to
/// `<replica>:<port>`. `program` is the `sim` binary packed into the proxies' image.
pub async fn start(
    resources: &RunResources,
    program: &Path,
    replicas: &[String],
    port: u16,
) -> Result<NetProxies, NetProxyError> {
    let image = docker::ensure_host_program_image(
        resources.docker(),
        &HostProgramImage {
            repository: "sim-netproxy".to_owned(),
            program: program.to_owned(),
            args: vec!["target".to_owned(), "netproxy".to_owned()],
        },
    )
    .await?;
    let mut control_ports = HashMap::new();
    for replica in replicas {
        let spec = ServiceSpec {
            name: alias(replica),
            image: image.clone(),
            args: args(replica, port),
            files: vec![],
            tmpfs: vec![],
            port: CONTROL_PORT,
            also_published: vec![],
        };
        let container = resources.start_service(&spec).await?;
        control_ports.insert(replica.clone(), container.host_port);
    }
    Ok(NetProxies { control_ports })
}

/// The proxy's command line after `sim target netproxy`.
fn args(replica: &str, port: u16) -> Vec<String> {
    vec![
        "--listen".to_owned(),
        port.to_string(),
        "--upstream".to_owned(),
        format!("{replica}:{port}"),
        "--control".to_owned(),
        CONTROL_PORT.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_listens_on_the_replica_port_and_forwards_to_the_replica() {
        assert_eq!(alias("leaky-1"), "leaky-1-net");
        assert_eq!(
            args("leaky-1", 8080).join(" "),
            "--listen 8080 --upstream leaky-1:8080 --control 8474"
        );
        let proxies = NetProxies {
            control_ports: HashMap::from([("leaky-1".to_owned(), 40001)]),
        };
        assert_eq!(
            proxies.control_url("leaky-1").as_deref(),
            Some("http://127.0.0.1:40001/toxics")
        );
        assert_eq!(proxies.control_url("leaky-0"), None);
    }
}
