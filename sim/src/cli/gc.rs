//! `sim gc`: removes the containers, networks, named volumes and images that killed runs left.

use std::fmt::Write;

use crate::docker::GcReport;
use crate::exit;

pub(super) async fn gc(dry_run: bool, force: bool, images: bool, json: bool) -> i32 {
    let docker = match crate::docker::connect().await {
        Ok(docker) => docker,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ENVIRONMENT;
        }
    };
    match crate::docker::collect_garbage(&docker, dry_run, force, images).await {
        Ok(report) => {
            if json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else {
                print!("{}", text(&report));
            }
            exit::OK
        }
        Err(e) => {
            eprintln!("error: docker: {e}");
            exit::RUN_FAILED
        }
    }
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
}
