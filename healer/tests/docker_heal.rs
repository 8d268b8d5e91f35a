//! The healer against the real Docker engine, with the shipped runbooks and the `leaky` target:
//! a hung target is found by the healer's own prober and restarted; a crash loop is restarted
//! until `max_actions`, then escalated exactly once; a new image that fails its health check is
//! rolled back to the previous one.
//!
//! Images: nothing can be pulled here, so each test builds scratch images holding
//! `target/debug/sim` (which serves `leaky` with `sim target leaky`) and the libraries `ldd`
//! lists for it, as `sim` itself does (`sim/src/docker/image.rs`). The healer crate cannot name
//! `sim`'s binary (`CARGO_BIN_EXE_sim` exists only in `sim`'s own tests), so the fixture runs
//! `cargo build -p sim` first (a no-op when it is fresh) and uses the binary in the shared
//! target directory. Everything created carries `sim.test=<unique run>` and is removed at the
//! end, also when an assertion fails.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::models::{
    ContainerCreateBody, HostConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateContainerOptionsBuilder, ListContainersOptionsBuilder,
    ListImagesOptionsBuilder, RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
    StartContainerOptions,
};
use bollard::Docker;
use futures_util::{FutureExt, StreamExt};
use healer::{
    DockerPlatform, Healer, Platform, Runbook, Scope, SourceSettings, TargetRef,
    PREVIOUS_IMAGE_LABEL,
};
use journal::{Event, Sink};
use tokio::sync::oneshot;

const TEST_LABEL: &str = "sim.test";

/// Keeps every event.
#[derive(Default)]
struct Collect(Mutex<Vec<Event>>);

impl Sink for Collect {
    fn record(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

impl Collect {
    fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }

    /// Waits (at most 90 s) until `count` events satisfy `pick`.
    async fn wait_for(&self, count: usize, pick: impl Fn(&Event) -> bool) {
        for _ in 0..900 {
            if self.events().iter().filter(|e| pick(e)).count() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out; events so far: {:#?}", self.events());
    }
}

/// One test's Docker resources, all labelled with its unique run id.
struct Fixture {
    docker: Docker,
    run: String,
}

impl Fixture {
    async fn new(name: &str) -> Fixture {
        let docker = Docker::connect_with_local_defaults()
            .unwrap()
            .negotiate_version()
            .await
            .expect("the Docker engine runs on this machine");
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Fixture {
            docker,
            run: format!("healer-{name}-{}-{nanos}", std::process::id()),
        }
    }

    /// Runs `body`, then removes everything labelled with the run, then re-raises a failure.
    async fn run<F: std::future::Future<Output = ()>>(self, body: impl FnOnce(Arc<Fixture>) -> F) {
        let fixture = Arc::new(self);
        let result = AssertUnwindSafe(body(Arc::clone(&fixture)))
            .catch_unwind()
            .await;
        fixture.cleanup().await;
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }

    fn scope(&self) -> Scope {
        Scope {
            labels: BTreeMap::from([(TEST_LABEL.to_owned(), self.run.clone())]),
        }
    }

    /// Builds a scratch image serving leaky; `env` is baked into the image (`ENV` lines).
    async fn build_leaky(&self, tag: &str, env: &[(&str, &str)]) -> String {
        let image = format!("healer-test-leaky:{}-{tag}", self.run);
        let program = sim_binary();
        let mut context = tar::Builder::new(Vec::new());
        let envs: String = env.iter().map(|(k, v)| format!("ENV {k}={v}\n")).collect();
        let dockerfile = format!(
            "FROM scratch\nCOPY rootfs/ /\nLABEL {TEST_LABEL}={run}\n{envs}\
             ENTRYPOINT [\"/sim\", \"target\", \"leaky\"]\n",
            run = self.run
        );
        append(&mut context, "Dockerfile", dockerfile.as_bytes(), 0o644);
        append(
            &mut context,
            "rootfs/sim",
            &std::fs::read(&program).unwrap(),
            0o755,
        );
        let ldd = std::process::Command::new("ldd")
            .arg(&program)
            .output()
            .unwrap();
        assert!(ldd.status.success(), "ldd {} failed", program.display());
        let libraries = String::from_utf8(ldd.stdout).unwrap();
        for file in libraries
            .lines()
            .filter_map(|line| line.split_whitespace().find(|word| word.starts_with('/')))
        {
            let bytes = std::fs::read(file).unwrap();
            append(&mut context, &format!("rootfs{file}"), &bytes, 0o755);
        }
        let context = context.into_inner().unwrap();
        let labels = HashMap::from([(TEST_LABEL, self.run.as_str())]);
        // No build cache: tests run side by side and each removes its own images, which would
        // pull a shared cached layer out from under another test's build.
        let options = BuildImageOptionsBuilder::new()
            .t(&image)
            .nocache(true)
            .rm(true)
            .forcerm(true)
            .labels(&labels)
            .build();
        let mut build =
            self.docker
                .build_image(options, None, Some(bollard::body_full(context.into())));
        while let Some(step) = build.next().await {
            let step = step.expect("image builds");
            assert!(step.error_detail.is_none(), "image build failed: {step:?}");
        }
        image
    }

    /// Creates and starts `name` from `image`, publishing 8080/tcp on a loopback port, with no
    /// restart policy (Docker must not heal it behind the healer's back).
    async fn start(&self, name: &str, image: &str, labels: &[(&str, &str)]) -> TargetRef {
        let mut all: HashMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        all.insert(TEST_LABEL.to_owned(), self.run.clone());
        all.insert("healer.port".to_owned(), "8080".to_owned());
        let container_name = format!("{}-{name}", self.run);
        let body = ContainerCreateBody {
            image: Some(image.to_owned()),
            labels: Some(all.clone()),
            exposed_ports: Some(vec!["8080/tcp".to_owned()]),
            host_config: Some(HostConfig {
                port_bindings: Some(HashMap::from([(
                    "8080/tcp".to_owned(),
                    Some(vec![PortBinding {
                        host_ip: Some(Ipv4Addr::LOCALHOST.to_string()),
                        host_port: Some(String::new()),
                    }]),
                )])),
                restart_policy: Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::NO),
                    maximum_retry_count: None,
                }),
                ..HostConfig::default()
            }),
            ..ContainerCreateBody::default()
        };
        let options = CreateContainerOptionsBuilder::new()
            .name(&container_name)
            .build();
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .unwrap();
        self.docker
            .start_container(&created.id, None::<StartContainerOptions>)
            .await
            .unwrap();
        TargetRef {
            id: created.id,
            name: container_name,
            labels: all.into_iter().collect(),
        }
    }

