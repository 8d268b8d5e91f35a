//! Helpers for tests that drive the real `sim` binary against the real Docker engine.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bollard::query_parameters::{ListContainersOptionsBuilder, ListNetworksOptionsBuilder};

/// The workspace root: the binary finds `scenarios/` and `healer/runbooks/` from there.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A `sim` command run from the workspace root.
pub fn sim() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sim"));
    command.current_dir(workspace()).env_remove("RUST_LOG");
    command
}

pub fn run(command: &mut Command) -> Output {
    command.output().expect("the sim binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The single run directory under `out` (`<out>/<name>/<stamp>-<id>/`) of `scenario`, a library
/// name or a file (a scenario is named after its file).
pub fn run_dir(out: &Path, scenario: &str) -> Option<PathBuf> {
    let name = Path::new(scenario).file_stem()?;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(out.join(name))
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    dirs.sort();
    dirs.pop()
}

/// The single comparison directory `<out>/<scenario>/compare-<stamp>/` of `sim compare`.
pub fn compare_dir(out: &Path, scenario: &str) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(out.join(scenario))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.into_iter().next().unwrap()
}

/// Runs `sim run <scenario> --trials N` into `out`, asserts it exited 0, and returns its stdout
/// and its run directory.
pub fn run_scenario(out: &Path, scenario: &str, trials: u32) -> (String, PathBuf) {
    let output = run(sim()
        .args(["run", scenario, "--trials", &trials.to_string(), "--out"])
        .arg(out));
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "sim run {scenario} failed\nstdout:\n{stdout}\nstderr:\n{}",
        text(&output.stderr)
    );
    let dir = run_dir(out, scenario).expect("a run directory");
    assert_observed_over_time(&dir);
    (stdout, dir)
}

/// Every trial of the run in `dir` journalled resources over time (at least 4 samples a second
/// per target) and load over time (at least one window a second), while it ran.
pub fn assert_observed_over_time(dir: &Path) {
    let journal = journal(dir);
    let trials: std::collections::BTreeSet<u64> =
        journal.iter().filter_map(|r| r["trial"].as_u64()).collect();
    assert!(!trials.is_empty(), "no trial in {}", dir.display());
    for trial in trials {
        let own: Vec<&serde_json::Value> = journal.iter().filter(|r| r["trial"] == trial).collect();
        let time = |event: &str| {
            own.iter()
                .find(|r| r["event"] == event)
                .and_then(|r| r["t_ms"].as_f64())
        };
        let (Some(ready), Some(end)) = (time("target_ready"), time("trial_ended")) else {
            panic!("trial {trial} has no target_ready or trial_ended");
        };
        let seconds = (end - ready) / 1000.0;
        let mut samples: HashMap<&str, usize> = HashMap::new();
        for r in own.iter().filter(|r| r["event"] == "resource_sample") {
            *samples.entry(r["target"].as_str().unwrap()).or_default() += 1;
        }
        let ready_targets: std::collections::BTreeSet<&str> = own
            .iter()
            .filter(|r| r["event"] == "target_ready")
            .filter_map(|r| r["target"].as_str())
            .collect();
        for target in ready_targets {
            let n = samples.get(target).copied().unwrap_or(0);
            assert!(
                n as f64 >= 4.0 * seconds,
                "trial {trial}: {n} resource samples of {target} in {seconds:.1}s"
            );
        }
        // Windows of at most a second, journalled while the load ran, covering all of it.
        let windows: Vec<(f64, f64)> = own
            .iter()
            .filter(|r| r["event"] == "load_window")
            .map(|r| {
                (
                    r["t_ms"].as_f64().unwrap(),
                    r["window_ms"].as_f64().unwrap(),
                )
            })
            .collect();
        let load_end = time("load").expect("a load record");
        let covered: f64 = windows.iter().map(|(_, w)| w).sum();
        assert!(
            windows.iter().all(|(_, w)| *w <= 1000.0),
            "trial {trial}: a load window longer than 1s"
        );
        assert!(
            windows
                .iter()
                .filter(|(t, _)| *t < load_end - 500.0)
                .count() as f64
                >= (load_end - ready) / 1000.0 - 2.0,
            "trial {trial}: load windows were not journalled while the load ran"
        );
        let first_start = windows.first().map_or(load_end, |(t, w)| t - w);
        assert!(
            covered >= 0.99 * (load_end - first_start),
            "trial {trial}: load windows cover {covered} ms of {} ms of load",
            load_end - first_start
        );
    }
}

/// `result.json` of a run directory.
pub fn result(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap()).unwrap()
}

