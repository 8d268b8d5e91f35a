//! One node's dockerd: started in the node's network namespace and in new mount, UTS and PID
//! namespaces of its own, with its own config file, data root, exec root, pidfile and socket.
//!
//! `ip netns exec` would remount /sys and hide /sys/fs/cgroup, so the daemon is started with
//! `nsenter --net` plus `unshare`, and a small script sets the hostname, mounts a sysfs that shows
//! the node's network devices, keeps the host's cgroup mounts, and execs `docker-init` (PID 1 of
//! the namespace: killing it kills dockerd, its containerd, the shims and every container). Every
//! mount the daemon makes (overlays of its containers) stays in the node's private mount
//! namespace and goes with it. The daemon logs to `<node dir>/dockerd.log`, never to a pipe of
//! ours: a Go program writing to a broken pipe on stderr would die with sim.

use std::process::Stdio;

use bollard::Docker;
use tokio::process::{Child, Command};
use tokio::time::{sleep, Duration, Instant};

use super::state::{NodeRecord, Process};
use super::SwarmError;

/// How long a dockerd gets to answer on its socket.
const API_TIMEOUT: Duration = Duration::from_secs(60);

/// How often the socket and the namespace's PID 1 are looked for.
const POLL: Duration = Duration::from_millis(50);

/// Runs in the new namespaces with `$1` the node's name, `$2` its directory, `$3` its socket.
const SCRIPT: &str = r#"set -e
hostname "$1"
mkdir -p "$2/cgroup"
mount --rbind /sys/fs/cgroup "$2/cgroup"
mount -t sysfs sysfs /sys
mount --move "$2/cgroup" /sys/fs/cgroup
exec docker-init -- dockerd --config-file "$2/daemon.json" --data-root "$2/data" \
  --exec-root "$2/exec" --pidfile "$2/docker.pid" -H "unix://$3" --storage-driver overlay2 \
  --bridge=none --iptables=true --ip-masq=true --cgroup-parent "/$1"
"#;

/// The programs a node needs, each with the Debian package that has it.
pub(super) const PROGRAMS: [(&str, &str); 6] = [
    ("ip", "iproute2"),
    ("nsenter", "util-linux"),
    ("unshare", "util-linux"),
    ("dockerd", "docker.io"),
    ("docker-init", "tini (docker.io recommends it)"),
    ("containerd", "containerd"),
];

/// Starts the node's dockerd (again, after a crash: its data root keeps its swarm membership)
/// and records its launcher; the daemon is not ready yet.
pub(super) async fn spawn(node: &mut NodeRecord) -> Result<Child, SwarmError> {
    let io = |path: &std::path::Path| {
        let path = path.to_owned();
        move |source| SwarmError::Io { path, source }
    };
    if node.dir.is_dir() {
        // A restart after a crash: the dead daemon's pid file would name a pid of the new
        // namespace (dockerd refuses to start over a running one).
        let _ = std::fs::remove_file(node.dir.join("docker.pid"));
    } else {
        std::fs::create_dir(&node.dir).map_err(io(&node.dir))?;
    }
    let config = node.dir.join("daemon.json");
    let key = node.dir.join("key.json");
    let text = serde_json::json!({ "deprecated-key-path": key }).to_string();
    std::fs::write(&config, text).map_err(io(&config))?;
    let log_path = node.dir.join("dockerd.log");
    let log = std::fs::File::create(&log_path).map_err(io(&log_path))?;
    let log_too = log.try_clone().map_err(io(&log_path))?;
    let child = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", node.name))
        .args([
            "unshare",
            "--mount",
            "--uts",
            "--pid",
            "--fork",
            "--mount-proc",
        ])
        .args([
            "--propagation",
            "slave",
            "sh",
            "-c",
            SCRIPT,
            "sh",
            &node.name,
        ])
        .arg(&node.dir)
        .arg(&node.socket)
        // Tasks use images loaded on the node: never ask a registry first.
        .env("DOCKER_SERVICE_PREFER_OFFLINE_IMAGE", "1")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_too)
        // Out of sim's process group: a Ctrl-C at the terminal is sim's to handle.
        .process_group(0)
        .spawn()
        .map_err(|e| SwarmError::Command {
            command: "nsenter … unshare … dockerd".to_owned(),
            detail: e.to_string(),
        })?;
    node.launcher = child.id().and_then(Process::of);
    Ok(child)
}

/// Waits for PID 1 of the node's PID namespace (the launcher's one child) and records it.
pub(super) async fn find_init(node: &mut NodeRecord, child: &mut Child) -> Result<(), SwarmError> {
    let deadline = Instant::now() + API_TIMEOUT;
    let launcher = node
        .launcher
        .ok_or_else(|| exited(node, "before it was recorded"))?;
    loop {
        if let Some(init) = launcher.children().into_iter().next() {
            node.init = Some(init);
            return Ok(());
        }
        check_running(node, child)?;
        if Instant::now() > deadline {
            return Err(SwarmError::Timeout {
                what: format!("PID 1 of {}'s namespace", node.name),
                after: API_TIMEOUT,
            });
        }
        sleep(POLL).await;
    }
}

/// Waits until the node's dockerd answers on its socket, and returns a client of it.
pub(super) async fn wait_api(node: &NodeRecord, child: &mut Child) -> Result<Docker, SwarmError> {
    let started = Instant::now();
    let socket = node.socket.to_string_lossy();
    let docker = loop {
        // bollard refuses a socket that does not exist yet.
        if node.socket.exists() {
            let docker = Docker::connect_with_unix(&socket, 120, bollard::API_DEFAULT_VERSION)
                .map_err(|source| SwarmError::Docker {
                    node: node.name.clone(),
                    step: "connect",
                    source,
                })?;
            if docker.ping().await.is_ok() {
                break docker;
            }
        }
        check_running(node, child)?;
        if started.elapsed() > API_TIMEOUT {
            return Err(SwarmError::Timeout {
                what: format!("the API of {} ({})", node.name, log_tail(node)),
                after: API_TIMEOUT,
            });
        }
        sleep(POLL).await;
    };
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|source| SwarmError::Docker {
            node: node.name.clone(),
            step: "negotiate the API version",
            source,
        })?;
    tracing::info!(node = %node.name, elapsed_ms = started.elapsed().as_millis() as u64, "dockerd answers");
    Ok(docker)
}

fn check_running(node: &NodeRecord, child: &mut Child) -> Result<(), SwarmError> {
    match child.try_wait() {
        Ok(None) => Ok(()),
        Ok(Some(status)) => Err(exited(node, &status.to_string())),
        Err(e) => Err(exited(node, &e.to_string())),
    }
}

fn exited(node: &NodeRecord, how: &str) -> SwarmError {
    SwarmError::Daemon {
        node: node.name.clone(),
        detail: format!("its launcher exited ({how}); {}", log_tail(node)),
    }
}

/// The last lines of the node's dockerd log, for an error message.
fn log_tail(node: &NodeRecord) -> String {
    let path = node.dir.join("dockerd.log");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(5)..].join("\n    ");
    format!("{} ends:\n    {tail}", path.display())
}
