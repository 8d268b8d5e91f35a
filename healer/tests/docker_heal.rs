//! The healer against the real Docker engine, with the shipped runbooks and the `leaky` target:
//! a hung target is found by the healer's own prober and restarted, also one that publishes no
//! port (reached at its address on a user-defined network); a crash loop is restarted
//! until `max_actions`, then escalated exactly once; a new image that fails its health check is
//! rolled back to the previous one.
//!
//! Images: nothing can be pulled here, so each test builds scratch images holding
//! `target/debug/sim` (which serves `leaky` with `sim target leaky`) and its libraries; the
//! containers and their cleanup are the shared [`fixture`]'s.

mod common;
mod fixture;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bollard::query_parameters::StartContainerOptions;
use healer::{
    DockerPlatform, Healer, Platform, Runbook, SourceSettings, TargetRef, PREVIOUS_IMAGE_LABEL,
};
use journal::{Event, MemorySink};
use tokio::sync::oneshot;

use fixture::{sim_binary, Fixture};

/// How long a test waits for the healer's events.
const PATIENCE: Duration = Duration::from_secs(90);

/// Builds a scratch image serving leaky; `env` is baked into the image (`ENV` lines).
async fn build_leaky(f: &Fixture, tag: &str, env: &[(&str, &str)]) -> String {
    let envs: String = env.iter().map(|(k, v)| format!("ENV {k}={v}\n")).collect();
    let config = format!("{envs}ENTRYPOINT [\"/sim\", \"target\", \"leaky\"]\n");
    f.build_scratch("leaky", tag, &sim_binary(), "/sim", &config)
        .await
}

/// Starts a healer with `runbooks` (shipped files) on the run's scope.
fn healer(
    f: &Fixture,
    runbooks: &[&str],
    platform: DockerPlatform,
) -> (Arc<MemorySink>, oneshot::Sender<()>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    let runbooks = runbooks
        .iter()
        .map(|name| Runbook::load(&dir.join(format!("{name}.yaml"))).unwrap())
        .collect();
    let sink = Arc::new(MemorySink::default());
    let sources = SourceSettings {
        probe_interval: Duration::from_millis(300),
        probe_timeout: Duration::from_millis(300),
        ..SourceSettings::default()
    };
    let healer =
        Healer::new(Arc::new(platform), runbooks, f.scope(), sink.clone()).with_sources(sources);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(healer.run(async {
        let _ = stopped.await;
    }));
    (sink, stop)
}

/// Waits until `target` answers `/health` with 200; gives its base URL.
async fn ready(platform: &DockerPlatform, target: &TargetRef) -> String {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    for _ in 0..300 {
        if let Ok(endpoint) = platform.http_endpoint(target, 8080).await {
            let url = format!("http://{endpoint}");
            let answer = client
                .get(format!("{url}/health"))
                .timeout(Duration::from_millis(500))
                .send()
                .await;
            if answer.is_ok_and(|a| a.status().is_success()) {
                return url;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} never answered /health", target.name);
}

async fn post(url: &str) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    // `/chaos/hang` never answers and `/chaos/crash` may not: only sending matters.
    let _ = client
        .post(url)
        .timeout(Duration::from_millis(500))
        .send()
        .await;
}

fn is<'a>(kind: &'a str) -> impl Fn(&Event) -> bool + 'a {
    move |event| {
        let json = serde_json::to_value(event).unwrap();
        json["event"] == kind
    }
}

#[tokio::test]
async fn a_hung_target_is_found_by_the_probe_detector_and_restarted() {
    Fixture::new("hang")
        .await
        .run(|f| async move {
            let image = build_leaky(&f, "good", &[]).await;
            let platform = DockerPlatform::connect().await.unwrap();
            let target = f.start("leaky-0", &image, &[]).await;
            let url = ready(&platform, &target).await;
            let (sink, _stop) = healer(&f, &["hang"], platform.clone());
            post(&format!("{url}/chaos/hang")).await;
            common::wait_for(&sink, PATIENCE, 1, is("verified")).await;
            let events = sink.events();
            let detected = events.iter().find(|e| is("detected")(e)).unwrap();
            assert!(
                matches!(detected, Event::Detected { class, signal, .. }
                    if class == "hang" && signal.starts_with("probe failed")),
                "{detected:?}"
            );
            assert!(events.iter().any(|e| matches!(e,
                Event::ActionFinished { action, ok: true, .. } if action == "restart")));
            assert!(events
                .iter()
                .any(|e| matches!(e, Event::Verified { ok: true, .. })));
            ready(&platform, &target).await;
        })
        .await;
}

