//! `sim gc`: finding and removing what killed runs left behind (containers, named volumes,
//! networks, images built for a run), by label.

use std::collections::{BTreeSet, HashMap};

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder, RemoveImageOptionsBuilder,
};
use bollard::Docker;
use serde::Serialize;

use super::resources::{remove_container, remove_volume};
use super::{LABEL_MANAGED, LABEL_PID, LABEL_PID_START, LABEL_RUN};
use crate::swarm::Process;

/// What `sim gc` found and removed (or would remove, with `dry_run`).
#[derive(Debug, Default, Serialize)]
pub struct GcReport {
    pub runs: BTreeSet<String>,
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    /// Named volumes of compose projects.
    pub volumes: Vec<String>,
    pub images: Vec<String>,
    /// Runs skipped because the `sim` process that owns them is still alive.
    pub live_runs: BTreeSet<String>,
    pub dry_run: bool,
}

/// Removes the containers, named volumes, networks and images built for a run (a compose
/// project's `build:` services) of runs whose owning process is gone (all runs with `force`),
/// and with `images` also the images sim builds from host programs, which no run owns.
pub async fn collect_garbage(
    docker: &Docker,
    dry_run: bool,
    force: bool,
    images: bool,
) -> Result<GcReport, bollard::errors::Error> {
    let mut report = GcReport {
        dry_run,
        ..GcReport::default()
    };
    let managed = HashMap::from([("label", vec![format!("{LABEL_MANAGED}=true")])]);

    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&managed)
        .build();
    for container in docker.list_containers(Some(options)).await? {
        let labels = container.labels.unwrap_or_default();
        let run = labels.get(LABEL_RUN).cloned().unwrap_or_default();
        if !force && owner_alive(&labels) {
            report.live_runs.insert(run);
            continue;
        }
        let Some(id) = container.id else { continue };
        if !dry_run {
            remove_container(docker, &id).await?;
        }
        report.runs.insert(run);
        let name = container.names.and_then(|n| n.into_iter().next());
        report.containers.push(name.unwrap_or(id));
    }

    let options = ListVolumesOptionsBuilder::new().filters(&managed).build();
    let volumes = docker.list_volumes(Some(options)).await?.volumes;
    for volume in volumes.unwrap_or_default() {
        let run = volume.labels.get(LABEL_RUN).cloned().unwrap_or_default();
        if !force && owner_alive(&volume.labels) {
            report.live_runs.insert(run);
            continue;
        }
        if !dry_run {
            remove_volume(docker, &volume.name).await?;
        }
        report.runs.insert(run);
        report.volumes.push(volume.name);
    }

    let options = ListNetworksOptionsBuilder::new().filters(&managed).build();
    for network in docker.list_networks(Some(options)).await? {
        let labels = network.labels.unwrap_or_default();
        let run = labels.get(LABEL_RUN).cloned().unwrap_or_default();
        if !force && owner_alive(&labels) {
            report.live_runs.insert(run);
            continue;
        }
        let Some(name) = network.name else { continue };
        if !dry_run {
            docker.remove_network(&name).await?;
        }
        report.runs.insert(run);
        report.networks.push(name);
    }

    let built_for_runs = HashMap::from([("label", vec![LABEL_RUN.to_owned()])]);
    let options = ListImagesOptionsBuilder::new()
        .filters(&built_for_runs)
        .build();
    for image in docker.list_images(Some(options)).await? {
        let run = image.labels.get(LABEL_RUN).cloned().unwrap_or_default();
        if !force && owner_alive(&image.labels) {
            report.live_runs.insert(run);
            continue;
        }
        if !dry_run {
            let options = RemoveImageOptionsBuilder::new().force(true).build();
            docker.remove_image(&image.id, Some(options), None).await?;
        }
        report.runs.insert(run);
        let tag = image.repo_tags.into_iter().next();
        report.images.push(tag.unwrap_or(image.id));
    }

    if images {
        let options = ListImagesOptionsBuilder::new().filters(&managed).build();
        for image in docker.list_images(Some(options)).await? {
            if image.labels.contains_key(LABEL_RUN) {
                continue;
            }
            for tag in image.repo_tags {
                if !dry_run {
                    let options = RemoveImageOptionsBuilder::new().force(true).build();
                    docker.remove_image(&tag, Some(options), None).await?;
                }
                report.images.push(tag);
            }
        }
    }
    Ok(report)
}

/// Whether the process that created a resource (its labels [`LABEL_PID`] and
/// [`LABEL_PID_START`]) still runs on this host. Without a start time (resources of older
/// versions) a process with that pid must be called `sim`. An unknown owner is treated as
/// dead: gc exists for runs nobody can clean up any more.
fn owner_alive(labels: &HashMap<String, String>) -> bool {
    let Some(pid) = labels.get(LABEL_PID).and_then(|p| p.parse::<u32>().ok()) else {
        return false;
    };
    if pid == std::process::id() {
        return true;
    }
    match labels
        .get(LABEL_PID_START)
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(start) => Process { pid, start }.alive(),
        None => std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|comm| comm.trim() == "sim")
            .unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_alive_only_while_the_process_that_started_then_runs() {
        let labels = |pairs: &[(&str, String)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect()
        };
        let me = Process::current().unwrap();
        assert!(owner_alive(&labels(&[(LABEL_PID, me.pid.to_string())])));
        assert!(!owner_alive(&labels(&[])));
        assert!(!owner_alive(&labels(&[(LABEL_PID, "not-a-pid".into())])));
        // pid 1 exists but is not a `sim` process, and a renamed sim binary is still its owner
        // when it started at the recorded time.
        assert!(!owner_alive(&labels(&[(LABEL_PID, "1".into())])));
        let init = Process::of(1).unwrap();
        let started = |start: u64| {
            labels(&[
                (LABEL_PID, "1".into()),
                (LABEL_PID_START, start.to_string()),
            ])
        };
        assert!(owner_alive(&started(init.start)));
        assert!(
            !owner_alive(&started(init.start + 1)),
            "a later process with the pid"
        );
    }
}
