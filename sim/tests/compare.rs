//! `sim compare` end to end against the real Docker engine, through the `sim` binary: the same
//! OOM scenario with no healer and with the embedded healer, side by side, the unhealed trial
//! observed to its bound; and the crash scenario under the floor (a bare `start` on `die`) and
//! the embedded healer, measured against the floor.

mod common;

use std::path::Path;

use common::{compare_dir, journal, leftovers, run, run_dir, run_id, sim, text};

/// Runs `sim compare ARGS --out OUT`, asserts it exited 0, and returns its stdout.
fn compare(out: &Path, args: &[&str]) -> String {
    let output = run(sim().arg("compare").args(args).arg("--out").arg(out));
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&output.stderr)
    );
    stdout
}

#[tokio::test]
async fn none_never_recovers_and_embedded_heals_the_leaking_target() {
    let out = tempfile::tempdir().unwrap();
    let stdout = compare(
        out.path(),
        &[
            "oom-recovery",
            "--strategies",
            "none,embedded",
            "--trials",
            "1",
            "--observe-up-to",
            "4s",
        ],
    );

    let dir = compare_dir(out.path(), "oom-recovery");
    let none_dir = run_dir(&dir.join("none"), "oom-recovery").expect("the none run");
    let embedded_dir = run_dir(&dir.join("embedded"), "oom-recovery").expect("the embedded run");
    // Each run says which strategy it ran under; only the embedded healer acted.
    for (run_dir, strategy) in [(&none_dir, "none"), (&embedded_dir, "embedded")] {
        let records = journal(run_dir);
        assert_eq!(records[0]["event"], "run_started");
        assert_eq!(records[0]["strategy"], strategy);
        // The target went down. (Near its limit the kernel may thrash for the whole trial
        // instead of OOM-killing, so the outage, not the `oom` event, is what every run has.)
        assert!(
            records
                .iter()
                .any(|r| r["event"] == "probe" && r["ok"] == false),
            "{strategy}: no failed probe"
        );
        let acted = records.iter().any(|r| r["event"] == "action_started");
        assert_eq!(acted, strategy == "embedded", "{strategy}");
        assert_eq!(
            records[0]["setup"]["observe_up_to_ms"], 4000.0,
            "{strategy}: the bound is not journalled"
        );
        assert_eq!(
            leftovers(&run_id(run_dir)).await,
            (0, 0),
            "{strategy} left Docker objects"
        );
    }

    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} line in\n{stdout}"))
            .to_owned()
    };
    // strategy, outages, recovered: both saw the outage; only the embedded healer ended it.
    let columns = |line: &str| {
        line.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let none = line("none ");
    assert_eq!(columns(&none), "none 1/1 0/1", "{none}");
    // The outage never ended, so the trial observed to its bound: 12s of load, 4s more, then
    // the 3s settle; the "never" says how long that was.
    let within: f64 = none
        .split("never (within ")
        .nth(1)
        .and_then(|rest| rest.split("s)").next())
        .and_then(|secs| secs.parse().ok())
        .unwrap_or_else(|| panic!("no never (within Ns) in {none}"));
    assert!(within >= 12.0 + 4.0 + 3.0, "{none}");
    let none_records = journal(&none_dir);
    let time = |event: &str| {
        none_records
            .iter()
            .find(|r| r["event"] == event)
            .and_then(|r| r["t_ms"].as_f64())
            .unwrap_or_else(|| panic!("no {event} in the none run"))
    };
    let observed = time("load") - time("target_ready");
    assert!(
        (12_000.0 + 4_000.0..12_000.0 + 4_000.0 + 2_500.0).contains(&observed),
        "the unhealed trial's load ran {observed} ms, not 12s plus the 4s bound"
    );
    let embedded = line("embedded ");
    assert_eq!(columns(&embedded), "embedded 1/1 1/1", "{embedded}");
    assert!(!embedded.contains("never"), "{embedded}");

    let html = std::fs::read_to_string(dir.join("compare.html")).unwrap();
    assert!(html.contains("<svg"), "the chart is missing");
    assert!(html.contains("never (within "));
    assert!(stdout.contains("compare.html"), "{stdout}");
    // No floor compared, no floor column.
    assert!(!stdout.contains("/ floor"), "{stdout}");
}

/// The seconds in a cell such as `1.246s`.
fn seconds(cell: &str) -> f64 {
    cell.strip_suffix('s')
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{cell:?} is not a time"))
}

