//! A real load balancer in front of the target replicas: HAProxy, from the host's installed
//! program packed into a scratch image, health-checking every container behind each replica's
//! network alias, as Docker's DNS gives them. A replica that restarts or is recreated (a new
//! trial's replica, a rollback) is picked up again at its new address, and the clones a healer
//! `scale` action starts under the same alias join the rotation (and leave it when removed).
//! Its runtime API (admin level, published on 127.0.0.1 only) lets the embedded healer drain a
//! replica before a planned restart.

use std::time::Duration;

use crate::docker::{self, HostProgramImage, RunResources, ServiceSpec};

/// The port HAProxy listens on inside its container.
const LISTEN_PORT: u16 = 8080;
/// The port of HAProxy's runtime API inside its container.
const API_PORT: u16 = 9999;
/// The backend the replicas are servers of.
pub const BACKEND: &str = "replicas";

/// Where the running balancer is reached from the host (both on 127.0.0.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalancerPorts {
    /// Where load goes.
    pub load: u16,
    /// HAProxy's runtime API.
    pub api: u16,
}

/// The balancer could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BalancerError {
    #[error(
        "the scenario needs HAProxy but {} is not installed.\n  fix: sudo apt-get install haproxy",
        HostProgramImage::HAPROXY
    )]
    Missing,
    #[error(transparent)]
    Image(#[from] docker::ImageError),
    #[error("docker: {0}")]
    Docker(#[from] bollard::errors::Error),
}

/// Starts HAProxy on the run's network, balancing over every container behind each of `replicas`
/// (network aliases) on `port`, checking `health_path`. Returns where it is reached.
pub async fn start(
    resources: &RunResources,
    replicas: &[String],
    port: u16,
    health_path: &str,
) -> Result<BalancerPorts, BalancerError> {
    let haproxy = HostProgramImage::haproxy().ok_or(BalancerError::Missing)?;
    let image = docker::ensure_host_program_image(resources.docker(), &haproxy).await?;
    let api = docker::free_loopback_port()?;
    let spec = ServiceSpec {
        name: "balancer".to_owned(),
        image,
        args: vec!["-f".to_owned(), "/haproxy.cfg".to_owned(), "-db".to_owned()],
        files: vec![(
            "/haproxy.cfg".to_owned(),
            config(replicas, port, health_path).into_bytes(),
        )],
        tmpfs: vec![],
        port: LISTEN_PORT,
        also_published: vec![(API_PORT, api)],
    };
    let load = resources.start_service(&spec).await?.host_port;
    Ok(BalancerPorts { load, api })
}

/// How often HAProxy checks each replica; two failures take it out, two successes put it back.
const CHECK_INTERVAL: Duration = Duration::from_millis(250);
/// How long a check may wait for the answer: a replica whose path answers slower than this (a
/// slow network in between, say) fails its checks and is taken out of rotation.
const CHECK_TIMEOUT: Duration = Duration::from_millis(500);

/// Server slots per replica alias: how many containers answering to one alias (the replica and
/// the clones a `scale` action started beside it) the balancer serves at once. Addresses beyond
/// this get no slot, and so no traffic, until a slot frees up.
const SLOTS_PER_ALIAS: u16 = 4;

/// The HAProxy configuration: round robin over every address of every replica alias (a
/// `server-template` of [`SLOTS_PER_ALIAS`] slots each, filled from Docker's embedded DNS, which
/// is asked again every second; a slot whose address leaves the answer is put in maintenance),
/// HTTP health checks that fail when slow, and a failed request retried once on another server
/// (what a production balancer would do).
fn config(replicas: &[String], port: u16, health_path: &str) -> String {
    let inter = CHECK_INTERVAL.as_millis();
    let check_timeout = CHECK_TIMEOUT.as_millis();
    let servers: String = replicas
        .iter()
        .map(|name| {
            format!(
                "    server-template {name}- {SLOTS_PER_ALIAS} {name}:{port} check inter {inter}ms \
                 fall 2 rise 2 resolvers docker resolve-prefer ipv4 init-addr none\n"
            )
        })
        .collect();
    format!(
        "global\n\
         \x20   maxconn 4096\n\
         \x20   stats socket ipv4@:{API_PORT} level admin\n\
         resolvers docker\n\
         \x20   nameserver dns 127.0.0.11:53\n\
         \x20   hold valid 1s\n\
         \x20   hold other 1s\n\
         \x20   hold refused 1s\n\
         \x20   hold nx 1s\n\
         \x20   hold timeout 1s\n\
         defaults\n\
         \x20   mode http\n\
         \x20   timeout connect 1s\n\
         \x20   timeout client 10s\n\
         \x20   timeout server 10s\n\
         \x20   timeout check {check_timeout}ms\n\
         \x20   retries 1\n\
         \x20   option redispatch\n\
         frontend load\n\
         \x20   bind :{LISTEN_PORT}\n\
         \x20   default_backend replicas\n\
         backend {BACKEND}\n\
         \x20   balance roundrobin\n\
         \x20   option httpchk GET {health_path}\n\
         {servers}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_address_of_every_replica_is_a_health_checked_server_resolved_through_docker_dns() {
        let cfg = config(
            &["leaky-0".to_owned(), "leaky-1".to_owned()],
            8080,
            "/health",
        );
        assert!(cfg.contains("option httpchk GET /health"));
        assert!(cfg.contains("timeout check 500ms"), "{cfg}");
        assert!(cfg.contains("nameserver dns 127.0.0.11:53"));
        for name in ["leaky-0", "leaky-1"] {
            assert!(
                cfg.contains(&format!(
                    "server-template {name}- 4 {name}:8080 check inter 250ms fall 2 rise 2 \
                     resolvers docker resolve-prefer ipv4 init-addr none\n"
                )),
                "{cfg}"
            );
        }
        assert!(cfg.contains("bind :8080"));
        assert!(
            cfg.contains("stats socket ipv4@:9999 level admin\n"),
            "{cfg}"
        );
        assert!(cfg.contains("backend replicas\n"), "{cfg}");
        assert!(cfg.lines().all(|l| !l.ends_with(' ')), "no trailing spaces");
    }
}
