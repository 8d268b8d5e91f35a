//! A real Docker Swarm of dockerd processes in namespaces of this machine (needs root): formed,
//! given an image without a registry, running a replicated dnsrr service, then removed without a
//! trace; and removed by the gc after the process holding it was SIGKILLed.

use std::collections::{BTreeSet, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use bollard::models::{
    EndpointSpec, EndpointSpecModeEnum, NetworkAttachmentConfig, NetworkCreateRequest, NodeState,
    Reachability, ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated, TaskSpec,
    TaskSpecContainerSpec, TaskSpecPlacement, TaskState,
};
use bollard::query_parameters::ListTasksOptionsBuilder;
use bollard::Docker;
use sim::docker::HostProgramImage;
use sim::swarm::{Cluster, ClusterOptions, ClusterState};
use tokio::time::{sleep, Duration, Instant};

/// Set in the child process of the gc test: the run id of the cluster it forms and holds.
const HOLD: &str = "SIM_SWARM_TEST_HOLD";
/// The child's base directory and image.
const HOLD_BASE: &str = "SIM_SWARM_TEST_BASE";
const HOLD_IMAGE: &str = "SIM_SWARM_TEST_IMAGE";
/// The line the child prints once its cluster runs a task.
const FORMED: &str = "sim-swarm-test: cluster formed";
/// The gc test's clusters live apart, so a `sim gc` of another test cannot take them first.
const GC_TEST_BASE: &str = "/run/sim-swarm-tests";

fn logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("sim=info")
        .with_test_writer()
        .try_init();
}

/// The built-in target's image on the host's engine (built from the `sim` binary, cached).
async fn leaky_image(host: &Docker) -> String {
    let program = PathBuf::from(env!("CARGO_BIN_EXE_sim"));
    sim::docker::ensure_host_program_image(host, &HostProgramImage::leaky(program))
        .await
        .expect("the sim-leaky image builds")
}

