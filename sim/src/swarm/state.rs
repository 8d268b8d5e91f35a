//! The record of what a cluster created, kept on disk at `<base>/<run>/state.json` so that
//! `sim gc` can remove it after the process that formed it was killed.
//!
//! The record is written before each thing it names is created (intent first), so a kill at any
//! point leaves a record that covers everything; teardown tolerates names that never came to be.
//! Processes are recorded with their start time, so a pid the kernel gave to another process
//! since is never mistaken for ours.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SwarmError;

/// Where clusters keep their records and data directories unless told otherwise.
pub const DEFAULT_BASE: &str = "/run/sim-swarm";

/// The record's file name inside a cluster's directory.
pub(super) const STATE_FILE: &str = "state.json";

/// A process, told apart from a later one with the same pid by its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    pub pid: u32,
    /// Clock ticks after boot at which it started (`/proc/<pid>/stat`, field 22).
    pub start: u64,
}

impl Process {
    /// This process.
    pub fn current() -> Option<Self> {
        Self::of(std::process::id())
    }

    /// The process that has `pid` now, if any.
    pub fn of(pid: u32) -> Option<Self> {
        stat(pid).map(|stat| Process {
            pid,
            start: stat.start,
        })
    }

    /// Whether it still runs: the pid exists, started at the recorded time, and is not a zombie.
    pub fn alive(&self) -> bool {
        stat(self.pid).is_some_and(|stat| stat.start == self.start && stat.state != 'Z')
    }

    /// Its children now: every process whose parent it is.
    pub(super) fn children(&self) -> Vec<Process> {
        if !self.alive() {
            return vec![];
        }
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return vec![];
        };
        entries
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| {
                let stat = stat(pid)?;
                (stat.ppid == self.pid).then_some(Process {
                    pid,
                    start: stat.start,
                })
            })
            .collect()
    }
}

/// The fields of `/proc/<pid>/stat` this module reads.
struct Stat {
    state: char,
    ppid: u32,
    start: u64,
}

fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// `pid (comm) state ppid … starttime …`: the command may hold spaces and parentheses, so the
/// fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// Everything one cluster created, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterState {
    pub run_id: String,
    /// The process that formed the cluster; `sim gc` spares the cluster while it runs.
    pub owner: Process,
    /// The cluster's directory (`<base>/<run>`): the record, and every node's directory.
    pub dir: PathBuf,
    /// The network namespace holding the bridge (`sim-<run>-hub`).
    pub hub: String,
    /// The nodes' private network, e.g. `10.213.7.0/24`.
    pub subnet: String,
    /// The host's end of the veth from the root namespace into the hub (`simsw<third>`, with
    /// the subnet's `.254`), so the host reaches the nodes; its peer is in the hub, so deleting
    /// the hub removes it.
    #[serde(default)]
    pub host_link: Option<String>,
    pub nodes: Vec<NodeRecord>,
}

/// One node: its network namespace, hostname and cgroup parent all carry its `name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// `sim-<run>-n<k>`.
    pub name: String,
    /// Its address on the cluster's subnet.
    pub address: String,
    /// Its directory: daemon config, data root, exec root, log.
    pub dir: PathBuf,
    /// Its dockerd's API socket.
    pub socket: PathBuf,
    /// The `unshare` process that holds the node's PID namespace.
    pub launcher: Option<Process>,
    /// PID 1 of the node's PID namespace (`docker-init`): killing it kills every process inside.
    pub init: Option<Process>,
}

impl ClusterState {
    /// Reads the record in `dir`.
    pub fn read(dir: &Path) -> Result<Self, SwarmError> {
        let path = dir.join(STATE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| SwarmError::Io {
            path: path.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| SwarmError::Record {
            path,
            detail: e.to_string(),
        })
    }

    /// Writes the record, replacing the last one at once (a reader never sees half a file).
    pub(super) fn write(&self) -> Result<(), SwarmError> {
        let path = self.dir.join(STATE_FILE);
        let partial = self.dir.join(format!("{STATE_FILE}.partial"));
        let io = |source| SwarmError::Io {
            path: path.clone(),
            source,
        };
        let text = serde_json::to_vec_pretty(self).map_err(|e| SwarmError::Record {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        std::fs::write(&partial, text).map_err(io)?;
        std::fs::rename(&partial, &path).map_err(io)
    }

    /// The records of every cluster under `base` (none when it does not exist), and each
    /// directory there that holds no readable record, with why.
    pub(super) fn all(base: &Path) -> (Vec<ClusterState>, Vec<(PathBuf, String)>) {
        let Ok(entries) = std::fs::read_dir(base) else {
            return (vec![], vec![]);
        };
        let mut states = vec![];
        let mut unreadable = vec![];
        for entry in entries.filter_map(Result::ok) {
            let dir = entry.path();
            match Self::read(&dir) {
                Ok(state) if state.dir == dir => states.push(state),
                Ok(state) => {
                    let problem = format!(
                        "{}: the record names another directory, {}",
                        dir.display(),
                        state.dir.display()
                    );
                    unreadable.push((dir, problem));
                }
                Err(e) => unreadable.push((dir, e.to_string())),
            }
        }
        (states, unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let line = "4242 (a (weird) name) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 \
                    987654 1000 100 18446744073709551615";
        let stat = parse_stat(line).unwrap();
        assert_eq!((stat.state, stat.ppid, stat.start), ('S', 17, 987_654));
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn this_process_is_alive_and_a_changed_start_time_is_not() {
        let me = Process::current().unwrap();
        assert!(me.alive());
        let impostor = Process {
            start: me.start + 1,
            ..me
        };
        assert!(!impostor.alive());
    }
}
