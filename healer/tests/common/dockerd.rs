//! A throwaway dockerd of a test's own (root only), to restart or kill without touching the
//! machine's engine: its own data and exec roots, pid file, socket, config file (so the host's
//! `/etc/docker/daemon.json` is not read), cgroup parent and bridge (`hdr<pid>`, on a free
//! `10.214.<n>.0/24`, so the host reaches its containers at their addresses), no iptables
//! rules, no IP forwarding change.
//!
//! It runs under `unshare --mount --pid --fork --mount-proc --propagation slave` with
//! `docker-init` as PID 1 of its PID namespace (as sim's swarm nodes do): every mount it makes
//! stays in its own mount namespace, and killing that PID 1 kills dockerd, its containerd, the
//! shims and the containers at once. [`Dockerd::restart`] stops it as an operator would
//! (SIGTERM, which dockerd gets from docker-init, then waiting for it to exit) and starts it
//! again on the same directories. Dropping it kills everything, then removes its cgroups, the
//! bridge and the directory (only if nothing is mounted under it), also when the test failed.
//! The daemon logs to `<dir>/dockerd.log`.
//!
//! Included with `#[path]` by the tests that need it (it uses bollard, which only some test
//! binaries have).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use tokio::time::Instant;

/// How long dockerd gets to answer on its socket, and to exit after SIGTERM.
const PATIENCE: Duration = Duration::from_secs(60);
/// How often the socket, a process or a cgroup is looked at.
const POLL: Duration = Duration::from_millis(50);

/// A running throwaway dockerd; see the module docs.
pub struct Dockerd {
    dir: PathBuf,
    /// The bridge's and the cgroup parent's name.
    name: String,
    /// The `unshare` process; its one child is docker-init, PID 1 of the namespace.
    launcher: Option<Child>,
    bridge_made: bool,
}

