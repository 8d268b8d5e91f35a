//! Removing a recorded cluster: every node's PID namespace killed through its PID 1, the network
//! namespaces deleted (their links go with them), the nodes' cgroups removed, then the cluster's
//! directory, the record last, so a teardown that fails half-way leaves a record to retry from.
//!
//! Blocking on purpose: it also runs in `Drop` and in `sim gc`, where no daemon may answer. It
//! acts only on names of the record that carry the `sim-<run>-` prefix, and removes the directory
//! only when nothing is mounted under it, without following symlinks out of it.

use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::Duration;

use tokio::time::Instant;

use super::form::ms;
use super::net::{delete_host_link, delete_namespace};
use super::state::{ClusterState, NodeRecord, Process};
use super::SwarmError;

/// How long killed processes get to be gone.
const EXIT_TIMEOUT: Duration = Duration::from_secs(15);

const POLL: Duration = Duration::from_millis(20);

/// Removes everything `state` records, each step timed in the log. Namespaces and cgroups go
/// only once no process of the cluster is left, the directory only once they went; whatever
/// fails keeps the record for `sim gc` to try again.
pub fn remove(state: &ClusterState) -> Result<(), SwarmError> {
    let fail = |problems| SwarmError::Teardown {
        run_id: state.run_id.clone(),
        problems,
    };
    check_names(state).map_err(|problem| fail(vec![problem]))?;
    let run = state.run_id.as_str();
    let started = Instant::now();
    kill(&state.nodes).map_err(|problem| fail(vec![problem]))?;
    tracing::info!(run, elapsed_ms = ms(started), "node processes killed");
    let step = Instant::now();
    let mut problems = vec![];
    for name in state.nodes.iter().map(|n| n.name.as_str()) {
        problems.extend(delete_namespace(name).err());
        problems.extend(remove_cgroups(name).err());
    }
    problems.extend(delete_namespace(&state.hub).err());
    if let Some(link) = &state.host_link {
        problems.extend(delete_host_link(link).err());
    }
    tracing::info!(run, elapsed_ms = ms(step), "namespaces and cgroups removed");
    if !problems.is_empty() {
        return Err(fail(problems));
    }
    let step = Instant::now();
    remove_dir(&state.dir).map_err(|problem| fail(vec![problem]))?;
    tracing::info!(
        run,
        elapsed_ms = ms(step),
        total_ms = ms(started),
        "directory removed"
    );
    Ok(())
}

/// Every name must be one of the run's, so a damaged record cannot point teardown elsewhere.
fn check_names(state: &ClusterState) -> Result<(), String> {
    let run = state.run_id.as_str();
    let valid_run = !run.is_empty()
        && run
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid_run {
        return Err(format!("the record's run id {run:?} is not a sim run id"));
    }
    let prefix = format!("sim-{run}-");
    let names =
        std::iter::once(state.hub.as_str()).chain(state.nodes.iter().map(|n| n.name.as_str()));
    for name in names {
        let tail = name.strip_prefix(&prefix).unwrap_or_default();
        if tail.is_empty() || !tail.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("the record names {name:?}, which is not {prefix}…"));
        }
    }
    // The host's link is `simsw<third>` of the record's own subnet, nothing else.
    if let Some(link) = &state.host_link {
        let third = state
            .subnet
            .strip_prefix("10.213.")
            .and_then(|rest| rest.strip_suffix(".0/24"));
        if third.map(|third| format!("simsw{third}")).as_ref() != Some(link) {
            return Err(format!(
                "the record names host link {link:?}, which is not its subnet's simsw<n>"
            ));
        }
    }
    let dir_ok = state.dir.is_absolute() && state.dir.file_name() == Some(run.as_ref());
    let nodes_ok = state
        .nodes
        .iter()
        .all(|n| n.dir.parent() == Some(&state.dir));
    if !dir_ok || !nodes_ok {
        return Err(format!(
            "the record's directories are not <base>/{run} and its subdirectories"
        ));
    }
    Ok(())
}

/// Kills every node's PID namespace through its PID 1 (the kernel then kills everything
/// inside), all at once, then their launchers, and waits until they are gone.
fn kill(nodes: &[NodeRecord]) -> Result<(), String> {
    let mut inits: Vec<Process> = nodes.iter().filter_map(|n| n.init).collect();
    for launcher in nodes.iter().filter_map(|n| n.launcher) {
        // An init the record missed (a kill between the launch and the record) is found again.
        for child in launcher.children() {
            if !inits.contains(&child) {
                inits.push(child);
            }
        }
    }
    signal_and_wait(&inits)?;
    let launchers: Vec<Process> = nodes.iter().filter_map(|n| n.launcher).collect();
    signal_and_wait(&launchers)
}

pub(super) fn signal_and_wait(processes: &[Process]) -> Result<(), String> {
    let alive: Vec<&Process> = processes.iter().filter(|p| p.alive()).collect();
    if alive.is_empty() {
        return Ok(());
    }
    let mut kill = std::process::Command::new("kill");
    kill.arg("-KILL")
        .args(alive.iter().map(|p| p.pid.to_string()));
    // `kill` fails when a process exited in between: only what is still alive afterwards counts.
    if let Err(e) = kill.output() {
        return Err(format!("kill: {e}"));
    }
    if eventually(|| !alive.iter().any(|p| p.alive())) {
        Ok(())
    } else {
        let pids: Vec<u32> = alive.iter().filter(|p| p.alive()).map(|p| p.pid).collect();
        Err(format!(
            "pids {pids:?} still alive {EXIT_TIMEOUT:?} after SIGKILL"
        ))
    }
}