    /// Starts a healer with `runbooks` (shipped files) on the run's scope.
    fn healer(
        &self,
        runbooks: &[&str],
        platform: DockerPlatform,
    ) -> (Arc<Collect>, oneshot::Sender<()>) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
        let runbooks = runbooks
            .iter()
            .map(|name| Runbook::load(&dir.join(format!("{name}.yaml"))).unwrap())
            .collect();
        let sink = Arc::new(Collect::default());
        let sources = SourceSettings {
            probe_interval: Duration::from_millis(300),
            probe_timeout: Duration::from_millis(300),
            ..SourceSettings::default()
        };
        let healer = Healer::new(Arc::new(platform), runbooks, self.scope(), sink.clone())
            .with_sources(sources);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(healer.run(async {
            let _ = stopped.await;
        }));
        (sink, stop)
    }

    async fn cleanup(&self) {
        let filters = HashMap::from([(
            "label".to_owned(),
            vec![format!("{TEST_LABEL}={}", self.run)],
        )]);
        let list = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        for container in self
            .docker
            .list_containers(Some(list))
            .await
            .unwrap_or_default()
        {
            let Some(id) = container.id else { continue };
            let remove = RemoveContainerOptionsBuilder::new().force(true).build();
            let _ = self.docker.remove_container(&id, Some(remove)).await;
        }
        let images = ListImagesOptionsBuilder::new().filters(&filters).build();
        for image in self
            .docker
            .list_images(Some(images))
            .await
            .unwrap_or_default()
        {
            let remove = RemoveImageOptionsBuilder::new().force(true).build();
            let _ = self
                .docker
                .remove_image(&image.id, Some(remove), None)
                .await;
        }
    }
}

/// `target/debug/sim`, built first (cargo is a no-op when it is fresh).
fn sim_binary() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let built = std::process::Command::new(cargo)
        .args(["build", "-p", "sim", "--quiet"])
        .current_dir(&root)
        .status();
    // Where cargo puts it: `CARGO_TARGET_DIR` when set, else the workspace's `target/`.
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let program = target_dir.join("debug/sim");
    assert!(
        built.is_ok_and(|status| status.success()) || program.exists(),
        "cannot build the sim binary that serves leaky"
    );
    program
}

fn append(context: &mut tar::Builder<Vec<u8>>, path: &str, bytes: &[u8], mode: u32) {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(mode);
    header.set_cksum();
    context.append_data(&mut header, path, bytes).unwrap();
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
            let image = f.build_leaky("good", &[]).await;
            let platform = DockerPlatform::connect().await.unwrap();
            let target = f.start("leaky-0", &image, &[]).await;
            let url = ready(&platform, &target).await;
            let (sink, _stop) = f.healer(&["hang"], platform.clone());
            post(&format!("{url}/chaos/hang")).await;
            sink.wait_for(1, is("verified")).await;
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

#[tokio::test]
async fn a_crash_loop_is_restarted_up_to_its_limit_then_escalated_exactly_once() {
    Fixture::new("crash")
        .await
        .run(|f| async move {
            let image = f.build_leaky("good", &[]).await;
            let platform = DockerPlatform::connect().await.unwrap();
            let target = f.start("leaky-0", &image, &[]).await;
            let (sink, _stop) = f.healer(&["crash-loop"], platform.clone());
            // crash-loop.yaml: max_actions 3 per 5 min. Crash, let the healer restart, again.
            for restarts in 1..=3 {
                let url = ready(&platform, &target).await;
                post(&format!("{url}/chaos/crash")).await;
                sink.wait_for(restarts, is("verified")).await;
            }
            let url = ready(&platform, &target).await;
            post(&format!("{url}/chaos/crash")).await;
            sink.wait_for(1, is("escalated")).await;
            // Started by hand, crashing again: suppressed, not escalated a second time.
            f.docker
                .start_container(&target.id, None::<StartContainerOptions>)
                .await
                .unwrap();
            let url = ready(&platform, &target).await;
            post(&format!("{url}/chaos/crash")).await;
            sink.wait_for(1, |e| {
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
            let good = f.build_leaky("good", &[]).await;
            let bad = f.build_leaky("bad", &[("LEAKY_FAIL_HEALTH", "1")]).await;
            let platform = DockerPlatform::connect().await.unwrap();
            // The healer runs before the deploy, so it sees the new container start.
            let (sink, _stop) = f.healer(&["hang", "bad-deploy"], platform.clone());
            tokio::time::sleep(Duration::from_millis(500)).await;
            let deployed = f
                .start("leaky-0", &bad, &[(PREVIOUS_IMAGE_LABEL, good.as_str())])
                .await;
            sink.wait_for(1, is("verified")).await;
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
