//! `sim gc`: removes the containers, networks and (optionally) images that killed runs left.

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
                let verb = if dry_run { "would remove" } else { "removed" };
                println!(
                    "{verb} {} container(s), {} network(s), {} image(s) of {} run(s)",
                    report.containers.len(),
                    report.networks.len(),
                    report.images.len(),
                    report.runs.len()
                );
                for name in report
                    .containers
                    .iter()
                    .chain(&report.networks)
                    .chain(&report.images)
                {
                    println!("  {name}");
                }
                if !report.live_runs.is_empty() {
                    println!(
                        "spared {} run(s) whose sim process is alive (use --force): {}",
                        report.live_runs.len(),
                        report
                            .live_runs
                            .iter()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
            }
            exit::OK
        }
        Err(e) => {
            eprintln!("error: docker: {e}");
            exit::RUN_FAILED
        }
    }
}
