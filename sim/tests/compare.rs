//! `sim compare` end to end against the real Docker engine, through the `sim` binary: the same
//! OOM scenario with no healer and with the embedded healer, side by side.

mod common;

use std::path::{Path, PathBuf};

use common::{journal, leftovers, run, run_dir, run_id, sim, text};

/// The comparison directory `<out>/<scenario>/compare-<stamp>/`.
fn compare_dir(out: &Path, scenario: &str) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(out.join(scenario))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.into_iter().next().unwrap()
}

#[tokio::test]
async fn none_never_recovers_and_embedded_heals_the_leaking_target() {
    let out = tempfile::tempdir().unwrap();
    let output = run(sim()
        .args([
            "compare",
            "oom-recovery",
            "--strategies",
            "none,embedded",
            "--trials",
            "1",
            "--out",
        ])
        .arg(out.path()));
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&output.stderr)
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
    assert!(none.contains("never (within "), "{none}");
    let embedded = line("embedded ");
    assert_eq!(columns(&embedded), "embedded 1/1 1/1", "{embedded}");
    assert!(!embedded.contains("never"), "{embedded}");

    let html = std::fs::read_to_string(dir.join("compare.html")).unwrap();
    assert!(html.contains("<svg"), "the chart is missing");
    assert!(html.contains("never (within "));
    assert!(stdout.contains("compare.html"), "{stdout}");
}
