//! SIGKILL at any point of a multi-trial `sim run` (`oom-recovery --trials 3`, and
//! `network-latency` with its balancer and network proxies mid-fault): the journal holds only
//! whole records (at most its last line torn), `sim report` rebuilds a report marked interrupted
//! from it, and `sim gc` then removes every container, network, volume and image the run left.
//! One `sim` process per kill point, each chosen by polling the journal for an event.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use journal::{Event, Record};
use tokio::time::Instant;

use common::{
    leftover_images, leftover_volumes, leftovers, remove_run, run, run_dir, run_id, sim, text,
};

/// How often the journal is read for the event to kill at.
const POLL: Duration = Duration::from_millis(20);

/// How long a kill point may take to come.
const PATIENCE: Duration = Duration::from_secs(120);

/// A moment of a run of `scenario`: the first journal state where `reached` holds and `passed`
/// does not. The run then holds at least `containers` containers, which `sim gc` must remove.
struct KillPoint {
    scenario: &'static str,
    name: &'static str,
    containers: usize,
    reached: fn(&[Record]) -> bool,
    passed: fn(&[Record]) -> bool,
}

#[tokio::test]
async fn sigkill_during_the_first_trials_startup() {
    killed_at(KillPoint {
        scenario: "oom-recovery",
        name: "trial 1 started, its target not ready",
        containers: 0,
        reached: |records| has(records, 1, |e| matches!(e, Event::TrialStarted)),
        passed: |records| has(records, 1, |e| matches!(e, Event::TargetReady { .. })),
    })
    .await;
}

#[tokio::test]
async fn sigkill_mid_fault() {
    killed_at(KillPoint {
        scenario: "oom-recovery",
        name: "trial 1's fault injected, no action yet",
        containers: 1,
        reached: |records| has(records, 1, |e| matches!(e, Event::FaultInjected { .. })),
        passed: |records| has(records, 1, |e| matches!(e, Event::ActionStarted { .. })),
    })
    .await;
}

#[tokio::test]
async fn sigkill_during_the_healers_action() {
    killed_at(KillPoint {
        scenario: "oom-recovery",
        name: "trial 1's action started, not finished",
        containers: 1,
        reached: |records| has(records, 1, |e| matches!(e, Event::ActionStarted { .. })),
        passed: |records| has(records, 1, |e| matches!(e, Event::ActionFinished { .. })),
    })
    .await;
}

#[tokio::test]
async fn sigkill_between_trials() {
    killed_at(KillPoint {
        scenario: "oom-recovery",
        name: "trial 1 ended, trial 2 not started",
        containers: 0,
        reached: |records| has(records, 1, |e| matches!(e, Event::TrialEnded { .. })),
        passed: |records| has(records, 2, |e| matches!(e, Event::TrialStarted)),
    })
    .await;
}

/// The balancer, three replicas and their three network proxies, a toxic in force.
#[tokio::test]
async fn sigkill_during_a_network_fault() {
    killed_at(KillPoint {
        scenario: "network-latency",
        name: "trial 1's network fault injected, not cleared",
        containers: 7,
        reached: |records| has(records, 1, |e| matches!(e, Event::FaultInjected { .. })),
        passed: |records| has(records, 1, |e| matches!(e, Event::FaultCleared { .. })),
    })
    .await;
}

/// Whether a record of `trial` is an event that `is` picks.
fn has(records: &[Record], trial: u32, is: fn(&Event) -> bool) -> bool {
    records
        .iter()
        .any(|r| r.trial == Some(trial) && is(&r.event))
}

