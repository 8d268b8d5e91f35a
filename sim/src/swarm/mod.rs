//! A real multi-node Docker Swarm on this machine, brought up and taken down by sim itself.
//!
//! [`Cluster::form`] makes a hub network namespace with a bridge (`net`), per node a network
//! namespace on a private /24 and a dockerd in namespaces of its own (`node`), then swarm mode
//! with every node a manager (`form`). [`Cluster::load_image`] copies a host image onto every
//! node, no registry involved (`images`). [`Cluster::shutdown`] (or `Drop`, or a failure
//! half-way through forming) removes it all (`teardown`): daemons, their containers, namespaces,
//! links, cgroups and directories. What a cluster creates is recorded before it is created, in
//! `<base>/<run>/state.json` (`state`), with names `sim-<run>-…`; `sim gc` removes the clusters
//! of processes that are gone (`gc`). Needs root.

mod form;
mod front;
mod gc;
mod images;
mod net;
mod node;
pub mod service;
mod state;
mod teardown;

use std::path::{Path, PathBuf};

use bollard::Docker;
use tokio::process::Child;
use tokio::time::{Duration, Instant};

pub use front::Front;
pub use gc::{collect_garbage, ClusterGcReport};
pub use state::{ClusterState, NodeRecord, Process, DEFAULT_BASE};
pub use teardown::remove;

/// Forming, using or removing a cluster failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SwarmError {
    #[error("cannot form a cluster: {detail}")]
    Options { detail: String },
    #[error(
        "forming a cluster needs root (network namespaces, mounts, dockerd); this process runs \
         as uid {uid}.\n  fix: run as root (`sudo`)"
    )]
    NotRoot { uid: String },
    #[error("{program} is not installed.\n  fix: sudo apt-get install {package}")]
    Missing {
        program: &'static str,
        package: &'static str,
    },
    #[error("no free 10.213.<n>.0/24 subnet: every one overlaps a host route or another cluster")]
    NoSubnet,
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },
    #[error("{path}: {source}", path = path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cluster record {path}: {detail}", path = path.display())]
    Record { path: PathBuf, detail: String },
    #[error("dockerd of {node} did not start: {detail}")]
    Daemon { node: String, detail: String },
    #[error("{node}: docker {step}: {source}")]
    Docker {
        node: String,
        step: &'static str,
        source: bollard::errors::Error,
    },
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout { what: String, after: Duration },
    #[error("image {image} on {node}: {detail}")]
    Image {
        image: String,
        node: String,
        detail: String,
    },
    #[error("cluster {run_id} is not fully removed (`sim gc` retries): {}", problems.join("; "))]
    Teardown {
        run_id: String,
        problems: Vec<String>,
    },
}

/// What cluster to form.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The run the cluster belongs to: lowercase letters, digits and `-`, at most 16.
    pub run_id: String,
    /// How many nodes, every one a manager (default 3).
    pub nodes: usize,
    /// Where the cluster's directory goes (default [`DEFAULT_BASE`], where `sim gc` looks).
    pub base: PathBuf,
}

impl ClusterOptions {
    pub fn new(run_id: &str) -> Self {
        ClusterOptions {
            run_id: run_id.to_owned(),
            nodes: 3,
            base: PathBuf::from(DEFAULT_BASE),
        }
    }
}

/// A running cluster; removed by [`Cluster::shutdown`], or by `Drop` when it was not.
pub struct Cluster {
    state: ClusterState,
    /// Each node's client, in node order (empty until every daemon answers).
    dockers: Vec<Docker>,
    /// Each node's launcher, waited for at shutdown so none is left a zombie.
    launchers: Vec<Child>,
    removed: bool,
}