fn run_id(tag: &str) -> String {
    format!("t{tag}{}", std::process::id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_cluster_runs_a_dnsrr_service_and_leaves_nothing_behind() {
    logging();
    let host = sim::docker::connect()
        .await
        .expect("the host's engine answers");
    let image = leaky_image(&host).await;

    let started = Instant::now();
    let cluster = Cluster::form(&ClusterOptions::new(&run_id("f")))
        .await
        .expect("a 3-node cluster forms");
    let formed = started.elapsed();
    let record = cluster.record().clone();
    let leader = cluster.docker(0).expect("node 1's client");

    let nodes = leader.list_nodes(None).await.unwrap();
    assert_eq!(nodes.len(), 3, "{nodes:#?}");
    for node in &nodes {
        assert_eq!(
            node.status.as_ref().and_then(|s| s.state),
            Some(NodeState::READY)
        );
        let manager = node
            .manager_status
            .as_ref()
            .expect("every node is a manager");
        assert_eq!(manager.reachability, Some(Reachability::REACHABLE));
    }
    let hostnames: BTreeSet<String> = nodes
        .iter()
        .filter_map(|n| n.description.as_ref()?.hostname.clone())
        .collect();
    let names: BTreeSet<String> = record.nodes.iter().map(|n| n.name.clone()).collect();
    assert_eq!(hostnames, names, "each node is its own host");

    let id = cluster.load_image(&host, &image).await.unwrap();
    assert_eq!(id, host.inspect_image(&image).await.unwrap().id.unwrap());
    let loaded = started.elapsed();
    let on = run_service(leader, &image, 3).await;
    assert_eq!(on.len(), 3, "one task on each node: {on:?}");
    for k in 0..3 {
        let containers = cluster
            .docker(k)
            .unwrap()
            .list_containers(None)
            .await
            .unwrap();
        assert_eq!(
            containers.len(),
            1,
            "node {k} runs its task: {containers:#?}"
        );
    }
    let serving = started.elapsed();

    let stopping = Instant::now();
    cluster.shutdown().await.expect("the cluster is removed");
    let removed = stopping.elapsed();
    assert_gone(&record);
    eprintln!(
        "3-node cluster: formed in {formed:.2?}, image on every node at {loaded:.2?}, \
         3 tasks running at {serving:.2?}; removed in {removed:.2?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_removes_the_cluster_of_a_killed_process() {
    logging();
    if let Ok(run) = std::env::var(HOLD) {
        return hold(&run).await;
    }
    let host = sim::docker::connect()
        .await
        .expect("the host's engine answers");
    let image = leaky_image(&host).await;
    let run = run_id("g");
    let base = Path::new(GC_TEST_BASE);
    let mut holder = Holder::spawn(&run, base, &image);
    holder.wait_formed();
    let record = ClusterState::read(&base.join(&run)).expect("the holder recorded its cluster");
    holder.kill();
    assert!(
        record
            .nodes
            .iter()
            .all(|n| n.init.is_some_and(|p| p.alive())),
        "the nodes outlive the killed holder: {record:#?}"
    );

    let dry = tokio::task::spawn_blocking(|| sim::swarm::collect_garbage(base, true, false));
    let dry = dry.await.unwrap();
    assert_eq!(dry.clusters, vec![run.clone()], "{dry:?}");
    assert!(
        record
            .nodes
            .iter()
            .all(|n| n.init.is_some_and(|p| p.alive())),
        "dry run kills nothing"
    );

    let started = Instant::now();
    let report = tokio::task::spawn_blocking(|| sim::swarm::collect_garbage(base, false, false));
    let report = report.await.unwrap();
    let collected = started.elapsed();
    assert_eq!(report.clusters, vec![run.clone()], "{report:?}");
    assert!(report.cluster_problems.is_empty(), "{report:?}");
    assert_gone(&record);
    eprintln!("gc removed the killed holder's 2-node cluster in {collected:.2?}");
}

#[tokio::test]
async fn a_cluster_that_fails_half_way_removes_what_it_made() {
    logging();
    let run = run_id("h");
    let base = PathBuf::from(sim::swarm::DEFAULT_BASE);
    // Node 2's namespace taken already: the hub and node 1 exist when forming fails.
    let taken = format!("sim-{run}-n2");
    let added = Command::new("ip").args(["netns", "add", &taken]).status();
    assert!(added.unwrap().success());
    let error = Cluster::form(&ClusterOptions::new(&run)).await.err();
    let message = error.map(|e| e.to_string()).unwrap_or_default();
    if !message.contains("File exists") {
        let _ = Command::new("ip")
            .args(["netns", "delete", &taken])
            .status();
        panic!("forming should fail on the taken namespace, got {message:?}");
    }
    assert!(
        message.contains(&format!("ip netns add {taken}")),
        "{message}"
    );
    assert_no_trace(&run, &base.join(&run));
}

/// The child's part: forms a 2-node cluster running one task, says so, and waits to be killed.
async fn hold(run: &str) {
    let host = sim::docker::connect().await.unwrap();
    let mut options = ClusterOptions::new(run);
    options.nodes = 2;
    options.base = PathBuf::from(std::env::var(HOLD_BASE).unwrap());
    let cluster = Cluster::form(&options).await.unwrap();
    let image = std::env::var(HOLD_IMAGE).unwrap();
    cluster.load_image(&host, &image).await.unwrap();
    run_service(cluster.docker(0).unwrap(), &image, 1).await;
    println!("{FORMED}");
    std::future::pending::<()>().await;
}

/// The child process holding a cluster; killed, and its cluster removed, whatever the test did.
struct Holder {
    child: Child,
    base: PathBuf,
    dir: PathBuf,
}

impl Holder {
    fn spawn(run: &str, base: &Path, image: &str) -> Self {
        let child = Command::new(std::env::current_exe().unwrap())
            .args([
                "gc_removes_the_cluster_of_a_killed_process",
                "--exact",
                "--nocapture",
            ])
            .env(HOLD, run)
            .env(HOLD_BASE, base)
            .env(HOLD_IMAGE, image)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the test binary runs");
        Holder {
            child,
            base: base.to_owned(),
            dir: base.join(run),
        }
    }

    /// Reads the child's output until it says its cluster runs.
    fn wait_formed(&mut self) {
        let stdout = self.child.stdout.take().unwrap();
        let formed = std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line == FORMED);
        assert!(formed, "the holder ended before its cluster formed");
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        self.kill();
        if let Ok(record) = ClusterState::read(&self.dir) {
            if let Err(e) = sim::swarm::remove(&record) {
                eprintln!("cleanup: {e}");
            }
        }
        // Only when empty: another run's cluster may be there.
        let _ = std::fs::remove_dir(&self.base);
    }
}

/// Runs `replicas` tasks of `image` as a dnsrr service on an overlay network, one per node at
/// most, and returns the nodes they run on once all run.
async fn run_service(leader: &Docker, image: &str, replicas: i64) -> BTreeSet<String> {
    let network = NetworkCreateRequest {
        name: "probe".to_owned(),
        driver: Some("overlay".to_owned()),
        ..Default::default()
    };
    leader.create_network(network).await.unwrap();
    let spec = ServiceSpec {
        name: Some("web".to_owned()),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated {
                replicas: Some(replicas),
            }),
            ..Default::default()
        }),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(image.to_owned()),
                env: Some(vec!["LEAKY_PORT=8080".to_owned()]),
                ..Default::default()
            }),
            placement: Some(TaskSpecPlacement {
                max_replicas: Some(1),
                ..Default::default()
            }),
            networks: Some(vec![NetworkAttachmentConfig {
                target: Some("probe".to_owned()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        endpoint_spec: Some(EndpointSpec {
            mode: Some(EndpointSpecModeEnum::DNSRR),
            ..Default::default()
        }),
        ..Default::default()
    };
    leader.create_service(spec, None).await.unwrap();
    let filters = HashMap::from([("service".to_owned(), vec!["web".to_owned()])]);
    let started = Instant::now();
    loop {
        let options = ListTasksOptionsBuilder::new().filters(&filters).build();
        let tasks = leader.list_tasks(Some(options)).await.unwrap();
        let running: BTreeSet<String> = tasks
            .iter()
            .filter(|t| t.status.as_ref().and_then(|s| s.state) == Some(TaskState::RUNNING))
            .filter_map(|t| t.node_id.clone())
            .collect();
        if running.len() == replicas as usize {
            return running;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the service's tasks never all ran: {tasks:#?}"
        );
        sleep(Duration::from_millis(100)).await;
    }
}

/// Nothing of the cluster remains: namespace, link, process, mount, cgroup or directory.
fn assert_gone(record: &ClusterState) {
    for node in &record.nodes {
        for process in node.launcher.iter().chain(&node.init) {
            assert!(!process.alive(), "{} still runs {process:?}", node.name);
        }
    }
    assert_no_trace(&record.run_id, &record.dir);
}

/// No namespace, link or cgroup named `sim-<run>-…`, and no process, mount or file under `dir`.
fn assert_no_trace(run: &str, dir: &Path) {
    let prefix = format!("sim-{run}-");
    let netns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let netns = String::from_utf8_lossy(&netns.stdout);
    assert!(!netns.contains(&prefix), "namespaces remain:\n{netns}");
    let links = Command::new("ip").args(["-o", "link"]).output().unwrap();
    let links = String::from_utf8_lossy(&links.stdout);
    assert!(!links.contains(&prefix), "links remain:\n{links}");

    let dir_text = dir.to_string_lossy().into_owned();
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let path = entry.path();
        let cmdline = std::fs::read(path.join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        assert!(!cmdline.contains(&dir_text), "a process remains: {cmdline}");
        let mounts = std::fs::read_to_string(path.join("mountinfo")).unwrap_or_default();
        assert!(
            !mounts.contains(&dir_text),
            "{} still mounts under {dir_text}",
            path.display()
        );
    }
    for hierarchy in std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .filter_map(Result::ok)
    {
        for group in std::fs::read_dir(hierarchy.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = group.file_name().to_string_lossy().into_owned();
            assert!(
                !name.starts_with(&prefix),
                "cgroup {} remains",
                group.path().display()
            );
        }
    }
    assert!(!dir.exists(), "{dir_text} remains");
}