#[tokio::test]
async fn the_floor_starts_the_crashed_target_and_every_strategy_is_measured_against_it() {
    let out = tempfile::tempdir().unwrap();
    let stdout = compare(
        out.path(),
        &[
            "crash-recovery",
            "--strategies",
            "floor,embedded",
            "--trials",
            "1",
        ],
    );

    // The table: the floor's column right after MTTR p50, its cells under it.
    let lines: Vec<&str> = stdout.lines().collect();
    let header = lines
        .iter()
        .find(|l| l.starts_with("strategy "))
        .unwrap_or_else(|| panic!("no header in\n{stdout}"));
    let column = |name: &str| {
        header
            .find(name)
            .unwrap_or_else(|| panic!("no {name:?} column in\n{stdout}"))
    };
    let (p50_at, ratio_at) = (column("MTTR p50 "), column("MTTR p50 / floor"));
    assert!(
        p50_at < ratio_at && ratio_at < column("MTTR p95"),
        "{header}"
    );
    let row = |name: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} row in\n{stdout}"))
            .to_owned()
    };
    let cell = |line: &str, at: usize| line[at..].split_whitespace().next().unwrap().to_owned();
    let floor = row("floor");
    let columns: Vec<&str> = floor.split_whitespace().take(3).collect();
    assert_eq!(
        columns,
        ["floor", "1/1", "1/1"],
        "an outage, recovered:\n{stdout}"
    );
    let floor_mttr = seconds(&cell(floor, p50_at));
    assert!(
        floor_mttr > 0.0 && floor_mttr < 5.0,
        "floor MTTR {floor_mttr}s:\n{stdout}"
    );
    assert_eq!(cell(floor, ratio_at), "1.00×", "{stdout}");
    let embedded = row("embedded");
    let embedded_mttr = seconds(&cell(embedded, p50_at));
    let ratio = cell(embedded, ratio_at);
    let multiple: f64 = ratio
        .strip_suffix('×')
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("{ratio:?} is not a multiple:\n{stdout}"));
    assert!(
        (multiple - embedded_mttr / floor_mttr).abs() < 0.01 + 0.005 * multiple,
        "{ratio} is not {embedded_mttr} / {floor_mttr}"
    );
    let html =
        std::fs::read_to_string(compare_dir(out.path(), "crash-recovery").join("compare.html"))
            .unwrap();
    assert!(
        html.contains("<th>MTTR p50 / floor</th>"),
        "no floor column in compare.html"
    );
    assert!(
        html.contains("<td>1.00×</td>"),
        "no floor ratio in compare.html"
    );

    // The floor's record: the crash's `die`, the floor's `start` call and Docker's start after
    // it (the recorder and the floor read the `die` from streams of their own, so those two
    // may be journalled in either order); no runbook, no verification.
    let dir = compare_dir(out.path(), "crash-recovery");
    let floor_dir = run_dir(&dir.join("floor"), "crash-recovery").expect("the floor run");
    let records = journal(&floor_dir);
    assert_eq!(records[0]["strategy"], "floor");
    let index = |what: &dyn Fn(&serde_json::Value) -> bool| {
        records
            .iter()
            .position(what)
            .unwrap_or_else(|| panic!("not in the floor's journal"))
    };
    let died = index(&|r| r["event"] == "docker" && r["action"] == "die");
    let acted = index(&|r| {
        r["event"] == "action_started" && r["runbook"] == "floor" && r["action"] == "start"
    });
    let finished = index(&|r| r["event"] == "action_finished" && r["runbook"] == "floor");
    let restarted = records
        .iter()
        .enumerate()
        .position(|(i, r)| i > acted && r["event"] == "docker" && r["action"] == "start")
        .expect("no container start after the floor's");
    // The floor acted on that death (its own `detected` names it), and Docker's start came
    // after the floor's call.
    let detected =
        index(&|r| r["event"] == "detected" && r["incident"] == records[acted]["incident"]);
    assert!(
        records[detected]["signal"]
            .as_str()
            .is_some_and(|s| s.starts_with("die")),
        "{}",
        records[detected]
    );
    assert!(records[died]["t_ms"].as_f64() <= records[restarted]["t_ms"].as_f64());
    assert!(
        detected < acted && acted < restarted,
        "detected, start call, started: out of order"
    );
    assert_eq!(records[finished]["ok"], true, "{}", records[finished]);
    for absent in ["verified", "runbook_selected"] {
        assert!(
            !records.iter().any(|r| r["event"] == absent),
            "the floor journalled {absent}"
        );
    }
    assert_eq!(
        leftovers(&run_id(&floor_dir)).await,
        (0, 0),
        "the floor run left Docker objects"
    );
}