impl Cluster {
    /// Forms the cluster; whatever was made of it is removed again when that fails.
    pub async fn form(options: &ClusterOptions) -> Result<Cluster, SwarmError> {
        let started = Instant::now();
        preflight(options)?;
        let owner = Process::current().ok_or_else(|| SwarmError::Options {
            detail: "cannot read this process's /proc/self/stat".to_owned(),
        })?;
        let third = net::free_subnet(&options.base).await?;
        let run = options.run_id.as_str();
        let dir = options.base.join(run);
        let nodes = (1..=options.nodes)
            .map(|k| NodeRecord {
                name: format!("sim-{run}-n{k}"),
                address: net::node_address(third, k),
                dir: dir.join(format!("n{k}")),
                socket: dir.join(format!("n{k}")).join("docker.sock"),
                launcher: None,
                init: None,
            })
            .collect();
        let state = ClusterState {
            run_id: run.to_owned(),
            owner,
            dir,
            hub: format!("sim-{run}-hub"),
            subnet: format!("10.213.{third}.0/24"),
            host_link: Some(net::host_link(third)),
            nodes,
        };
        create_dir(&options.base, &state.dir)?;
        state.write()?;
        let mut cluster = Cluster {
            state,
            dockers: vec![],
            launchers: vec![],
            removed: false,
        };
        if let Err(e) = cluster.bring_up().await {
            tracing::warn!(run, "forming the cluster failed, removing it: {e}");
            if let Err(teardown) = cluster.remove_now().await {
                tracing::error!(run, "{teardown}");
            }
            return Err(e);
        }
        tracing::info!(
            run,
            nodes = options.nodes,
            elapsed_ms = form::ms(started),
            "cluster formed"
        );
        Ok(cluster)
    }

    async fn bring_up(&mut self) -> Result<(), SwarmError> {
        let started = Instant::now();
        net::create(&self.state).await?;
        tracing::info!(subnet = %self.state.subnet, elapsed_ms = form::ms(started), "network namespaces ready");
        for k in 0..self.state.nodes.len() {
            let child = node::spawn(&mut self.state.nodes[k]).await;
            self.state.write()?;
            self.launchers.push(child?);
            node::find_init(&mut self.state.nodes[k], &mut self.launchers[k]).await?;
            self.state.write()?;
        }
        let waits = self
            .state
            .nodes
            .iter()
            .zip(self.launchers.iter_mut())
            .map(|(record, child)| node::wait_api(record, child));
        self.dockers = futures_util::future::try_join_all(waits).await?;
        form::form(&self.pairs()).await
    }

    fn pairs(&self) -> Vec<(NodeRecord, Docker)> {
        self.state
            .nodes
            .iter()
            .cloned()
            .zip(self.dockers.iter().cloned())
            .collect()
    }

    /// What the cluster created: node names, addresses, sockets, processes, directories.
    pub fn record(&self) -> &ClusterState {
        &self.state
    }

    /// The client of node `k` (from 0), over its own socket.
    pub fn docker(&self, k: usize) -> Option<&Docker> {
        self.dockers.get(k)
    }

    /// Every node's client, in node order.
    pub fn dockers(&self) -> &[Docker] {
        &self.dockers
    }

    /// Crashes node `k` (from 0): SIGKILL to its PID namespace's PID 1, which takes its dockerd,
    /// containerd, shims and containers with it; its network namespace and address stay, so
    /// connections to it are refused rather than lost. Returns the pid killed.
    pub async fn crash_node(&self, k: usize) -> Result<u32, SwarmError> {
        let node = self.node(k)?;
        let init = node.init.ok_or_else(|| SwarmError::Options {
            detail: format!("{} has no recorded PID 1", node.name),
        })?;
        let killed = tokio::task::spawn_blocking(move || teardown::signal_and_wait(&[init]))
            .await
            .map_err(|e| e.to_string())
            .and_then(|killed| killed);
        killed.map_err(|detail| SwarmError::Command {
            command: format!("kill -KILL {} (PID 1 of {})", init.pid, node.name),
            detail,
        })?;
        Ok(init.pid)
    }

    /// Cuts node `k` off from the other nodes and this host: its link to the bridge goes down.
    pub async fn partition_node(&self, k: usize) -> Result<(), SwarmError> {
        self.node(k)?;
        net::set_node_link(&self.state, k, false).await
    }

