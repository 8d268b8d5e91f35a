//! Network faults against the real Docker engine: the proxy container really sits in the path
//! from HAProxy to a leaky replica (a toxic set on it slows what the balancer serves, and
//! clearing it or resetting connections shows), and the `network-latency` scenario runs end to
//! end: the slow path is shed by the balancer and the healer leaves the healthy target alone.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{assert_nothing_left, journal, result, run_scenario};
use sim::balancer::BalancerPorts;
use sim::docker::{RunResources, TargetContainer};
use sim::netproxy::{self, NetProxies, Toxic};
use tokio::time::Instant;

/// The per-direction latency set on the path in the proxy test; a round trip pays it twice.
const LATENCY: Duration = Duration::from_millis(150);

fn sim_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sim"))
}

/// A labelled run with one leaky replica `leaky-0`, its proxy, and HAProxy over the proxy.
async fn path_through_proxy(
    resources: &RunResources,
) -> (TargetContainer, NetProxies, BalancerPorts) {
    let image = common::leaky_image(resources.docker()).await;
    let replica = resources
        .start_target(&common::leaky_spec(&image))
        .await
        .unwrap();
    let replicas = ["leaky-0".to_owned()];
    let proxies = netproxy::start(resources, &sim_binary(), &replicas, 8080)
        .await
        .unwrap();
    let balancer = sim::balancer::start(resources, &[netproxy::alias("leaky-0")], 8080, "/health")
        .await
        .unwrap();
    (replica, proxies, balancer)
}

/// How long `GET <base>/` takes, if it answers 2xx.
async fn timed_get(client: &reqwest::Client, base: &str) -> Option<Duration> {
    let started = Instant::now();
    let response = client.get(format!("{base}/")).send().await.ok()?;
    response.status().is_success().then(|| started.elapsed())
}

async fn set(client: &reqwest::Client, proxies: &NetProxies, toxic: &Toxic, on: bool) {
    let url = proxies.control_url("leaky-0").expect("leaky-0 has a proxy");
    let request = if on {
        client.post(format!("{url}?{}", toxic.set_query()))
    } else {
        client.delete(format!("{url}?{}", toxic.clear_query()))
    };
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_container_adds_latency_and_resets_on_the_balanced_path() {
    common::with_run_resources("net", |resources| async move {
        let (replica, proxies, balancer) = path_through_proxy(&resources).await;
        let base = format!("http://127.0.0.1:{}", balancer.load);
        let health = format!("{base}/health");
        assert!(
            sim::prober::wait_until_healthy(
                &health,
                Duration::from_secs(1),
                Duration::from_secs(20)
            )
            .await,
            "the balancer never served through the proxy"
        );
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        assert!(timed_get(&client, &base).await.is_some(), "no toxic");

        let latency = Toxic::Latency {
            fixed: LATENCY,
            jitter: Duration::ZERO,
        };
        set(&client, &proxies, &latency, true).await;
        for _ in 0..3 {
            let slow = timed_get(&client, &base).await.expect("slow but served");
            assert!(slow >= 2 * LATENCY, "a request took only {slow:?}");
        }
        set(&client, &proxies, &latency, false).await;
        assert!(timed_get(&client, &base).await.is_some(), "cleared");

        // Every new connection reset: the balancer's checks fail, and it stops serving.
        let reset = Toxic::Reset { fraction: 1.0 };
        set(&client, &proxies, &reset, true).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut refused = false;
        while !refused && Instant::now() < deadline {
            refused = timed_get(&client, &base).await.is_none();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            refused,
            "the balancer still served with every connection reset"
        );
        set(&client, &proxies, &reset, false).await;
        assert!(
            sim::prober::wait_until_healthy(
                &health,
                Duration::from_secs(1),
                Duration::from_secs(10)
            )
            .await,
            "the balancer did not serve again once the reset was cleared"
        );

        // What a trial starts with: every toxic cleared, whatever a previous trial left.
        set(&client, &proxies, &latency, true).await;
        sim::faults::Injector::new(resources.docker().clone())
            .with_net_proxies(proxies.clone())
            .reset_network(&replica)
            .await
            .unwrap();
        let fast = timed_get(&client, &base).await.expect("served");
        assert!(fast < 2 * LATENCY, "still slow after the reset: {fast:?}");
    })
    .await;
}

/// The scenario: the slow path to replica 1 is in the load's record, the balancer shed it,
/// nobody restarted the healthy replica, and nothing is left behind.
#[tokio::test]
async fn network_latency_is_shed_by_the_balancer_and_not_healed() {
    let out = tempfile::tempdir().unwrap();
    let (stdout, dir) = run_scenario(out.path(), "network-latency", 1);
    assert!(stdout.contains("result: PASS"), "{stdout}");
    let records = journal(&dir);
    let find = |event: &'static str| records.iter().filter(move |r| r["event"] == event);
    let injected: Vec<_> = find("fault_injected").collect();
    assert_eq!(injected.len(), 1, "{injected:?}");
    assert_eq!(injected[0]["fault"], "network-latency");
    assert_eq!(injected[0]["target"], "leaky-1");
    assert_eq!(
        injected[0]["detail"],
        "netproxy POST /toxics?latency_ms=400&jitter_ms=100"
    );
    assert!(
        find("fault_cleared").any(|r| r["target"] == "leaky-1"),
        "the toxic was not cleared"
    );
    assert_eq!(find("action_started").count(), 0, "the healer acted");

    let load = find("load").next().expect("a load record");
    // Every request through the slow path waits at least 300ms each way (400ms - 100ms of
    // jitter): the slowest request shows the fault was in the path.
    let max = load["max_ms"].as_f64().unwrap();
    assert!(max >= 600.0, "no request was slowed: max {max}ms");
    // Once the balancer takes the slow path out (its checks fail within ~1.5s) and the requests
    // already on it have come back (~1s later), users stop paying for it: the load windows from
    // 3s after the injection until the fault ends are fast. Without shedding a third of
    // the requests would keep taking ~0.8s, and every window's p99 would show it (its latency
    // counts the time a stalled user could not send).
    let injected_at = injected[0]["t_ms"].as_f64().unwrap();
    let cleared_at = find("fault_cleared")
        .find(|r| r["target"] == "leaky-1")
        .and_then(|r| r["t_ms"].as_f64())
        .unwrap();
    let windows: Vec<f64> = find("load_window")
        .filter(|r| {
            let t = r["t_ms"].as_f64().unwrap();
            t > injected_at + 3000.0 && t < cleared_at
        })
        .filter_map(|r| r["p99_ms"].as_f64())
        .collect();
    assert!(
        windows.len() >= 8,
        "too few windows while the fault held: {windows:?}"
    );
    let slow = windows.iter().filter(|p99| **p99 >= 300.0).count();
    assert!(
        slow * 5 <= windows.len(),
        "the slow path was not shed: {slow} of {} windows had p99 >= 300ms: {windows:?}",
        windows.len()
    );
    // Slow is not failed (the users wait 2s); the error budget itself is the scenario's 1%.
    assert!(load["requests_ok"].as_u64().unwrap() > 100, "{load}");

    let trial = &result(&dir)["trials"][0];
    assert_eq!(
        trial["outage"], false,
        "the replica itself never went down: {trial}"
    );
    assert_nothing_left(&dir).await;
}