impl Dockerd {
    /// Starts a dockerd and waits until it answers on its socket.
    pub async fn start() -> Dockerd {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("healer-dockerd-{pid}-{nanos}"));
        std::fs::create_dir(&dir).unwrap();
        let mut dockerd = Dockerd {
            dir,
            name: format!("hdr{pid}"),
            launcher: None,
            bridge_made: false,
        };
        dockerd.make_bridge();
        let key = dockerd.dir.join("key.json");
        let config = serde_json::json!({ "deprecated-key-path": key }).to_string();
        std::fs::write(dockerd.dir.join("daemon.json"), config).unwrap();
        dockerd.launch().await;
        dockerd
    }

    /// The daemon's socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("docker.sock")
    }

    /// A client of the daemon, its API version negotiated.
    pub async fn client(&self) -> Docker {
        let socket = self.socket();
        Docker::connect_with_unix(&socket.to_string_lossy(), 120, bollard::API_DEFAULT_VERSION)
            .unwrap()
            .negotiate_version()
            .await
            .unwrap()
    }

    /// Stops the daemon with SIGTERM, waits for it to exit, and starts it again on the same
    /// directories; returns once it answers. Gives how long it was stopping, and starting.
    pub async fn restart(&mut self) -> (Duration, Duration) {
        let started = Instant::now();
        let init = self.init().expect("dockerd's namespace has its PID 1");
        signal(init, "TERM");
        let launcher = self.launcher.as_mut().unwrap();
        while launcher.try_wait().unwrap().is_none() {
            assert!(
                started.elapsed() < PATIENCE,
                "dockerd did not exit {PATIENCE:?} after SIGTERM; {}",
                self.log_tail()
            );
            tokio::time::sleep(POLL).await;
        }
        let stopped = started.elapsed();
        self.launcher = None;
        let starting = Instant::now();
        self.launch().await;
        (stopped, starting.elapsed())
    }

    /// Starts dockerd (its stale pid file removed) and waits for its API.
    async fn launch(&mut self) {
        let _ = std::fs::remove_file(self.dir.join("docker.pid"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("dockerd.log"))
            .unwrap();
        let path = |name: &str| self.dir.join(name).to_string_lossy().into_owned();
        let child = Command::new("unshare")
            .args(["--mount", "--pid", "--fork", "--mount-proc"])
            .args(["--propagation", "slave", "docker-init", "--", "dockerd"])
            .args(["--config-file", &path("daemon.json")])
            .args(["--data-root", &path("data"), "--exec-root", &path("exec")])
            .args(["--pidfile", &path("docker.pid")])
            .args(["--host", &format!("unix://{}", path("docker.sock"))])
            .args(["--storage-driver", "overlay2", "--bridge", &self.name])
            .args(["--iptables=false", "--ip-masq=false", "--ip-forward=false"])
            .args(["--userland-proxy=false"])
            .args(["--cgroup-parent", &format!("/{}", self.name)])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("unshare and dockerd are installed (util-linux, docker.io)");
        self.launcher = Some(child);
        let started = Instant::now();
        loop {
            if self.socket().exists() {
                let socket = self.socket();
                let docker = Docker::connect_with_unix(
                    &socket.to_string_lossy(),
                    5,
                    bollard::API_DEFAULT_VERSION,
                )
                .unwrap();
                if docker.ping().await.is_ok() {
                    return;
                }
            }
            let exited = self.launcher.as_mut().unwrap().try_wait().unwrap();
            assert!(
                exited.is_none(),
                "dockerd exited: {exited:?}; {}",
                self.log_tail()
            );
            assert!(
                started.elapsed() < PATIENCE,
                "dockerd did not answer within {PATIENCE:?}; {}",
                self.log_tail()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// PID 1 of the daemon's namespace (docker-init), as this host numbers it.
    fn init(&self) -> Option<u32> {
        let launcher = self.launcher.as_ref()?.id();
        let children =
            std::fs::read_to_string(format!("/proc/{launcher}/task/{launcher}/children")).ok()?;
        children.split_whitespace().next()?.parse().ok()
    }

    /// The bridge `hdr<pid>` with the first free `10.214.<n>.1/24`.
    fn make_bridge(&mut self) {
        let addresses = output(Command::new("ip").args(["-4", "-o", "addr"]));
        let start = std::process::id() % 250;
        let third = (0..250)
            .map(|k| 1 + (start + k) % 250)
            .find(|n| !addresses.contains(&format!(" 10.214.{n}.")))
            .expect("a free 10.214.<n>.0/24");
        run(Command::new("ip").args(["link", "add", &self.name, "type", "bridge"]));
        self.bridge_made = true;
        let address = format!("10.214.{third}.1/24");
        run(Command::new("ip").args(["addr", "add", &address, "dev", &self.name]));
        run(Command::new("ip").args(["link", "set", &self.name, "up"]));
    }

    fn log_tail(&self) -> String {
        let path = self.dir.join("dockerd.log");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(8)..].join("\n    ");
        format!("{} ends:\n    {tail}", path.display())
    }
}

impl Drop for Dockerd {
    /// Kills the namespace, then removes its cgroups, the bridge and the directory; reports
    /// what it could not remove, never panics.
    fn drop(&mut self) {
        if let Some(init) = self.init() {
            signal(init, "KILL");
        }
        if let Some(mut launcher) = self.launcher.take() {
            let _ = launcher.kill();
            let _ = launcher.wait();
        }
        if let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") {
            for hierarchy in hierarchies.filter_map(Result::ok) {
                remove_cgroup(&hierarchy.path().join(&self.name));
            }
        }
        if self.bridge_made {
            let deleted = Command::new("ip")
                .args(["link", "del", &self.name])
                .output();
            if !deleted.is_ok_and(|out| out.status.success()) {
                eprintln!("cannot delete the bridge {}", self.name);
            }
        }
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mounted: Vec<&str> = mountinfo
            .lines()
            .filter_map(|line| line.split(' ').nth(4))
            .filter(|point| Path::new(point).starts_with(&self.dir))
            .collect();
        if !mounted.is_empty() {
            eprintln!(
                "left {} in place: mounted under it: {mounted:?}",
                self.dir.display()
            );
        } else if let Err(error) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("cannot remove {}: {error}", self.dir.display());
        }
    }
}

/// Removes a cgroup directory once its children have gone and no process is left in it
/// (a killed namespace's processes take a moment to leave).
fn remove_cgroup(group: &Path) {
    let Ok(entries) = std::fs::read_dir(group) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            remove_cgroup(&entry.path());
        }
    }
    for _ in 0..(PATIENCE.as_millis() / POLL.as_millis()) {
        match std::fs::remove_dir(group) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                std::thread::sleep(POLL);
            }
            _ => return,
        }
    }
    eprintln!("cannot remove the cgroup {}", group.display());
}

fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .output();
}

fn run(command: &mut Command) {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn output(command: &mut Command) -> String {
    let out = command.output().unwrap();
    assert!(out.status.success(), "{command:?} failed");
    String::from_utf8(out.stdout).unwrap()
}