/// Runs the scenario, SIGKILLs sim at `point`, checks the journal, the report and `sim gc`;
/// whatever happens, then removes what the run left (by its label) and only then passes on a
/// failure.
async fn killed_at(point: KillPoint) {
    let out = tempfile::tempdir().unwrap();
    let root = out.path().to_owned();
    let scenario = point.scenario;
    let outcome = tokio::spawn(kill_and_check(point, root.clone())).await;
    if let Some(dir) = run_dir(&root, scenario) {
        remove_run(&run_id(&dir)).await;
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

/// A `sim` process killed (SIGKILL) and reaped when dropped, so a failing test leaves no
/// process, not even a zombie that `sim gc` would take for a live run.
struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn kill_and_check(point: KillPoint, out: PathBuf) {
    let stderr = out.join("sim.stderr");
    let mut sim_run = Sim(sim()
        .args(["run", point.scenario, "--trials", "3", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap());

    let started = Instant::now();
    let dir = loop {
        assert!(
            started.elapsed() < PATIENCE,
            "{}: not reached within {PATIENCE:?}",
            point.name
        );
        if let Some(status) = sim_run.0.try_wait().unwrap() {
            let said = std::fs::read_to_string(&stderr).unwrap_or_default();
            panic!(
                "{}: sim exited ({status}) before it was reached\n{said}",
                point.name
            );
        }
        if let Some(dir) = run_dir(&out, point.scenario) {
            let records = journal::read_journal(&dir.join("journal.jsonl")).unwrap_or_default();
            if (point.reached)(&records) {
                assert!(
                    !(point.passed)(&records),
                    "{}: polled {POLL:?} apart, the journal went past it",
                    point.name
                );
                break dir;
            }
        }
        tokio::time::sleep(POLL).await;
    };
    let reached_at = started.elapsed();
    sim_run.0.kill().unwrap();
    sim_run.0.wait().unwrap();
    drop(sim_run);

    let records = whole_records(&dir);
    assert!((point.reached)(&records), "{}", point.name);
    assert!(
        !(point.passed)(&records),
        "{}: sim went past it before the kill",
        point.name
    );
    assert!(
        !records
            .iter()
            .any(|r| matches!(r.event, Event::RunEnded { .. })),
        "a killed run journalled run_ended"
    );
    assert_reported_interrupted(&dir, &out);
    let run = run_id(&dir);
    let (containers, networks) = leftovers(&run).await;
    assert!(
        containers >= point.containers && networks >= 1,
        "{}: the kill left {containers} container(s) and {networks} network(s)",
        point.name
    );
    assert_gc_removes_the_run(&run).await;
    println!(
        "{} {}: killed {:.1}s after the start, {} records; gc removed {containers} \
         container(s), {networks} network(s)",
        point.scenario,
        point.name,
        reached_at.as_secs_f64(),
        records.len()
    );
}

/// The records of the journal in `dir`, each complete line parsed as a `journal::Record`; only
/// the text after the last newline may be a torn record. `journal::read_journal`, which
/// `sim report` reads with, returns the same records.
fn whole_records(dir: &Path) -> Vec<Record> {
    let path = dir.join("journal.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let (complete, torn) = match text.rfind('\n') {
        Some(end) => (&text[..end], &text[end + 1..]),
        None => ("", text.as_str()),
    };
    let records: Vec<Record> = complete
        .lines()
        .enumerate()
        .map(|(index, line)| {
            serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("journal line {} is not a record ({e}): {line}", index + 1)
            })
        })
        .collect();
    assert!(
        torn.is_empty() || serde_json::from_str::<Record>(torn).is_err(),
        "the last line is a whole record without its newline: {torn}"
    );
    assert_eq!(
        journal::read_journal(&path).unwrap().len(),
        records.len(),
        "the journal reader disagrees on the records"
    );
    records
}

/// `sim report` rebuilds the run's reports (exit 0: the command succeeded) and every one of
/// them says the run was interrupted and failed.
fn assert_reported_interrupted(dir: &Path, out: &Path) {
    let output = run(sim().arg("report").arg(dir).arg("--out").arg(out));
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("{}: FAIL", dir.display())),
        "{stdout}"
    );

    let result = common::result(dir);
    assert_eq!(result["run"]["interrupted"], true, "{result}");
    assert_eq!(result["summary"]["interrupted"], true, "{result}");
    assert_eq!(result["summary"]["passed"], false, "{result}");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    assert!(read("report.html").contains("FAIL</span> (run interrupted)"));
    let junit = read("junit.xml");
    assert!(
        junit.contains("the run was interrupted: its figures are incomplete"),
        "{junit}"
    );
    assert!(read("summary.md").contains("(interrupted)"));
}

/// `sim gc` (no `--force`: the killed run's owner is gone) removes the run's objects and says
/// so; nothing of the run is left in Docker.
async fn assert_gc_removes_the_run(run: &str) {
    let output = common::run(sim().args(["gc", "--json"]));
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let collected = report["runs"].as_array().unwrap();
    assert!(collected.iter().any(|r| r == run), "{report}");
    assert_eq!(
        leftovers(run).await,
        (0, 0),
        "gc left containers or networks"
    );
    assert_eq!(leftover_volumes(run).await, 0, "gc left volumes");
    assert_eq!(leftover_images(run).await, 0, "gc left images");
}