/// Whether `done` holds within [`EXIT_TIMEOUT`], asked every [`POLL`] (blocking: no clock needed).
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let attempts = EXIT_TIMEOUT.as_millis() / POLL.as_millis();
    for _ in 0..attempts {
        if done() {
            return true;
        }
        sleep(POLL);
    }
    done()
}

/// Removes the cgroup `name` (the node's `--cgroup-parent`) from every hierarchy, innermost
/// first. Killed containers leave theirs behind: nobody told runc to delete them.
fn remove_cgroups(name: &str) -> Result<(), String> {
    let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") else {
        return Ok(());
    };
    let mut problems = vec![];
    for hierarchy in hierarchies.filter_map(Result::ok) {
        let group = hierarchy.path().join(name);
        if group.is_dir() {
            problems.extend(remove_cgroup(&group).err());
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// A cgroup directory goes with `rmdir`, once its children have and no process is left in it
/// (processes of a killed namespace may take a moment to leave).
fn remove_cgroup(group: &Path) -> Result<(), String> {
    let children: Vec<PathBuf> = std::fs::read_dir(group)
        .map_err(|e| format!("{}: {e}", group.display()))?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    for child in children {
        remove_cgroup(&child)?;
    }
    let mut last = None;
    let removed = eventually(|| match std::fs::remove_dir(group) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => {
            last = Some(e);
            false
        }
    });
    match (removed, last) {
        (false, Some(e)) => Err(format!("cannot remove cgroup {}: {e}", group.display())),
        _ => Ok(()),
    }
}

/// Removes the cluster's directory: refused when it is a symlink or anything is mounted under
/// it. `remove_dir_all` unlinks symlinks inside rather than following them.
fn remove_dir(dir: &Path) -> Result<(), String> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    if !meta.is_dir() {
        return Err(format!("{} is not a directory; left alone", dir.display()));
    }
    let mounted = mounts_under(dir);
    if !mounted.is_empty() {
        return Err(format!(
            "left {} in place: still mounted under it: {}",
            dir.display(),
            mounted.join(", ")
        ));
    }
    std::fs::remove_dir_all(dir).map_err(|e| format!("cannot remove {}: {e}", dir.display()))
}

/// The mount points at or under `dir` in this process's mount namespace.
pub(super) fn mounts_under(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    mount_points_under(&text, dir)
}

/// Mount points of a `mountinfo` text (the fifth field, with `\040` for a space) at or under `dir`.
fn mount_points_under(mountinfo: &str, dir: &Path) -> Vec<String> {
    mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|point| point.replace("\\040", " "))
        .filter(|point| Path::new(point).starts_with(dir))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> ClusterState {
        let dir = PathBuf::from("/run/sim-swarm/ab12");
        ClusterState {
            run_id: "ab12".to_owned(),
            owner: Process { pid: 1, start: 0 },
            hub: "sim-ab12-hub".to_owned(),
            subnet: "10.213.1.0/24".to_owned(),
            host_link: None,
            nodes: vec![NodeRecord {
                name: "sim-ab12-n1".to_owned(),
                address: "10.213.1.1".to_owned(),
                dir: dir.join("n1"),
                socket: dir.join("n1/docker.sock"),
                launcher: None,
                init: None,
            }],
            dir,
        }
    }

    #[test]
    fn a_record_names_only_the_runs_own_things() {
        assert_eq!(check_names(&state()), Ok(()));
        let mut foreign = state();
        foreign.nodes[0].name = "eth0".to_owned();
        assert!(check_names(&foreign).unwrap_err().contains("\"eth0\""));
        let mut escaping = state();
        escaping.hub = "sim-ab12-../x".to_owned();
        assert!(check_names(&escaping).is_err());
        let mut elsewhere = state();
        elsewhere.dir = PathBuf::from("/");
        assert!(check_names(&elsewhere).is_err());
        let mut linked = state();
        linked.host_link = Some("simsw1".to_owned());
        assert_eq!(check_names(&linked), Ok(()));
        linked.host_link = Some("eth0".to_owned());
        assert!(check_names(&linked).unwrap_err().contains("\"eth0\""));
        let mut outside = state();
        outside.nodes[0].dir = PathBuf::from("/var/lib/docker");
        assert!(check_names(&outside).is_err());
    }

    #[test]
    fn mounts_under_a_directory_are_found_by_path_components() {
        let mountinfo =
            "36 35 98:0 / /run/sim-swarm/ab12/n1/data/overlay2/x/merged rw - overlay o rw\n\
                         37 35 98:0 / /run/sim-swarm/ab123 rw - tmpfs t rw\n\
                         38 35 98:0 / /mnt/with\\040space rw - tmpfs t rw\n";
        let dir = Path::new("/run/sim-swarm/ab12");
        assert_eq!(
            mount_points_under(mountinfo, dir),
            ["/run/sim-swarm/ab12/n1/data/overlay2/x/merged"]
        );
        assert_eq!(
            mount_points_under(mountinfo, Path::new("/mnt/with space")),
            ["/mnt/with space"]
        );
    }
}
