//! The HAProxy balancer against the real Docker engine, with the healer's own `scale` action: a
//! clone started beside a replica (under the replica's network alias) gets its share of the
//! traffic, a clone scaled away drops out with no request failing, and a replica recreated at a
//! new address is served again. Each container's own `/metrics` says who served what.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use bollard::query_parameters::{ListContainersOptionsBuilder, RemoveContainerOptionsBuilder};
use bollard::Docker;

use healer::{DockerPlatform, Platform, Scale, TargetRef};
use sim::balancer::BalancerPorts;
use sim::docker::{RunResources, TargetSpec};
use tokio::time::Instant;

use common::served;

/// Requests per measured batch.
const REQUESTS: u64 = 40;
/// How long the balancer may take to notice a change (DNS every second, checks every 250ms).
const SETTLE: Duration = Duration::from_secs(20);
const ACTION_TIMEOUT: Duration = Duration::from_secs(30);
const PORT: u16 = 8080;

fn leaky_spec(image: &str, trial: u32) -> TargetSpec {
    TargetSpec {
        trial,
        ..common::leaky_spec(image)
    }
}

/// Waits until the container at `host_port` answers its health check directly.
async fn wait_answers(host_port: u16) {
    let url = format!("http://127.0.0.1:{host_port}/health");
    assert!(
        sim::prober::wait_until_healthy(&url, Duration::from_secs(1), SETTLE).await,
        "{url} never answered"
    );
}

/// Sends `n` requests for `/` through the balancer, one after another; gives how many got a 2xx.
async fn send(client: &reqwest::Client, balancer: &BalancerPorts, n: u64) -> u64 {
    let url = format!("http://127.0.0.1:{}/", balancer.load);
    let mut ok = 0;
    for _ in 0..n {
        if let Ok(response) = client.get(&url).send().await {
            ok += u64::from(response.status().is_success());
        }
    }
    ok
}

/// What each container in `host_ports` served of one batch of [`REQUESTS`] through the
/// balancer, after asserting that every request of the batch succeeded.
async fn batch(client: &reqwest::Client, balancer: &BalancerPorts, host_ports: &[u16]) -> Vec<u64> {
    let mut before = Vec::new();
    for &port in host_ports {
        before.push(served(client, port).await);
    }
    let ok = send(client, balancer, REQUESTS).await;
    assert_eq!(ok, REQUESTS, "requests failed through the balancer");
    let mut deltas = Vec::new();
    for (&port, before) in host_ports.iter().zip(before) {
        deltas.push(served(client, port).await - before);
    }
    deltas
}