    /// Mends a partition of node `k`: its link to the bridge goes up again.
    pub async fn mend_node(&self, k: usize) -> Result<(), SwarmError> {
        self.node(k)?;
        net::set_node_link(&self.state, k, true).await
    }

    /// Starts node `k` again after a crash, and waits until every node is a Ready manager.
    pub async fn restart_node(&mut self, k: usize) -> Result<(), SwarmError> {
        let started = Instant::now();
        self.node(k)?;
        if let Some(old) = self.launchers.get_mut(k) {
            let _ = tokio::time::timeout(Duration::from_secs(5), old.wait()).await;
        }
        let child = node::spawn(&mut self.state.nodes[k]).await;
        self.state.write()?;
        self.launchers[k] = child?;
        node::find_init(&mut self.state.nodes[k], &mut self.launchers[k]).await?;
        self.state.write()?;
        self.dockers[k] = node::wait_api(&self.state.nodes[k], &mut self.launchers[k]).await?;
        form::wait_ready(&self.state.nodes[0], &self.dockers[0], self.dockers.len()).await?;
        tracing::info!(node = %self.state.nodes[k].name, elapsed_ms = form::ms(started), "node restarted");
        Ok(())
    }

    fn node(&self, k: usize) -> Result<NodeRecord, SwarmError> {
        let formed = k < self.dockers.len() && k < self.launchers.len();
        match self.state.nodes.get(k) {
            Some(node) if formed => Ok(node.clone()),
            _ => Err(SwarmError::Options {
                detail: format!("the cluster has no node {}", k + 1),
            }),
        }
    }

    /// Copies `image` (a tag or id of the `host` engine) to every node; returns its id.
    pub async fn load_image(&self, host: &Docker, image: &str) -> Result<String, SwarmError> {
        images::load(host, &self.pairs(), image).await
    }

    /// Removes everything the cluster created.
    pub async fn shutdown(mut self) -> Result<(), SwarmError> {
        let started = Instant::now();
        let removed = self.remove_now().await;
        tracing::info!(run = %self.state.run_id, elapsed_ms = form::ms(started), "cluster removed");
        removed
    }

    async fn remove_now(&mut self) -> Result<(), SwarmError> {
        self.removed = true;
        self.dockers.clear();
        let state = self.state.clone();
        let removed = tokio::task::spawn_blocking(move || teardown::remove(&state))
            .await
            .unwrap_or_else(|e| {
                Err(SwarmError::Teardown {
                    run_id: self.state.run_id.clone(),
                    problems: vec![format!("the teardown task failed: {e}")],
                })
            });
        for launcher in &mut self.launchers {
            // Killed with its namespace: this only reaps it.
            let _ = tokio::time::timeout(Duration::from_secs(5), launcher.wait()).await;
        }
        removed
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !self.removed {
            if let Err(e) = teardown::remove(&self.state) {
                tracing::error!("{e}");
            }
        }
    }
}

/// Refuses what cannot work before anything is created.
fn preflight(options: &ClusterOptions) -> Result<(), SwarmError> {
    let run = options.run_id.as_str();
    let valid = (1..=16).contains(&run.len())
        && run
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(SwarmError::Options {
            detail: format!("run id {run:?} must be 1-16 lowercase letters, digits or `-`"),
        });
    }
    if !(1..=250).contains(&options.nodes) {
        return Err(SwarmError::Options {
            detail: format!("{} nodes: a cluster has 1 to 250", options.nodes),
        });
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .unwrap_or("unknown");
    if uid != "0" {
        return Err(SwarmError::NotRoot {
            uid: uid.to_owned(),
        });
    }
    for (program, package) in node::PROGRAMS {
        if !on_path(program) {
            return Err(SwarmError::Missing { program, package });
        }
    }
    Ok(())
}

fn on_path(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
}

/// Creates `base` if needed and the cluster's own directory, which must not exist yet.
fn create_dir(base: &Path, dir: &Path) -> Result<(), SwarmError> {
    use std::os::unix::fs::DirBuilderExt;
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| SwarmError::Io { path, source }
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(base)
        .map_err(io(base))?;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))
}
