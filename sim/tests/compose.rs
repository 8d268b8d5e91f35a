//! A compose project brought up through the Docker API for one trial, against the real engine:
//! a `sim-leaky` service `web` (2 replicas, a named volume) behind a `sim-haproxy` service `lb`
//! (its config bind-mounted, waiting for `web` to be healthy). Labels, loopback-only ports,
//! balancing over both replicas by the service's name, the trial's volume, and that nothing is
//! left afterwards; and the images of `build:` and missing local images.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;
use sim::compose::{
    BuiltInImage, ComposeError, ComposePlan, Condition, ProjectTrial, ServiceDependency,
    ServiceHealthcheck, ServiceImage, ServicePlan, VolumeMount, VolumeSource,
};
use sim::docker::{RunResources, TargetContainer};
use sim::runner::RunError;

use common::served;

const STARTUP: Duration = Duration::from_secs(30);

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compose")
}

/// A service of `image` with nothing else set: one replica, no ports.
fn service(name: &str, image: ServiceImage) -> ServicePlan {
    ServicePlan {
        name: name.to_owned(),
        image,
        missing_image: specfile::Problem {
            file: fixtures().join("compose.yaml"),
            line: 3,
            col: 12,
            field: format!("services.{name}.image"),
            message: "the image is not in the local engine".to_owned(),
            fix: Some("build it first".to_owned()),
        },
        environment: BTreeMap::new(),
        labels: BTreeMap::new(),
        entrypoint: None,
        command: None,
        healthcheck: None,
        depends_on: vec![],
        replicas: 1,
        memory_bytes: None,
        nano_cpus: None,
        ports: vec![],
        volumes: vec![],
        aliases: vec![],
    }
}

/// `web` (sim-leaky ×2, volume `data`, a HEALTHCHECK) and `lb` (sim-haproxy in front of it),
/// both labelled `team=shop`.
fn project() -> ComposePlan {
    let labels = BTreeMap::from([("team".to_owned(), "shop".to_owned())]);
    let web = ServicePlan {
        labels: labels.clone(),
        healthcheck: Some(ServiceHealthcheck {
            test: [
                "CMD",
                "/sim",
                "target",
                "probe",
                "http://127.0.0.1:8080/health",
            ]
            .map(str::to_owned)
            .to_vec(),
            interval: Duration::from_millis(500),
            timeout: Duration::from_secs(2),
            retries: 3,
            start_period: Duration::ZERO,
        }),
        replicas: 2,
        memory_bytes: Some(64 << 20),
        ports: vec![8080],
        volumes: vec![VolumeMount {
            source: VolumeSource::Named("data".to_owned()),
            target: "/data".to_owned(),
            read_only: false,
        }],
        aliases: vec!["app".to_owned()],
        ..service("web", ServiceImage::BuiltIn(BuiltInImage::Leaky))
    };
    let lb = ServicePlan {
        labels,
        command: Some(["-f", "/haproxy.cfg", "-db"].map(str::to_owned).to_vec()),
        depends_on: vec![ServiceDependency {
            service: "web".to_owned(),
            condition: Condition::Healthy,
        }],
        ports: vec![8080],
        volumes: vec![VolumeMount {
            source: VolumeSource::Bind(fixtures().join("haproxy.cfg")),
            target: "/haproxy.cfg".to_owned(),
            read_only: true,
        }],
        ..service("lb", ServiceImage::BuiltIn(BuiltInImage::Haproxy))
    };
    ComposePlan {
        file: fixtures().join("compose.yaml"),
        project: "simtest".to_owned(),
        services: vec![web, lb],
    }
}

fn sim_binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_sim"))
}

/// Runs `body` with a run's resources, then cleans up and checks that no container, network,
/// volume or run image is left; only then passes on a panic of `body`.
async fn with_run<F, Fut>(body: F)
where
    F: FnOnce(RunResources) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let run_id = common::run_id_for("cmp");
    let docker = sim::docker::connect().await.expect("a Docker engine");
    let resources = RunResources::create(docker, &run_id).await.unwrap();
    let outcome = tokio::spawn(body(resources.clone())).await;
    resources.cleanup().await.unwrap();
    assert_eq!(common::leftovers(&run_id).await, (0, 0), "objects left");
    assert_eq!(common::leftover_volumes(&run_id).await, 0, "volumes left");
    assert_eq!(common::leftover_images(&run_id).await, 0, "images left");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

