//! `sim gc`: removes the containers, networks, named volumes and images that killed runs left,
//! and the swarm clusters they formed (daemons, namespaces, directories).

use std::fmt::Write;
use std::path::Path;

use serde::Serialize;

use crate::docker::GcReport;
use crate::exit;
use crate::swarm::ClusterGcReport;

/// `--json`: the engine's report with the clusters' fields beside its own.
#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    docker: &'a GcReport,
    #[serde(flatten)]
    clusters: &'a ClusterGcReport,
}

pub(super) async fn gc(dry_run: bool, force: bool, images: bool, json: bool) -> i32 {
    // Clusters first: removing them needs no engine of the host's.
    let base = Path::new(crate::swarm::DEFAULT_BASE);
    let clusters =
        tokio::task::spawn_blocking(move || crate::swarm::collect_garbage(base, dry_run, force))
            .await
            .unwrap_or_else(|e| ClusterGcReport {
                cluster_problems: vec![format!("the cluster gc task failed: {e}")],
                ..ClusterGcReport::default()
            });
    let docker = match crate::docker::connect().await {
        Ok(docker) => docker,
        Err(e) => {
            eprint!("{}", cluster_text(&clusters, dry_run));
            eprintln!("error: {e}");
            return exit::ENVIRONMENT;
        }
    };
    match crate::docker::collect_garbage(&docker, dry_run, force, images).await {
        Ok(report) => {
            if json {
                let both = Report {
                    docker: &report,
                    clusters: &clusters,
                };
                println!("{}", serde_json::to_string(&both).unwrap_or_default());
            } else {
                print!("{}{}", text(&report), cluster_text(&clusters, dry_run));
            }
            if clusters.cluster_problems.is_empty() {
                exit::OK
            } else {
                exit::RUN_FAILED
            }
        }
        Err(e) => {
            eprint!("{}", cluster_text(&clusters, dry_run));
            eprintln!("error: docker: {e}");
            exit::RUN_FAILED
        }
    }
}

/// The clusters' part of the text: nothing when there were none.
fn cluster_text(report: &ClusterGcReport, dry_run: bool) -> String {
    let mut out = String::new();
    if !report.clusters.is_empty() {
        let verb = if dry_run { "would remove" } else { "removed" };
        let _ = writeln!(
            out,
            "{verb} {} swarm cluster(s): {}",
            report.clusters.len(),
            report.clusters.join(", ")
        );
    }
    if !report.live_clusters.is_empty() {
        let _ = writeln!(
            out,
            "spared {} swarm cluster(s) whose owner is alive (use --force): {}",
            report.live_clusters.len(),
            report.live_clusters.join(", ")
        );
    }
    for problem in &report.cluster_problems {
        let _ = writeln!(out, "error: {problem}");
    }
    out
}

/// The report as text: a count of each kind, every name, and the runs spared.
fn text(report: &GcReport) -> String {
    let verb = if report.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let mut out = format!(
        "{verb} {} container(s), {} network(s), {} volume(s), {} image(s) of {} run(s)\n",
        report.containers.len(),
        report.networks.len(),
        report.volumes.len(),
        report.images.len(),
        report.runs.len()
    );
    for name in report
        .containers
        .iter()
        .chain(&report.networks)
        .chain(&report.volumes)
        .chain(&report.images)
    {
        let _ = writeln!(out, "  {name}");
    }
    if !report.live_runs.is_empty() {
        let live: Vec<&str> = report.live_runs.iter().map(String::as_str).collect();
        let _ = writeln!(
            out,
            "spared {} run(s) whose sim process is alive (use --force): {}",
            live.len(),
            live.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names<C: FromIterator<String>>(names: &[&str]) -> C {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn the_text_counts_and_names_every_kind() {
        let report = GcReport {
            runs: names(&["r1", "r2"]),
            containers: names(&["sim-r1-t1-web-0"]),
            networks: names(&["sim-r1"]),
            volumes: names(&["sim-r1-t1-data", "sim-r2-t1-data"]),
            images: names(&["sim-compose-shop-web:latest"]),
            live_runs: names(&["r3"]),
            dry_run: true,
        };
        assert_eq!(
            text(&report),
            "would remove 1 container(s), 1 network(s), 2 volume(s), 1 image(s) of 2 run(s)
  sim-r1-t1-web-0
  sim-r1
  sim-r1-t1-data
  sim-r2-t1-data
  sim-compose-shop-web:latest
spared 1 run(s) whose sim process is alive (use --force): r3
"
        );
    }

    #[test]
    fn the_cluster_text_names_removed_spared_and_failed_clusters() {
        assert_eq!(cluster_text(&ClusterGcReport::default(), false), "");
        let report = ClusterGcReport {
            clusters: names(&["r1", "r2"]),
            live_clusters: names(&["r3"]),
            cluster_problems: names(&["cluster r4 is not fully removed: busy"]),
        };
        assert_eq!(
            cluster_text(&report, true),
            "would remove 2 swarm cluster(s): r1, r2
spared 1 swarm cluster(s) whose owner is alive (use --force): r3
error: cluster r4 is not fully removed: busy
"
        );
    }
}