/// Waits (up to [`SETTLE`]) until a short batch through the balancer all succeeds and
/// `host_port`'s container served `all` of it (or, if not `all`, at least one request).
async fn settle(client: &reqwest::Client, balancer: &BalancerPorts, host_port: u16, all: bool) {
    const PROBE: u64 = 8;
    let deadline = Instant::now() + SETTLE;
    while Instant::now() < deadline {
        let before = served(client, host_port).await;
        let ok = send(client, balancer, PROBE).await;
        let delta = served(client, host_port).await - before;
        if ok == PROBE && (if all { delta == PROBE } else { delta > 0 }) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the balancer did not settle within {SETTLE:?} (all to port {host_port}: {all})");
}

/// The address of container `id` on the run's network, and its labels.
async fn address_and_labels(
    docker: &Docker,
    resources: &RunResources,
    id: &str,
) -> (String, HashMap<String, String>) {
    let inspect = docker.inspect_container(id, None).await.unwrap();
    let network = inspect
        .network_settings
        .and_then(|settings| settings.networks)
        .and_then(|mut networks| networks.remove(&format!("sim-{}", resources.run_id())))
        .expect("on the run's network");
    let aliases = network.aliases.unwrap_or_default();
    assert!(aliases.contains(&"leaky-0".to_owned()), "{aliases:?}");
    (
        network.ip_address.unwrap(),
        inspect.config.unwrap().labels.unwrap_or_default(),
    )
}

/// The clones of container `name` the scale action started: id and host port of each.
async fn clones(docker: &Docker, name: &str) -> Vec<(String, u16)> {
    let filters = HashMap::from([(
        "label".to_owned(),
        vec![format!("{}={name}", healer::REPLICA_OF_LABEL)],
    )]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let mut found = Vec::new();
    for container in docker.list_containers(Some(options)).await.unwrap() {
        let id = container.id.unwrap();
        let ports = docker
            .inspect_container(&id, None)
            .await
            .unwrap()
            .network_settings
            .unwrap()
            .ports
            .unwrap();
        let binding = &ports[&format!("{PORT}/tcp")].as_ref().unwrap()[0];
        assert_eq!(binding.host_ip.as_deref(), Some("127.0.0.1"));
        found.push((id, binding.host_port.as_ref().unwrap().parse().unwrap()));
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaled_clones_join_the_balancer_and_leave_it_without_failed_requests() {
    common::with_run_resources("bal", |resources| async move {
        let docker = resources.docker().clone();
        let image = common::leaky_image(&docker).await;
        let replica = resources
            .start_target(&leaky_spec(&image, 1))
            .await
            .unwrap();
        wait_answers(replica.host_port).await;
        let balancer = sim::balancer::start(&resources, &["leaky-0".to_owned()], PORT, "/health")
            .await
            .unwrap();
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        settle(&client, &balancer, replica.host_port, true).await;

        // Scale up with the healer's own action: a clone under the same alias.
        let platform = DockerPlatform::new(docker.clone());
        let target = TargetRef {
            id: replica.id.clone(),
            name: replica.name.clone(),
            labels: Default::default(),
        };
        let wanted = platform
            .scale(&target, Scale::By(1), ACTION_TIMEOUT)
            .await
            .unwrap();
        assert_eq!(wanted, 2);
        let container_name = format!("sim-{}-t1-leaky-0", resources.run_id());
        let found = clones(&docker, &container_name).await;
        assert_eq!(found.len(), 1, "{found:?}");
        let (clone_id, clone_port) = found[0].clone();
        wait_answers(clone_port).await;
        let (original_ip, _) = address_and_labels(&docker, &resources, &replica.id).await;
        let (clone_ip, labels) = address_and_labels(&docker, &resources, &clone_id).await;
        assert_ne!(clone_ip, original_ip);
        assert_eq!(
            labels.get("sim.run").map(String::as_str),
            Some(resources.run_id()),
            "{labels:?}"
        );
        assert_eq!(labels.get("sim.managed").map(String::as_str), Some("true"));

        settle(&client, &balancer, clone_port, false).await;
        let shares = batch(&client, &balancer, &[replica.host_port, clone_port]).await;
        eprintln!("scaled to 2: {shares:?} of {REQUESTS} requests");
        assert_eq!(shares.iter().sum::<u64>(), REQUESTS, "{shares:?}");
        // Round robin over two healthy servers: each gets about half.
        for share in &shares {
            assert!(*share >= REQUESTS / 4, "unbalanced: {shares:?}");
        }

        // Scale down: the clone is removed; once the balancer's checks and DNS drop it,
        // the original serves everything and no request fails.
        let wanted = platform
            .scale(&target, Scale::To(1), ACTION_TIMEOUT)
            .await
            .unwrap();
        assert_eq!(wanted, 1);
        assert!(
            clones(&docker, &container_name).await.is_empty(),
            "the clone is still there"
        );
        settle(&client, &balancer, replica.host_port, true).await;
        let shares = batch(&client, &balancer, &[replica.host_port]).await;
        assert_eq!(shares, [REQUESTS], "scaled back to 1");

        // The replica replaced by a new container under the same alias (as a new trial
        // or a redeploy does). Started before the old one goes, so its address is new.
        let recreated = resources
            .start_target(&leaky_spec(&image, 2))
            .await
            .unwrap();
        wait_answers(recreated.host_port).await;
        docker
            .remove_container(
                &replica.id,
                Some(RemoveContainerOptionsBuilder::new().force(true).build()),
            )
            .await
            .unwrap();
        let (recreated_ip, _) = address_and_labels(&docker, &resources, &recreated.id).await;
        assert_ne!(recreated_ip, original_ip, "a new address");
        settle(&client, &balancer, recreated.host_port, true).await;
        let shares = batch(&client, &balancer, &[recreated.host_port]).await;
        assert_eq!(shares, [REQUESTS], "recreated at {recreated_ip}");
    })
    .await;
}
