//! Docker-side faults against the real engine: `pause` freezes a labelled leaky replica until
//! it is cleared; `resource-squeeze` lowers its limits live and puts the recorded originals back;
//! a replica left paused is still removed by the run's cleanup; `crash-loop` makes every restart
//! fail until it is cleared; `bad-deploy` replaces the replica with a failing, labelled next
//! version that the healer's rollback undoes.

mod common;

use std::future::Future;
use std::time::Duration;

use sim::docker::{RunResources, TargetContainer, TargetSpec};
use sim::faults::kinds::{BadDeploy, CrashLoop, Pause, ResourceSqueeze};
use sim::faults::Injector;
use sim::scenario::{FaultKind, FaultPlan};

const MEMORY: i64 = 64 << 20;
const NANO_CPUS: i64 = 1_000_000_000;

/// Runs `body` with a fresh labelled run and one started leaky replica, then removes everything
/// of the run, whether `body` passed or panicked, and checks nothing is left.
async fn with_replica<F, Fut>(body: F)
where
    F: FnOnce(RunResources, TargetContainer) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_replica_env(Vec::new(), body).await;
}

/// As [`with_replica`], with `env` set on the replica.
async fn with_replica_env<F, Fut>(env: Vec<(String, String)>, body: F)
where
    F: FnOnce(RunResources, TargetContainer) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    common::with_run_resources("flt", |resources| async move {
        let image = common::leaky_image(resources.docker()).await;
        let replica = resources
            .start_target(&TargetSpec {
                memory_bytes: Some(MEMORY as u64),
                nano_cpus: Some(NANO_CPUS),
                env,
                ..common::leaky_spec(&image)
            })
            .await
            .expect("the replica starts");
        body(resources, replica).await;
    })
    .await;
}

