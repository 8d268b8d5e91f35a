//! `sim gc` for clusters: the records under the base directory whose owning process is gone (all
//! of them with `force`) are torn down like a cluster that shuts down, daemons and all.

use std::path::Path;

use serde::Serialize;

use super::state::ClusterState;
use super::teardown;

/// What `sim gc` found of clusters, and removed (or would remove, with `dry_run`).
#[derive(Debug, Default, Serialize)]
pub struct ClusterGcReport {
    /// The run ids of clusters removed.
    pub clusters: Vec<String>,
    /// Clusters spared because the process that formed them is alive.
    pub live_clusters: Vec<String>,
    /// What could not be read or removed; what it names stays for another try.
    pub cluster_problems: Vec<String>,
}

/// Removes the clusters recorded under `base` whose owner is dead (every one with `force`).
/// Blocking: it kills processes and waits for them to be gone.
pub fn collect_garbage(base: &Path, dry_run: bool, force: bool) -> ClusterGcReport {
    let (states, unreadable) = ClusterState::all(base);
    let mut report = ClusterGcReport::default();
    for (dir, problem) in unreadable {
        if being_removed(&dir) {
            continue;
        }
        // A process killed between making its directory and writing the record into it leaves
        // the directory empty; `rmdir` removes only that.
        let empty = std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_none());
        let run = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        match run {
            Some(run) if empty && (dry_run || std::fs::remove_dir(&dir).is_ok()) => {
                report.clusters.push(run);
            }
            _ => report.cluster_problems.push(problem),
        }
    }
    for state in states {
        if !force && state.owner.alive() {
            report.live_clusters.push(state.run_id);
            continue;
        }
        if !dry_run {
            if let Err(e) = teardown::remove(&state) {
                report.cluster_problems.push(e.to_string());
                continue;
            }
        }
        report.clusters.push(state.run_id);
    }
    report
}

/// Whether `dir` lost its record because its cluster is being removed right now (its owner
/// shutting it down removes the record, then the rest): it is gone within a second.
fn being_removed(dir: &Path) -> bool {
    let empty = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none());
    if empty || dir.join(super::state::STATE_FILE).exists() {
        return false;
    }
    for _ in 0..10 {
        if !dir.exists() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::swarm::state::Process;

    /// A record of a cluster with no nodes (nothing to kill, no namespace made), owned by `owner`.
    fn record(base: &Path, run: &str, owner: Process) {
        let dir = base.join(run);
        std::fs::create_dir(&dir).unwrap();
        let state = ClusterState {
            run_id: run.to_owned(),
            owner,
            dir,
            hub: format!("sim-{run}-hub"),
            subnet: "10.213.1.0/24".to_owned(),
            host_link: None,
            nodes: vec![],
        };
        state.write().unwrap();
    }

    #[test]
    fn dead_owners_clusters_and_empty_directories_go_live_ones_stay() {
        let base = tempfile::tempdir().unwrap();
        let me = Process::current().unwrap();
        let gone = Process {
            start: me.start + 1,
            ..me
        };
        record(base.path(), "dead", gone);
        record(base.path(), "live", me);
        std::fs::create_dir(base.path().join("empty")).unwrap();
        std::fs::create_dir(base.path().join("junk")).unwrap();
        std::fs::write(base.path().join("junk/file"), "x").unwrap();

        let dry = collect_garbage(base.path(), true, false);
        assert_eq!(sorted(dry.clusters), ["dead", "empty"]);
        assert!(base.path().join("dead").exists() && base.path().join("empty").exists());

        let report = collect_garbage(base.path(), false, false);
        assert_eq!(sorted(report.clusters.clone()), ["dead", "empty"]);
        assert_eq!(report.live_clusters, ["live"]);
        assert_eq!(report.cluster_problems.len(), 1, "{report:?}");
        assert!(report.cluster_problems[0].contains("junk"), "{report:?}");
        assert!(!base.path().join("dead").exists() && !base.path().join("empty").exists());
        assert!(base.path().join("live").exists() && base.path().join("junk/file").exists());

        let forced = collect_garbage(base.path(), false, true);
        assert_eq!(forced.clusters, ["live"]);
    }

    fn sorted(mut names: Vec<String>) -> Vec<String> {
        names.sort();
        names
    }
}
