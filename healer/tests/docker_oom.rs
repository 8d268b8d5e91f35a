//! `DockerPlatform` against the real Docker engine: deaths with exit codes, restarts, published
//! ports, and scoping by label; restart and stop of exited, running and paused containers.
//!
//! Nothing can be pulled here, so the tests build their own image: `FROM scratch` with the
//! host's `tail` and the libraries `ldd` lists, running `tail -f /dev/null`. It does not OOM (the
//! `sim` crate owns the leaky image); it checks the signals the OOM path relies on: `die` with
//! its exit code, then `start` after `restart`. As PID 1 without a handler, `tail` ignores
//! SIGTERM, as a hung process would: a restart with a grace waits it out. Containers, the image
//! and their cleanup are the shared [`fixture`]'s.

mod fixture;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use bollard::query_parameters::{KillContainerOptionsBuilder, RestartContainerOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt;
use healer::{DockerPlatform, Platform, PlatformError, Scope, Signal, SignalKind};
use tokio::sync::mpsc;
use tokio::time::Instant;

use fixture::{Fixture, TEST_LABEL};

const SCOPE_LABEL: &str = "healer.scope";
/// The runbooks' default restart grace.
const GRACE: Duration = Duration::from_secs(1);

#[tokio::test]
async fn docker_platform_reports_deaths_and_restarts_of_scoped_containers_only() {
    with_test_image(scenario).await;
}

/// `restart` only starts an exited container and kills a running or paused one (grace 0)
/// before starting it; `stop` ends one and succeeds on a stopped one. Prints each platform
/// call's duration next to Docker's own `restart` with a 1 s grace, which the healer called
/// before (`--no-capture` shows them); timings are not asserted.
#[tokio::test]
async fn restart_starts_what_does_not_run_and_kills_what_does_first() {
    with_test_image(|f, image| async move {
        let docker = f.docker.clone();
        let platform = DockerPlatform::new(docker.clone());
        let target = f.start("lifecycle", &image, &[(SCOPE_LABEL, "in")]).await;
        let id = target.id.clone();
        let timeout = Duration::from_secs(30);
        let docker_restart = RestartContainerOptionsBuilder::new().t(1).build();
        // (state, grace the runbooks use there): OOM-killed or crashed; hung; paused.
        let cases = [
            ("exited", GRACE),
            ("running", Duration::ZERO),
            ("paused", Duration::ZERO),
        ];
        let mut before: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
        let mut after: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
        for _ in 0..3 {
            for (state, grace) in cases {
                put_in(&docker, &id, state).await;
                let started = Instant::now();
                docker
                    .restart_container(&id, Some(docker_restart.clone()))
                    .await
                    .unwrap();
                before.entry(state).or_default().push(started.elapsed());
                assert_eq!(
                    running_unpaused(&docker, &id).await,
                    (true, true),
                    "{state}"
                );

                put_in(&docker, &id, state).await;
                let started = Instant::now();
                platform.restart(&target, grace, timeout).await.unwrap();
                after.entry(state).or_default().push(started.elapsed());
                assert_eq!(
                    running_unpaused(&docker, &id).await,
                    (true, true),
                    "{state}"
                );
            }
        }
        for (state, grace) in cases {
            println!(
                "restart of a {state} container: Docker's restart (t=1) {:?}, \
                 Platform::restart (grace {grace:?}) {:?}",
                before[state], after[state]
            );
        }

        // A running container that ignores SIGTERM, stopped without a grace, then again.
        let started = Instant::now();
        platform
            .stop(&target, Duration::ZERO, timeout)
            .await
            .unwrap();
        println!(
            "stop (grace 0s) of a running container: {:?}",
            started.elapsed()
        );
        assert_eq!(running_unpaused(&docker, &id).await, (false, true));
        platform
            .stop(&target, Duration::ZERO, timeout)
            .await
            .unwrap();
        platform.stop(&target, GRACE, timeout).await.unwrap();
        assert_eq!(running_unpaused(&docker, &id).await, (false, true));
    })
    .await;
}

/// Leaves the running container `id` exited (SIGKILLed), running, or paused.
async fn put_in(docker: &Docker, id: &str, state: &str) {
    match state {
        "exited" => kill(docker, id).await,
        "paused" => docker.pause_container(id).await.unwrap(),
        _ => {}
    }
}

/// Whether the container runs, and whether it is not paused.
async fn running_unpaused(docker: &Docker, id: &str) -> (bool, bool) {
    let state = docker
        .inspect_container(id, None)
        .await
        .unwrap()
        .state
        .unwrap();
    (state.running.unwrap(), !state.paused.unwrap())
}

/// Runs `body` with a fixture and the test image built for it; the fixture removes everything
/// of the run afterwards, also when `body` panics.
async fn with_test_image<F>(body: impl FnOnce(Arc<Fixture>, String) -> F)
where
    F: std::future::Future<Output = ()>,
{
    Fixture::new("platform")
        .await
        .run(|f| async move {
            let image = f.build_tail().await;
            body(f, image).await;
        })
        .await;
}

async fn scenario(f: Arc<Fixture>, image: String) {
    let (docker, run) = (&f.docker, f.run.as_str());
    let platform = DockerPlatform::connect().await.unwrap();
    let scope = Scope {
        labels: BTreeMap::from([
            (TEST_LABEL.to_owned(), run.to_owned()),
            (SCOPE_LABEL.to_owned(), "in".to_owned()),
        ]),
    };
    let (tx, mut signals) = mpsc::unbounded_channel();
    let mut stream = platform.signals(&scope);
    let forward = tokio::spawn(async move {
        while let Some(signal) = stream.next().await {
            if tx.send(signal).is_err() {
                break;
            }
        }
    });

    let target = f.start("in", &image, &[(SCOPE_LABEL, "in")]).await;
    let outside = f.start("out", &image, &[]).await.id;
    let inside = target.id.clone();

    // The event stream subscribes when first polled: restart until one `start` shows it is live.
    let mut seen = Vec::new();
    for _ in 0..10 {
        platform
            .restart(&target, GRACE, Duration::from_secs(10))
            .await
            .unwrap();
        if let Ok(Some(signal)) = tokio::time::timeout(Duration::from_secs(3), signals.recv()).await
        {
            seen.push(signal.unwrap());
            break;
        }
    }
    assert!(!seen.is_empty(), "no signal from the event stream");
    // A restart of the running container may first report its `die`; skip to the `start`.
    while seen.last().map(|s| &s.kind) != Some(&SignalKind::Started) {
        seen.push(next(&mut signals).await);
    }

    // The published port is found by inspection, on loopback.
    let endpoint = platform.http_endpoint(&target, 8080).await.unwrap();
    assert_eq!(endpoint.ip(), Ipv4Addr::LOCALHOST);
    assert_ne!(endpoint.port(), 0);
    // A port it does not publish is reached at its own address on the default bridge.
    let unpublished = platform.http_endpoint(&target, 9999).await.unwrap();
    assert_eq!(unpublished.ip(), bridge_address(docker, &inside).await);
    assert_eq!(unpublished.port(), 9999);

    // Killing both: only the scoped one is reported, with its exit code.
    kill(docker, &outside).await;
    kill(docker, &inside).await;
    let died = next(&mut signals).await;
    assert_eq!(
        died.kind,
        SignalKind::Died {
            exit_code: Some(137)
        }
    );
    seen.push(died);
    // Exited, it has neither: the error says what was tried.
    let gone = platform.http_endpoint(&target, 8080).await.unwrap_err();
    assert!(
        matches!(&gone, PlatformError::Unreachable { port: 8080, tried, .. }
            if tried.contains("bridge (no address)")),
        "{gone}"
    );

    // `restart` revives an exited container.
    platform
        .restart(&target, GRACE, Duration::from_secs(10))
        .await
        .unwrap();
    let started = next(&mut signals).await;
    assert_eq!(started.kind, SignalKind::Started);
    seen.push(started);

    forward.abort();
    for signal in &seen {
        assert_eq!(
            signal.target.id, inside,
            "out-of-scope container reported: {signal:?}"
        );
        assert_eq!(signal.target.name, format!("{run}-in"));
        assert_eq!(
            signal.target.labels.get(SCOPE_LABEL).map(String::as_str),
            Some("in")
        );
        assert_eq!(
            signal.target.labels.get(TEST_LABEL).map(String::as_str),
            Some(run)
        );
    }
}

async fn next(signals: &mut mpsc::UnboundedReceiver<Result<Signal, PlatformError>>) -> Signal {
    tokio::time::timeout(Duration::from_secs(30), signals.recv())
        .await
        .expect("a signal within 30 s")
        .expect("the stream is open")
        .unwrap()
}

/// The container's address on the default bridge network.
async fn bridge_address(docker: &Docker, id: &str) -> IpAddr {
    let networks = docker
        .inspect_container(id, None)
        .await
        .unwrap()
        .network_settings
        .and_then(|settings| settings.networks)
        .unwrap();
    networks["bridge"]
        .ip_address
        .as_deref()
        .unwrap()
        .parse()
        .unwrap()
}

async fn kill(docker: &Docker, id: &str) {
    let options = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
    docker.kill_container(id, Some(options)).await.unwrap();
}