/// Behind a reverse proxy a target publishes nothing: the healer probes and verifies it at its
/// address on its network.
#[tokio::test]
async fn a_hung_target_publishing_no_port_is_probed_and_verified_at_its_network_address() {
    Fixture::new("unpublished")
        .await
        .run(|f| async move {
            let image = build_leaky(&f, "good", &[]).await;
            let network = f.network("proxy").await;
            let platform = DockerPlatform::connect().await.unwrap();
            let target = f.start_unpublished("leaky-0", &image, &[], &network).await;
            let address = network_address(&f, &target, &network).await;
            let endpoint = platform.http_endpoint(&target, 8080).await.unwrap();
            assert_eq!(endpoint, format!("{address}:8080").parse().unwrap());
            let url = format!("http://{endpoint}");
            let (sink, _stop) = healer(&f, &["hang"], platform.clone());
            // Healthy and reached: the prober finds nothing wrong.
            tokio::time::sleep(Duration::from_secs(2)).await;
            assert!(
                !sink.events().iter().any(is("detected")),
                "{:#?}",
                sink.events()
            );
            post(&format!("{url}/chaos/hang")).await;
            common::wait_for(&sink, PATIENCE, 1, is("verified")).await;
            let events = sink.events();
            assert!(events.iter().any(|e| matches!(e,
                Event::ActionFinished { action, ok: true, .. } if action == "restart")));
            assert!(
                events
                    .iter()
                    .any(|e| matches!(e, Event::Verified { ok: true, .. })),
                "{events:#?}"
            );
            assert!(!events.iter().any(is("escalated")), "{events:#?}");
        })
        .await;
}

/// `target`'s address on `network`, from Docker's own description of it.
async fn network_address(f: &Fixture, target: &TargetRef, network: &str) -> String {
    let inspect = f.docker.inspect_container(&target.id, None).await.unwrap();
    let settings = inspect.network_settings.unwrap();
    assert!(
        settings
            .ports
            .unwrap_or_default()
            .values()
            .all(Option::is_none),
        "the container publishes a port"
    );
    let networks = settings.networks.unwrap();
    networks[network].ip_address.clone().unwrap()
}

#[tokio::test]
async fn a_crash_loop_is_restarted_up_to_its_limit_then_escalated_exactly_once() {
    Fixture::new("crash")
        .await
        .run(|f| async move {
            let image = build_leaky(&f, "good", &[]).await;
            let platform = DockerPlatform::connect().await.unwrap();
            let target = f.start("leaky-0", &image, &[]).await;
            let (sink, _stop) = healer(&f, &["crash-loop"], platform.clone());
            // crash-loop.yaml: max_actions 3 per 5 min. Crash, let the healer restart, again.
            for restarts in 1..=3 {
                let url = ready(&platform, &target).await;
                post(&format!("{url}/chaos/crash")).await;
                common::wait_for(&sink, PATIENCE, restarts, is("verified")).await;
            }
            let url = ready(&platform, &target).await;
            post(&format!("{url}/chaos/crash")).await;
            common::wait_for(&sink, PATIENCE, 1, is("escalated")).await;
            // Started by hand, crashing again: suppressed, not escalated a second time.
            f.docker
                .start_container(&target.id, None::<StartContainerOptions>)
                .await
                .unwrap();
            let url = ready(&platform, &target).await;
            post(&format!("{url}/chaos/crash")).await;
            common::wait_for(&sink, PATIENCE, 1, |e| {
                matches!(e, Event::Suppressed { reason, .. } if reason.contains("already escalated"))
            })
            .await;
            let events = sink.events();
            let restarts = events
                .iter()
                .filter(|e| matches!(e, Event::ActionStarted { action, .. } if action == "restart"))
                .count();
            assert_eq!(restarts, 3);
            assert_eq!(events.iter().filter(|e| is("escalated")(e)).count(), 1);
            let escalated = events.iter().find(|e| is("escalated")(e)).unwrap();
            assert!(
                matches!(escalated, Event::Escalated { reason, .. } if reason.starts_with("max_actions reached")),
                "{escalated:?}"
            );
        })
        .await;
}

#[tokio::test]
async fn a_new_image_failing_its_health_check_is_rolled_back_to_the_previous_one() {
    Fixture::new("rollback")
        .await
        .run(|f| async move {
            let good = build_leaky(&f, "good", &[]).await;
            let bad = build_leaky(&f, "bad", &[("LEAKY_FAIL_HEALTH", "1")]).await;
            let platform = DockerPlatform::connect().await.unwrap();
            // The healer runs before the deploy, so it sees the new container start.
            let (sink, _stop) = healer(&f, &["hang", "bad-deploy"], platform.clone());
            tokio::time::sleep(Duration::from_millis(500)).await;
            let deployed = f
                .start("leaky-0", &bad, &[(PREVIOUS_IMAGE_LABEL, good.as_str())])
                .await;
            common::wait_for(&sink, PATIENCE, 1, is("verified")).await;
            let events = sink.events();
            let selected = events.iter().find(|e| is("runbook_selected")(e)).unwrap();
            assert!(
                matches!(selected, Event::RunbookSelected { runbook, reason, .. }
                    if runbook == "bad-deploy" && reason.contains("ranked first of 2")),
                "{selected:?}"
            );
            assert!(events.iter().any(|e| matches!(e,
                Event::ActionFinished { action, ok: true, .. } if action == "rollback")));
            assert!(events
                .iter()
                .any(|e| matches!(e, Event::Verified { ok: true, .. })));
            // The container now runs the previous image, under the same name, and answers.
            let now = f
                .docker
                .inspect_container(&deployed.name, None)
                .await
                .unwrap();
            assert_ne!(now.id.as_deref(), Some(deployed.id.as_str()));
            assert_eq!(now.config.unwrap().image.as_deref(), Some(good.as_str()));
        })
        .await;
}