/// Sends requests through `lb` until every container of `web` has served some (at most 20 s).
async fn every_replica_serves(lb: u16, web: &[TargetContainer]) {
    let client = reqwest::Client::new();
    let mut before = Vec::new();
    for replica in web {
        before.push(served(&client, replica.host_port).await);
    }
    for _ in 0..80 {
        for _ in 0..10 {
            let response = client
                .get(format!("http://127.0.0.1:{lb}/"))
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success(), "{}", response.status());
        }
        let mut all = true;
        for (replica, before) in web.iter().zip(&before) {
            all &= served(&client, replica.host_port).await > *before;
        }
        if all {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("requests through lb did not reach every web replica");
}

/// Checks container `c` of `service`: name, labels (sim's and the service's), aliases, ports on
/// 127.0.0.1 only.
async fn assert_container(
    docker: &Docker,
    resources: &RunResources,
    service: &str,
    c: &TargetContainer,
) {
    let run = resources.run_id();
    let inspect = docker.inspect_container(&c.id, None).await.unwrap();
    assert_eq!(
        inspect.name.as_deref(),
        Some(format!("/sim-{run}-t1-{}", c.name).as_str())
    );
    let labels = inspect.config.unwrap().labels.unwrap();
    for (key, value) in [
        ("com.docker.compose.project", "simtest"),
        ("com.docker.compose.service", service),
        ("sim.managed", "true"),
        ("sim.run", run),
        ("sim.trial", "1"),
        ("team", "shop"),
    ] {
        assert_eq!(
            labels.get(key).map(String::as_str),
            Some(value),
            "{key} of {}",
            c.name
        );
    }
    // This project has no target: every service is a companion, which the healer does not
    // probe (sim knows no health path of it, so none is guessed). The target's replicas carry
    // their health path.
    assert_eq!(
        labels.get("healer.health").map(String::as_str),
        Some("none"),
        "healer.health of {}",
        c.name
    );
    let settings = inspect.network_settings.unwrap();
    let network = &settings.networks.unwrap()[&format!("sim-{run}")];
    let aliases = network.aliases.clone().unwrap_or_default();
    assert!(
        aliases.contains(&service.to_owned()) && aliases.contains(&c.name),
        "{aliases:?}"
    );
    let bindings: Vec<_> = settings
        .ports
        .unwrap()
        .into_values()
        .flatten()
        .flatten()
        .collect();
    assert!(!bindings.is_empty(), "{} publishes nothing", c.name);
    for binding in bindings {
        assert_eq!(binding.host_ip.as_deref(), Some("127.0.0.1"), "{}", c.name);
    }
}

/// Containers of `run`'s trial 1.
async fn trial_containers(docker: &Docker, run: &str) -> usize {
    let filters = HashMap::from([(
        "label",
        vec![format!("sim.run={run}"), "sim.trial=1".to_owned()],
    )]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    docker.list_containers(Some(options)).await.unwrap().len()
}

#[tokio::test]
async fn a_project_comes_up_labelled_on_loopback_balanced_by_service_name_and_goes_with_its_trial()
{
    with_run(|resources| async move {
        let docker = resources.docker().clone();
        let project = project();
        let images = sim::compose::prepare_images(&resources, &project, sim_binary())
            .await
            .expect("the built-in images");
        let journal = journal::MemorySink::default();
        let trial = ProjectTrial {
            resources: &resources,
            project: &project,
            images: &images,
            trial: 1,
            startup_timeout: STARTUP,
            journal: &journal,
        };
        let no_target = || std::future::ready(Ok::<_, ComposeError>(vec![]));
        let services = sim::compose::up(&trial, None, no_target)
            .await
            .expect("the project comes up");

        let (web, lb) = (services.of("web"), services.of("lb"));
        assert_eq!((web.len(), lb.len()), (2, 1));
        assert_eq!(journal.events().len(), 3, "a target_started per container");
        // `lb` waited for `web` to be healthy.
        for replica in web {
            let status = resources.status(&replica.id).await.unwrap();
            assert_eq!(status.health.as_deref(), Some("healthy"));
            assert_container(&docker, &resources, "web", replica).await;
        }
        assert_container(&docker, &resources, "lb", &lb[0]).await;

        let url = format!("http://127.0.0.1:{}/health", lb[0].host_port);
        assert!(sim::prober::wait_until_healthy(&url, Duration::from_secs(1), STARTUP).await);
        every_replica_serves(lb[0].host_port, web).await;

        let volume = resources.volume_name(1, "data");
        let found = docker
            .inspect_volume(&volume)
            .await
            .expect("the trial's volume");
        assert_eq!(
            found.labels.get("sim.run").map(String::as_str),
            Some(resources.run_id())
        );
        // `sim gc` sees it (dry run: nothing removed, no other run touched).
        let report = sim::docker::collect_garbage(&docker, true, true, false)
            .await
            .unwrap();
        assert!(report.volumes.contains(&volume), "{:?}", report.volumes);

        resources.remove_trial(1).await.unwrap();
        assert_eq!(trial_containers(&docker, resources.run_id()).await, 0);
        assert!(
            docker.inspect_volume(&volume).await.is_err(),
            "the volume outlived its trial"
        );
    })
    .await;
}

#[tokio::test]
async fn build_services_are_built_for_the_run_and_missing_images_are_the_files_problem() {
    with_run(|resources| async move {
        let docker = resources.docker().clone();
        let build = |dockerfile: &str| {
            service(
                "app",
                ServiceImage::Build {
                    context: fixtures().join("build"),
                    dockerfile: dockerfile.to_owned(),
                    args: BTreeMap::from([("GREETING".to_owned(), "hi".to_owned())]),
                },
            )
        };
        let project = |service| ComposePlan {
            file: fixtures().join("compose.yaml"),
            project: format!("simtest{}", resources.run_id()),
            services: vec![service],
        };

        let built = project(build("Dockerfile"));
        let images = sim::compose::prepare_images(&resources, &built, sim_binary())
            .await
            .expect("the build");
        let tag = built.build_tag("app");
        assert_eq!(images.of("app"), tag);
        let image = docker.inspect_image(&tag).await.unwrap();
        let labels = image.config.unwrap().labels.unwrap();
        assert_eq!(labels.get("greeting").map(String::as_str), Some("hi"));
        assert_eq!(
            labels.get("sim.run").map(String::as_str),
            Some(resources.run_id())
        );
        // `sim gc` sees it as the run's (dry run: nothing removed, no other run touched).
        let report = sim::docker::collect_garbage(&docker, true, true, false)
            .await
            .unwrap();
        assert!(report.images.contains(&tag), "{:?}", report.images);

        // `.dockerignore` left secret.txt out of the context: Docker's message comes back.
        let error = sim::compose::prepare_images(
            &resources,
            &project(build("Dockerfile.secret")),
            sim_binary(),
        )
        .await
        .expect_err("secret.txt is not in the context");
        assert!(error.to_string().contains("secret.txt"), "{error}");
        assert_eq!(RunError::from(error).exit_code(), sim::exit::BAD_INPUT);

        let missing = project(service(
            "app",
            ServiceImage::Local("sim-no-such-image:0".to_owned()),
        ));
        let error = sim::compose::prepare_images(&resources, &missing, sim_binary())
            .await
            .expect_err("the image is missing");
        assert!(
            error.to_string().starts_with(&format!(
                "{}:3:12: services.app.image",
                fixtures().join("compose.yaml").display()
            )),
            "{error}"
        );
        assert_eq!(RunError::from(error).exit_code(), sim::exit::BAD_INPUT);
    })
    .await;
}

/// A project of `first`, then `after`, which waits for `first` to meet `condition`.
fn waiting_for(first: ServicePlan, condition: Condition) -> ComposePlan {
    let after = ServicePlan {
        depends_on: vec![ServiceDependency {
            service: first.name.clone(),
            condition,
        }],
        ..service("after", ServiceImage::BuiltIn(BuiltInImage::Leaky))
    };
    ComposePlan {
        file: fixtures().join("compose.yaml"),
        project: "simtest".to_owned(),
        services: vec![first, after],
    }
}

#[tokio::test]
async fn a_dependency_that_fails_its_condition_stops_the_project_naming_both_services() {
    with_run(|resources| async move {
        let leaky = || service("first", ServiceImage::BuiltIn(BuiltInImage::Leaky));
        // Its healthcheck asks a port nobody listens on: Docker marks it unhealthy.
        let unhealthy = ServicePlan {
            healthcheck: Some(ServiceHealthcheck {
                test: [
                    "CMD",
                    "/sim",
                    "target",
                    "probe",
                    "http://127.0.0.1:1/health",
                ]
                .map(str::to_owned)
                .to_vec(),
                interval: Duration::from_millis(200),
                timeout: Duration::from_secs(1),
                retries: 1,
                start_period: Duration::ZERO,
            }),
            ..leaky()
        };
        // It runs one failing probe instead of serving, and exits non-zero.
        let failing = ServicePlan {
            entrypoint: Some(
                ["/sim", "target", "probe", "http://127.0.0.1:1/health"]
                    .map(str::to_owned)
                    .to_vec(),
            ),
            ..leaky()
        };
        // Both projects' services are `first` and `after`, of the leaky image.
        let images = sim::compose::prepare_images(
            &resources,
            &waiting_for(leaky(), Condition::Started),
            sim_binary(),
        )
        .await
        .unwrap();
        for (first, condition, words) in [
            (unhealthy, Condition::Healthy, "first-0 is unhealthy"),
            (failing, Condition::CompletedSuccessfully, "not 0"),
        ] {
            let project = waiting_for(first, condition);
            let journal = journal::MemorySink::default();
            let trial = ProjectTrial {
                resources: &resources,
                project: &project,
                images: &images,
                trial: 1,
                startup_timeout: STARTUP,
                journal: &journal,
            };
            let no_target = || std::future::ready(Ok::<_, ComposeError>(vec![]));
            let error = sim::compose::up(&trial, None, no_target)
                .await
                .expect_err("the dependency fails");
            let message = error.to_string();
            assert!(
                message.starts_with("service after waits for first, but ")
                    && message.contains(words),
                "{message}"
            );
            assert_eq!(RunError::from(error).exit_code(), sim::exit::RUN_FAILED);
            resources.remove_trial(1).await.unwrap();
        }
    })
    .await;
}