/// Journal records as JSON values, in order.
pub fn journal(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// The run id from the run directory's name.
pub fn run_id(dir: &Path) -> String {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    name.rsplit('-').next().unwrap().to_owned()
}

/// Containers and networks Docker still holds for `run_id`.
pub async fn leftovers(run_id: &str) -> (usize, usize) {
    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    let filters = HashMap::from([("label", vec![format!("sim.run={run_id}")])]);
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap();
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .unwrap();
    (containers.len(), networks.len())
}

/// A trial with one outage, healed once, with an MTTR.
pub fn assert_one_outage_healed(trial: &serde_json::Value) {
    assert_eq!(trial["outage"], true, "{trial}");
    assert_eq!(trial["heals"], 1, "{trial}");
    assert!(trial["mttr_ms"].as_f64().unwrap() > 0.0, "{trial}");
}

/// Nothing the run in `dir` created is left in Docker.
pub async fn assert_nothing_left(dir: &Path) {
    assert_eq!(
        leftovers(&run_id(dir)).await,
        (0, 0),
        "the run left Docker objects"
    );
}

/// A run id for a test that creates Docker objects itself: its prefix, then five hex digits
/// that differ between runs, so parallel or repeated runs never share labels.
pub fn run_id_for(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{test}{:05x}", (nanos ^ std::process::id()) & 0xfffff)
}

/// The built-in target's image, built from the `sim` binary under test (once per content).
pub async fn leaky_image(docker: &bollard::Docker) -> String {
    sim::docker::ensure_host_program_image(
        docker,
        &sim::docker::HostProgramImage {
            repository: "sim-leaky".to_owned(),
            program: PathBuf::from(env!("CARGO_BIN_EXE_sim")),
            args: vec!["target".to_owned(), "leaky".to_owned()],
        },
    )
    .await
    .expect("the leaky image builds")
}

/// Runs `body` with a run's resources (a network, labels) named after `prefix`, in a task of its
/// own; then removes everything the run created, checks nothing is left, and only then passes
/// on a panic of `body`.
pub async fn with_run_resources<F, Fut>(prefix: &str, body: F)
where
    F: FnOnce(sim::docker::RunResources) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let run_id = run_id_for(prefix);
    let docker = sim::docker::connect().await.expect("a Docker engine");
    let resources = sim::docker::RunResources::create(docker, &run_id)
        .await
        .unwrap();
    let outcome = tokio::spawn(body(resources.clone())).await;
    resources.cleanup().await.unwrap();
    assert_eq!(
        leftovers(&run_id).await,
        (0, 0),
        "the test left Docker objects"
    );
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

/// Replica `leaky-0` of `image` in trial 1: port 8080, `/health`, 64MiB, no CPU limit.
pub fn leaky_spec(image: &str) -> sim::docker::TargetSpec {
    sim::docker::TargetSpec {
        name: "leaky-0".to_owned(),
        image: image.to_owned(),
        port: 8080,
        health_path: "/health".to_owned(),
        memory_bytes: Some(64 << 20),
        nano_cpus: None,
        env: vec![],
        trial: 1,
        restart: Default::default(),
        healthcheck: None,
        labels: vec![],
    }
}

/// Named volumes Docker still holds for `run_id`.
pub async fn leftover_volumes(run_id: &str) -> usize {
    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    let filters = HashMap::from([("label", vec![format!("sim.run={run_id}")])]);
    let options = bollard::query_parameters::ListVolumesOptionsBuilder::new()
        .filters(&filters)
        .build();
    let volumes = docker.list_volumes(Some(options)).await.unwrap().volumes;
    volumes.unwrap_or_default().len()
}

/// Images built for `run_id` that Docker still holds.
pub async fn leftover_images(run_id: &str) -> usize {
    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    let filters = HashMap::from([("label", vec![format!("sim.run={run_id}")])]);
    let options = bollard::query_parameters::ListImagesOptionsBuilder::new()
        .filters(&filters)
        .build();
    docker.list_images(Some(options)).await.unwrap().len()
}

/// Requests for `/` the leaky container at `host_port` answered, from its own `/metrics`.
pub async fn served(client: &reqwest::Client, host_port: u16) -> u64 {
    let text = client
        .get(format!("http://127.0.0.1:{host_port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|line| line.starts_with("leaky_http_requests_total{path=\"/\","))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Removes whatever Docker still holds for `run_id` (containers, volumes, networks, images), by
/// its label: a test's own sweep after a run it killed, whatever the product's cleanup did.
pub async fn remove_run(run_id: &str) {
    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    let filters = HashMap::from([("label", vec![format!("sim.run={run_id}")])]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    for container in docker.list_containers(Some(options)).await.unwrap() {
        let Some(id) = container.id else { continue };
        let options = bollard::query_parameters::RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        let _ = docker.remove_container(&id, Some(options)).await;
    }
    let options = bollard::query_parameters::ListVolumesOptionsBuilder::new()
        .filters(&filters)
        .build();
    let volumes = docker.list_volumes(Some(options)).await.unwrap().volumes;
    for volume in volumes.unwrap_or_default() {
        let _ = docker
            .remove_volume(
                &volume.name,
                None::<bollard::query_parameters::RemoveVolumeOptions>,
            )
            .await;
    }
    let options = ListNetworksOptionsBuilder::new().filters(&filters).build();
    for network in docker.list_networks(Some(options)).await.unwrap() {
        let Some(name) = network.name else { continue };
        let _ = docker.remove_network(&name).await;
    }
    let options = bollard::query_parameters::ListImagesOptionsBuilder::new()
        .filters(&filters)
        .build();
    for image in docker.list_images(Some(options)).await.unwrap() {
        let options = bollard::query_parameters::RemoveImageOptionsBuilder::new()
            .force(true)
            .build();
        let _ = docker.remove_image(&image.id, Some(options), None).await;
    }
}