/// Waits until container `id` has stopped and returns its exit code.
async fn exit_code(resources: &RunResources, id: &str) -> i64 {
    for _ in 0..200 {
        let state = resources
            .docker()
            .inspect_container(id, None)
            .await
            .unwrap()
            .state
            .unwrap();
        if state.running == Some(false) {
            return state.exit_code.unwrap_or(-1);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("container {id} did not stop");
}

fn fault(kind: FaultKind) -> FaultPlan {
    FaultPlan {
        at: Duration::ZERO,
        at_latest: None,
        duration: None,
        replica: Some(0),
        kind,
    }
}

fn health_url(replica: &TargetContainer) -> String {
    format!("http://127.0.0.1:{}/health", replica.host_port)
}

/// One health request with a short timeout: does the replica answer 2xx?
async fn answers(replica: &TargetContainer) -> bool {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    match client.get(health_url(replica)).send().await {
        Ok(response) => response.status().is_success(),
        Err(_) => false,
    }
}

async fn wait_healthy(replica: &TargetContainer) {
    let ready = sim::prober::wait_until_healthy(
        &health_url(replica),
        Duration::from_millis(500),
        Duration::from_secs(20),
    )
    .await;
    assert!(ready, "{} never became healthy", replica.name);
}

async fn host_limits(resources: &RunResources, id: &str) -> (i64, i64, i64) {
    let host = resources
        .docker()
        .inspect_container(id, None)
        .await
        .unwrap()
        .host_config
        .unwrap();
    (
        host.memory.unwrap_or(0),
        host.memory_swap.unwrap_or(0),
        host.nano_cpus.unwrap_or(0),
    )
}

async fn is_paused(resources: &RunResources, id: &str) -> bool {
    let state = resources
        .docker()
        .inspect_container(id, None)
        .await
        .unwrap()
        .state
        .unwrap();
    state.paused == Some(true)
}

#[tokio::test]
async fn pause_freezes_the_replica_until_it_is_cleared() {
    with_replica(|resources, replica| async move {
        wait_healthy(&replica).await;
        let injector = Injector::new(resources.docker().clone());
        let pause = fault(FaultKind::Pause(Pause));

        injector.inject(&pause, &replica).await.unwrap();
        assert!(is_paused(&resources, &replica.id).await);
        assert!(!answers(&replica).await, "a paused replica answered");

        injector.clear(&pause.kind, &replica).await.unwrap();
        assert!(!is_paused(&resources, &replica.id).await);
        wait_healthy(&replica).await;
        // Cleared twice (a window end after a restart ended the pause): nothing left to undo.
        injector.clear(&pause.kind, &replica).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_replica_left_paused_is_still_removed_by_cleanup() {
    // The Ctrl-C path: the fault is never cleared, the run's cleanup must still remove it
    // (`with_replica` asserts nothing of the run is left).
    with_replica(|resources, replica| async move {
        let injector = Injector::new(resources.docker().clone());
        injector
            .inject(&fault(FaultKind::Pause(Pause)), &replica)
            .await
            .unwrap();
        assert!(is_paused(&resources, &replica.id).await);
    })
    .await;
}

#[tokio::test]
async fn squeeze_lowers_the_limits_live_and_clear_restores_the_originals() {
    with_replica(|resources, replica| async move {
        wait_healthy(&replica).await;
        let injector = Injector::new(resources.docker().clone());
        let squeeze = fault(FaultKind::ResourceSqueeze(ResourceSqueeze {
            memory_bytes: Some(32 << 20),
            nano_cpus: Some(250_000_000),
        }));
        assert_eq!(
            host_limits(&resources, &replica.id).await,
            (MEMORY, MEMORY, NANO_CPUS)
        );

        injector.inject(&squeeze, &replica).await.unwrap();
        assert_eq!(
            host_limits(&resources, &replica.id).await,
            (32 << 20, 32 << 20, 250_000_000)
        );
        // Squeezed, not broken: the replica still serves.
        wait_healthy(&replica).await;

        injector.clear(&squeeze.kind, &replica).await.unwrap();
        assert_eq!(
            host_limits(&resources, &replica.id).await,
            (MEMORY, MEMORY, NANO_CPUS)
        );
    })
    .await;
}

#[tokio::test]
async fn a_memory_only_squeeze_leaves_the_cpu_limit_alone() {
    with_replica(|resources, replica| async move {
        let injector = Injector::new(resources.docker().clone());
        let squeeze = fault(FaultKind::ResourceSqueeze(ResourceSqueeze {
            memory_bytes: Some(48 << 20),
            nano_cpus: None,
        }));
        injector.inject(&squeeze, &replica).await.unwrap();
        assert_eq!(
            host_limits(&resources, &replica.id).await,
            (48 << 20, 48 << 20, NANO_CPUS)
        );
        injector.clear(&squeeze.kind, &replica).await.unwrap();
        assert_eq!(
            host_limits(&resources, &replica.id).await,
            (MEMORY, MEMORY, NANO_CPUS)
        );
    })
    .await;
}

#[tokio::test]
async fn crash_loop_makes_restarts_fail_until_it_is_cleared() {
    let env = vec![(
        leaky::CRASH_ON_START_VAR.to_owned(),
        sim::faults::CRASH_LOOP_MARKER.to_owned(),
    )];
    with_replica_env(env, |resources, replica| async move {
        wait_healthy(&replica).await;
        let injector = Injector::new(resources.docker().clone());
        let crash_loop = fault(FaultKind::CrashLoop(CrashLoop));
        let docker = resources.docker();

        injector.inject(&crash_loop, &replica).await.unwrap();
        assert_eq!(exit_code(&resources, &replica.id).await, 1, "the crash");
        for _ in 0..2 {
            docker.start_container(&replica.id, None).await.unwrap();
            // 2: leaky's "bad input" exit, for the marker it refuses to start with.
            assert_eq!(exit_code(&resources, &replica.id).await, 2, "a restart");
        }

        injector.clear(&crash_loop.kind, &replica).await.unwrap();
        docker.start_container(&replica.id, None).await.unwrap();
        wait_healthy(&replica).await;
    })
    .await;
}

/// The status `/health` answers with on `replica`'s host port, once it answers at all.
async fn health_status(replica: &TargetContainer) -> u16 {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    for _ in 0..100 {
        if let Ok(response) = client.get(health_url(replica)).send().await {
            return response.status().as_u16();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} never answered", replica.name);
}

#[tokio::test]
async fn a_bad_deploy_replaces_the_replica_with_a_failing_version_that_rolls_back() {
    with_replica(|resources, replica| async move {
        wait_healthy(&replica).await;
        let docker = resources.docker();
        let name = format!("sim-{}-t1-leaky-0", resources.run_id());
        let before = docker.inspect_container(&name, None).await.unwrap();
        let old_image = before.config.unwrap().image.unwrap();

        Injector::new(docker.clone())
            .inject(&fault(FaultKind::BadDeploy(BadDeploy)), &replica)
            .await
            .unwrap();
        let deployed = docker.inspect_container(&name, None).await.unwrap();
        assert_ne!(
            deployed.id.as_deref(),
            Some(replica.id.as_str()),
            "a new container"
        );
        let config = deployed.config.unwrap();
        let new_image = config.image.unwrap();
        assert_ne!(new_image, old_image);
        let labels = config.labels.unwrap();
        assert_eq!(labels[healer::PREVIOUS_IMAGE_LABEL], old_image);
        for label in ["sim.managed", "sim.run", "sim.trial", "sim.target"] {
            assert!(labels.contains_key(label), "{label} lost: {labels:?}");
        }
        let aliases = deployed.network_settings.unwrap().networks.unwrap()
            [&format!("sim-{}", resources.run_id())]
            .aliases
            .clone()
            .unwrap_or_default();
        assert!(aliases.contains(&"leaky-0".to_owned()), "{aliases:?}");
        let (memory, _, cpus) = host_limits(&resources, &name).await;
        assert_eq!((memory, cpus), (MEMORY, NANO_CPUS));
        // Same host port, now failing its health check.
        assert_eq!(health_status(&replica).await, 503);

        // The healer's rollback reads the label and brings the old image back.
        use healer::Platform;
        let platform = healer::DockerPlatform::new(docker.clone());
        let target = healer::TargetRef {
            id: deployed.id.unwrap(),
            name: replica.name.clone(),
            labels: Default::default(),
        };
        platform
            .rollback(&target, Duration::from_secs(30))
            .await
            .unwrap();
        wait_healthy(&replica).await;
        let rolled_back = docker.inspect_container(&name, None).await.unwrap();
        assert_eq!(rolled_back.config.unwrap().image.unwrap(), old_image);

        // Twice replaced, it is still the replica faults reach.
        let injector = Injector::new(docker.clone());
        let pause = fault(FaultKind::Pause(Pause));
        injector.inject(&pause, &replica).await.unwrap();
        assert!(is_paused(&resources, &name).await);
        injector.clear(&pause.kind, &replica).await.unwrap();
        assert!(!is_paused(&resources, &name).await);
    })
    .await;
}
