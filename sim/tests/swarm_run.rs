//! The swarm scenarios through the binary (needs root): a 3-node swarm formed, a node crashed
//! or cut off, a task OOM-killed, or a bad version rolled out, under load; the outage measured
//! by the independent prober and ended by Swarm's own rescheduling (`--strategy swarm`) or by
//! the embedded healer's restart or rollback through the managers (`--strategy embedded`);
//! afterwards nothing of the cluster left: no namespace, link, process, directory or
//! container. About 6 minutes of CI, run one after another: each ~5 s to form the swarm and
//! load the image, 20-35 s of load, a few seconds to settle and tear down.

mod common;

use std::path::Path;
use std::process::Command;

use common::{journal, result, run, run_dir, run_id, sim, text};

#[tokio::test]
async fn a_crashed_node_s_task_is_rescheduled_by_swarm_and_nothing_is_left() {
    let (trial, records, crashed) = one_trial("swarm-node-loss", "swarm").await;
    assert_eq!(trial["heals"], 0, "nobody but Swarm heals: {trial}");
    let mttr = trial["mttr_ms"].as_f64().expect("the outage recovered");
    // Swarm marks the node down after ~12 s and runs its task elsewhere a few seconds later.
    assert!(
        (8_000.0..30_000.0).contains(&mttr),
        "MTTR {mttr} ms: {trial}"
    );
    assert!(
        !records.iter().any(|r| r["event"] == "action_started"),
        "no healer acts under --strategy swarm"
    );
    eprintln!(
        "swarm-node-loss, Swarm alone: MTTR {:.1} s ({crashed})",
        mttr / 1000.0
    );
}

/// The healer's probes see the slot stop answering; its restart is a start-first force update,
/// whose new task starts on a live node without waiting for the managers to mark the crashed
/// node down.
#[tokio::test]
async fn the_healer_restarts_a_crashed_node_s_task_on_a_live_node() {
    healed_by_the_healer("swarm-node-loss", "restart", "hang").await;
}

/// A node cut off keeps its task running, unreachable: the healer's restart starts a new one
/// on a node that answers, and nothing else is touched when the partition mends (the swarm
/// elects a leader again meanwhile).
#[tokio::test]
async fn the_healer_moves_a_cut_off_node_s_task() {
    healed_by_the_healer("swarm-partition", "restart", "hang").await;
}

/// An OOM-killed task: the healer's restart replaces the task Swarm's restart policy holds back
/// for its 5 s delay. Its probes (connection refused) or the task's exit, whichever is first.
#[tokio::test]
async fn the_healer_restarts_an_oom_killed_task_without_swarm_s_delay() {
    healed_by_the_healer("swarm-oom", "restart", "").await;
}

/// A rolling update to a version that fails health, whose task runs: Swarm calls the update
/// complete (the tasks have no health check), the healer's probes see the new task fail and
/// its `bad-deploy` runbook has Swarm roll the slot's service back.
#[tokio::test]
async fn the_healer_rolls_back_a_bad_update_swarm_calls_complete() {
    healed_by_the_healer("swarm-bad-update", "rollback", "bad-deploy").await;
}

/// The same bad update on health-checked tasks: the new task never counts as running, the old
/// one keeps serving, and Swarm rolls the update back by itself. No outage, nobody else acts.
#[tokio::test]
async fn swarm_holds_back_a_bad_update_its_health_check_fails() {
    let scenario = "swarm-bad-update-healthcheck";
    let (_out, output, dir) = run_once(scenario, "swarm").await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    let records = journal(&dir);
    let fault = records
        .iter()
        .find(|r| r["event"] == "fault_injected")
        .expect("the bad version was rolled out");
    assert_eq!(fault["target"], "leaky-0", "{fault}");
    let trial = result(&dir)["trials"][0].clone();
    assert_eq!(trial["outage"], false, "{trial}");
    let failed = records
        .iter()
        .filter(|r| r["event"] == "probe" && r["ok"] == false)
        .count();
    assert_eq!(failed, 0, "no probe of any slot failed");
    assert!(
        !records.iter().any(|r| r["event"] == "action_started"),
        "nobody but Swarm acts"
    );
}

