//! `DockerPlatform` against the real Docker engine: deaths with exit codes, restarts, published
//! ports, and scoping by label; restart and stop of exited, running and paused containers.
//!
//! Nothing can be pulled here, so the tests build their own image: `FROM scratch` with the
//! host's `tail` and the libraries `ldd` lists, running `tail -f /dev/null`. It does not OOM (the
//! `sim` crate owns the leaky image); it checks the signals the OOM path relies on: `die` with
//! its exit code, then `start` after `restart`. As PID 1 without a handler, `tail` ignores
//! SIGTERM, as a hung process would: a restart with a grace waits it out. Containers and the
//! image carry `sim.test=healer-<unique>` and are removed at the end, also when an assertion
//! fails.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::models::{
    ContainerCreateBody, HostConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateContainerOptionsBuilder, KillContainerOptionsBuilder,
    ListContainersOptionsBuilder, RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
    RestartContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::{FutureExt, StreamExt};
use healer::{DockerPlatform, Platform, PlatformError, Scope, Signal, SignalKind, TargetRef};
use tokio::sync::mpsc;
use tokio::time::Instant;

const TEST_LABEL: &str = "sim.test";
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
    with_test_image(|docker, run, image| async move {
        let platform = DockerPlatform::new(docker.clone());
        let id = create(&docker, &run, &image, "lifecycle", true).await;
        let target = TargetRef {
            id: id.clone(),
            name: format!("{run}-lifecycle"),
            labels: BTreeMap::new(),
        };
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

/// Runs `body` with a unique run id and the test image built for it, then removes everything
/// labelled with the run, also when `body` panics.
async fn with_test_image<F>(body: impl FnOnce(Docker, String, String) -> F)
where
    F: std::future::Future<Output = ()>,
{
    let docker = Docker::connect_with_local_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .expect("the Docker engine runs on this machine");
    let run = format!(
        "healer-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let image = format!("healer-test-tail:{run}");
    let outcome = AssertUnwindSafe(async {
        build_image(&docker, &run, &image).await;
        body(docker.clone(), run.clone(), image.clone()).await;
    })
    .catch_unwind()
    .await;
    cleanup(&docker, &run, &image).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn scenario(docker: Docker, run: String, image: String) {
    let (docker, run, image) = (&docker, run.as_str(), image.as_str());
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

    let inside = create(docker, run, image, "in", true).await;
    let outside = create(docker, run, image, "out", false).await;
    let target = TargetRef {
        id: inside.clone(),
        name: format!("{run}-in"),
        labels: BTreeMap::new(),
    };

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
    let unpublished = platform.http_endpoint(&target, 9999).await.unwrap_err();
    assert!(
        matches!(
            unpublished,
            PlatformError::PortNotPublished { port: 9999, .. }
        ),
        "{unpublished}"
    );

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

/// Builds a scratch image holding the host's `tail` and the libraries it needs.
async fn build_image(docker: &Docker, run: &str, image: &str) {
    let mut context = tar::Builder::new(Vec::new());
    let dockerfile = format!(
        "FROM scratch\nCOPY rootfs/ /\nLABEL {TEST_LABEL}={run}\nCMD [\"/usr/bin/tail\", \"-f\", \"/dev/null\"]\n"
    );
    append(&mut context, "Dockerfile", dockerfile.as_bytes(), 0o644);
    let ldd = std::process::Command::new("ldd")
        .arg("/usr/bin/tail")
        .output()
        .unwrap();
    assert!(ldd.status.success(), "ldd /usr/bin/tail failed");
    let libraries = String::from_utf8(ldd.stdout).unwrap();
    let files = libraries
        .lines()
        .filter_map(|line| line.split_whitespace().find(|word| word.starts_with('/')))
        .chain(["/usr/bin/tail"]);
    for file in files {
        let bytes = std::fs::read(file).unwrap();
        append(&mut context, &format!("rootfs{file}"), &bytes, 0o755);
    }
    let context = context.into_inner().unwrap();
    // No build cache: tests run side by side and remove their own images (see docker_heal.rs).
    let options = BuildImageOptionsBuilder::new()
        .t(image)
        .nocache(true)
        .rm(true)
        .build();
    let mut build = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    while let Some(step) = build.next().await {
        let step = step.expect("image builds");
        assert!(step.error_detail.is_none(), "image build failed: {step:?}");
    }
}

fn append(context: &mut tar::Builder<Vec<u8>>, path: &str, bytes: &[u8], mode: u32) {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(mode);
    header.set_cksum();
    context.append_data(&mut header, path, bytes).unwrap();
}

/// Creates and starts a container publishing 8080/tcp on a loopback port; `scoped` adds the
/// label the test's scope asks for.
async fn create(docker: &Docker, run: &str, image: &str, suffix: &str, scoped: bool) -> String {
    let mut labels = HashMap::from([(TEST_LABEL.to_owned(), run.to_owned())]);
    if scoped {
        labels.insert(SCOPE_LABEL.to_owned(), "in".to_owned());
    }
    let ports = HashMap::from([(
        "8080/tcp".to_owned(),
        Some(vec![PortBinding {
            host_ip: Some("127.0.0.1".to_owned()),
            host_port: Some(String::new()),
        }]),
    )]);
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        labels: Some(labels),
        exposed_ports: Some(vec!["8080/tcp".to_owned()]),
        host_config: Some(HostConfig {
            port_bindings: Some(ports),
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::NO),
                maximum_retry_count: None,
            }),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    let options = CreateContainerOptionsBuilder::new()
        .name(&format!("{run}-{suffix}"))
        .build();
    let id = docker
        .create_container(Some(options), body)
        .await
        .unwrap()
        .id;
    docker.start_container(&id, None).await.unwrap();
    id
}

async fn kill(docker: &Docker, id: &str) {
    let options = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
    docker.kill_container(id, Some(options)).await.unwrap();
}

/// Removes every container labelled for this run, then the image. Never panics: it runs after
/// a failed assertion too.
async fn cleanup(docker: &Docker, run: &str, image: &str) {
    let filters = HashMap::from([("label", vec![format!("{TEST_LABEL}={run}")])]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let containers = docker
        .list_containers(Some(options))
        .await
        .unwrap_or_default();
    for id in containers.into_iter().filter_map(|c| c.id) {
        let options = RemoveContainerOptionsBuilder::new().force(true).build();
        if let Err(error) = docker.remove_container(&id, Some(options)).await {
            eprintln!("cannot remove test container {id}: {error}");
        }
    }
    let options = RemoveImageOptionsBuilder::new().force(true).build();
    if let Err(error) = docker.remove_image(image, Some(options), None).await {
        eprintln!("cannot remove test image {image}: {error}");
    }
}