/// Runs `scenario` under the embedded healer and checks it healed the slot the fault hit by
/// `action` (of `runbook`, when not empty), verified, and touched no other slot.
async fn healed_by_the_healer(scenario: &str, action: &str, runbook: &str) {
    let (trial, records, hit) = one_trial(scenario, "embedded").await;
    assert!(
        trial["heals"].as_u64() >= Some(1),
        "the healer healed: {trial}"
    );
    let mttr = trial["mttr_ms"].as_f64().expect("the outage recovered");
    let on_slot = |event: &str| {
        records
            .iter()
            .find(|r| r["event"] == event && r["target"] == hit.as_str())
            .unwrap_or_else(|| panic!("no {event} for {hit}"))
    };
    let started = on_slot("action_started");
    assert_eq!(started["action"], action, "{started}");
    if !runbook.is_empty() {
        assert_eq!(started["runbook"], runbook, "{started}");
    }
    let finished = on_slot("action_finished");
    assert_eq!(finished["ok"], true, "the update's task ran: {finished}");
    let verified = on_slot("verified");
    assert_eq!(verified["ok"], true, "the new task answered: {verified}");
    let acted_on_others = records
        .iter()
        .filter(|r| r["event"] == "action_started" && r["target"] != hit.as_str())
        .count();
    assert_eq!(acted_on_others, 0, "only the slot the fault hit is touched");
    eprintln!(
        "{scenario}, embedded healer: MTTR {:.1} s ({hit})",
        mttr / 1000.0
    );
}

/// Runs `scenario` once under `strategy`, checks that nothing of it remains and that it
/// passed, its fault hit one slot and only that slot failed its probes; gives the trial's
/// result, the journal and the slot the fault hit.
async fn one_trial(
    scenario: &str,
    strategy: &str,
) -> (serde_json::Value, Vec<serde_json::Value>, String) {
    let (_out, output, dir) = run_once(scenario, strategy).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );

    let trial = result(&dir)["trials"][0].clone();
    assert_eq!(trial["outage"], true, "{trial}");
    let records = journal(&dir);
    let fault = records
        .iter()
        .find(|r| r["event"] == "fault_injected")
        .expect("the fault is journalled");
    let hit = fault["target"].as_str().unwrap().to_owned();
    assert!(hit.starts_with("leaky-"), "a slot ran on the node: {fault}");
    let failed_slots: std::collections::BTreeSet<&str> = records
        .iter()
        .filter(|r| r["event"] == "probe" && r["ok"] == false)
        .filter_map(|r| r["target"].as_str())
        .collect();
    assert_eq!(
        failed_slots.into_iter().collect::<Vec<_>>(),
        [hit.as_str()],
        "only the slot the fault hit fails its probes"
    );
    (trial, records, hit)
}

/// Runs `scenario` once under `strategy` and checks that nothing of it remains, whatever the
/// run did; gives its output and run directory, in a temporary directory that goes when it is
/// dropped.
async fn run_once(
    scenario: &str,
    strategy: &str,
) -> (tempfile::TempDir, std::process::Output, std::path::PathBuf) {
    let out = tempfile::tempdir().unwrap();
    let output = run(sim()
        .args(["run", scenario, "--trials", "1", "--strategy", strategy])
        .arg("--out")
        .arg(out.path()));
    let dir = run_dir(out.path(), scenario);
    if let Some(dir) = &dir {
        assert_no_trace(&run_id(dir), host_link(&text(&output.stderr)).as_deref()).await;
    }
    let dir = dir.unwrap_or_else(|| panic!("no run directory: {}", text(&output.stderr)));
    (out, output, dir)
}

/// The host's link into the cluster, `simsw<n>` of the subnet `sim: swarm on 10.213.<n>.0/24`.
fn host_link(stderr: &str) -> Option<String> {
    let (_, rest) = stderr.split_once("swarm on 10.213.")?;
    let (third, _) = rest.split_once(".0/24")?;
    Some(format!("simsw{third}"))
}

/// Nothing of the run remains: namespace, the host's link, process, directory, container.
async fn assert_no_trace(run: &str, host_link: Option<&str>) {
    let prefix = format!("sim-{run}-");
    let netns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let netns = text(&netns.stdout);
    assert!(!netns.contains(&prefix), "namespaces remain:\n{netns}");
    let links = Command::new("ip").args(["-o", "link"]).output().unwrap();
    let links = text(&links.stdout);
    assert!(!links.contains(&prefix), "links remain:\n{links}");
    let host_link = host_link.expect("the run says which subnet its swarm had");
    assert!(
        !links.contains(&format!(" {host_link}:")),
        "the host's link {host_link} remains:\n{links}"
    );
    let dir = Path::new(sim::swarm::DEFAULT_BASE).join(run);
    assert!(!dir.exists(), "{} remains", dir.display());
    let dir_text = dir.to_string_lossy().into_owned();
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        assert!(!cmdline.contains(&dir_text), "a process remains: {cmdline}");
    }
    assert_eq!(
        common::leftovers(run).await,
        (0, 0),
        "the run left Docker objects on the host"
    );
}
