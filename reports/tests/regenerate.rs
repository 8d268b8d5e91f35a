//! Regenerating a run's reports from its journal gives the live run's numbers, and the history
//! index over a runs root shows trends and flags a regression.

mod common;
mod support;

use journal::{Event, Record};
use reports::{History, ResultFile, RunInfo, TrialOutcome};
use support::{copy_run, recorded, regenerated, CRASH, OOM, RUNS};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn assert_opt(name: &str, a: Option<f64>, b: Option<f64>) {
    match (a, b) {
        (Some(a), Some(b)) => assert!(close(a, b), "{name}: {a} != {b}"),
        (a, b) => assert_eq!(a, b, "{name}"),
    }
}

/// Every field of two trials, floats compared to 1e-9 relative (JSON round trips).
fn assert_same_trial(a: &TrialOutcome, b: &TrialOutcome) {
    let floats = |t: &TrialOutcome| {
        [
            t.fault_at_ms,
            t.outage_start_ms,
            t.detected_at_ms,
            t.action_started_at_ms,
            t.recovered_at_ms,
            t.fault_to_outage_ms,
            t.ttd_ms,
            t.tta_ms,
            t.action_to_recovered_ms,
            t.mttr_ms,
            Some(t.downtime_ms),
            t.error_rate,
        ]
    };
    for (i, (x, y)) in floats(a).into_iter().zip(floats(b)).enumerate() {
        assert_opt(&format!("trial {} figure #{i}", a.trial), x, y);
    }
    // A result written before `load_p99_ms` existed lacks it; the journal has it.
    if a.load_p99_ms.is_some() {
        assert_opt(
            &format!("trial {} load p99", a.trial),
            a.load_p99_ms,
            b.load_p99_ms,
        );
    }
    let mut a = a.clone();
    let mut b = b.clone();
    for t in [&mut a, &mut b] {
        t.load_p99_ms = None;
        t.fault_at_ms = None;
        t.outage_start_ms = None;
        t.detected_at_ms = None;
        t.action_started_at_ms = None;
        t.recovered_at_ms = None;
        t.fault_to_outage_ms = None;
        t.ttd_ms = None;
        t.tta_ms = None;
        t.action_to_recovered_ms = None;
        t.mttr_ms = None;
        t.downtime_ms = 0.0;
        t.error_rate = None;
    }
    assert_eq!(a, b);
}

fn assert_same_numbers(live: &ResultFile, again: &ResultFile) {
    assert_eq!(live.trials.len(), again.trials.len());
    for (a, b) in live.trials.iter().zip(&again.trials) {
        assert_same_trial(a, b);
    }
    let (l, r) = (&live.summary, &again.summary);
    assert_eq!(
        (l.passed, l.interrupted, l.healthy_after),
        (r.passed, r.interrupted, r.healthy_after)
    );
    let (lf, rf) = (&l.figures, &r.figures);
    for (name, x, y) in [
        ("success_rate", lf.success_rate, rf.success_rate),
        ("mttr_p50", lf.mttr_p50_ms, rf.mttr_p50_ms),
        ("mttr_p95", lf.mttr_p95_ms, rf.mttr_p95_ms),
        ("mttr_max", lf.mttr_max_ms, rf.mttr_max_ms),
        ("ttd_p50", lf.ttd_p50_ms, rf.ttd_p50_ms),
        ("tta_p50", lf.tta_p50_ms, rf.tta_p50_ms),
        ("downtime", Some(lf.downtime_ms), Some(rf.downtime_ms)),
        ("error_rate", lf.error_rate, rf.error_rate),
    ] {
        assert_opt(name, x, y);
    }
    let counts = |f: &reports::Aggregate| {
        (
            f.trials,
            f.successful_trials,
            f.trials_with_outage,
            f.recovered_trials,
            f.requests_ok,
            f.requests_failed,
            (f.oom_kills, f.actions, f.heals, f.escalations),
        )
    };
    assert_eq!(counts(lf), counts(rf));
    assert_eq!(live.verdicts, again.verdicts);
}

#[test]
fn regenerated_reports_give_the_live_runs_numbers() {
    for run in RUNS {
        let live = recorded(run);
        let (_scratch, _records, again) = regenerated(run);
        let written: ResultFile =
            serde_json::from_str(&std::fs::read_to_string(&again.paths.result_json).unwrap())
                .unwrap();
        assert_same_numbers(&live, &written);
        assert_same_numbers(&live, &ResultFile::new(&again.summary, &again.info));
        assert_eq!(written.run.run_id, live.run.run_id);
        assert_eq!(written.run.scenario, live.run.scenario);
        assert_eq!(written.run.started_unix_ms, live.run.started_unix_ms);
        // The expectations are now recorded beside the verdicts, so the next regeneration
        // needs no guessing from verdict labels.
        assert_eq!(
            written.expect.recovered_within,
            Some(std::time::Duration::from_secs(10))
        );
        assert_eq!(written.expect.max_error_rate, Some(0.1));
        for path in [
            &again.paths.report_html,
            &again.paths.junit_xml,
            &again.paths.summary_md,
        ] {
            assert!(std::fs::metadata(path).unwrap().len() > 100, "{path:?}");
        }
    }
}

#[test]
fn regenerating_twice_changes_nothing() {
    let (_scratch, _records, first) = regenerated(CRASH);
    let dir = first.paths.result_json.parent().unwrap().to_owned();
    let html = std::fs::read_to_string(&first.paths.report_html).unwrap();
    let json = std::fs::read_to_string(&first.paths.result_json).unwrap();
    let second = reports::regenerate(&dir).unwrap();
    assert_eq!(
        std::fs::read_to_string(&second.paths.report_html).unwrap(),
        html
    );
    assert_eq!(
        std::fs::read_to_string(&second.paths.result_json).unwrap(),
        json
    );
}

#[test]
fn regenerating_without_result_json_says_what_is_missing() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = copy_run(CRASH, scratch.path());
    std::fs::remove_file(dir.join("result.json")).unwrap();
    let err = reports::regenerate(&dir).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("result.json") && message.contains("K"),
        "{message}"
    );
    assert!(!dir.join("report.html").exists());
}

/// A one-trial `oom-recovery` run, started at `unix_ms`, whose outage lasts `mttr_ms`.
fn slow_run(root: &std::path::Path, unix_ms: u64, mttr_ms: f64) {
    let dir = root.join("oom-recovery/20261201T000000Z-5104a11e");
    std::fs::create_dir_all(&dir).unwrap();
    let probe = |ok| Event::Probe {
        target: "leaky-0".into(),
        ok,
        status: ok.then_some(200),
        latency_ms: 1.0,
        error: None,
    };
    let mut entries = vec![
        (
            0.0,
            0,
            Event::RunStarted {
                run_id: "5104a11e".into(),
                scenario: "oom-recovery".into(),
                trials: 1,
                sim_version: "0.1.0".into(),
                strategy: None,
                seed: None,
            },
        ),
        (1.0, 1, Event::TrialStarted),
        (
            2.0,
            1,
            Event::TargetReady {
                target: "leaky-0".into(),
            },
        ),
        (100.0, 1, probe(true)),
        (1000.0, 1, probe(false)),
    ];
    for i in 0..3 {
        entries.push((1000.0 + mttr_ms + f64::from(i) * 50.0, 1, probe(true)));
    }
    entries.push((
        1000.0 + mttr_ms + 500.0,
        1,
        Event::TrialEnded { interrupted: false },
    ));
    let records: Vec<Record> = common::journal(entries)
        .into_iter()
        .map(|mut r| {
            r.unix_ms = unix_ms + r.t_ms as u64;
            r
        })
        .collect();
    let lines: String = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(dir.join("journal.jsonl"), lines).unwrap();
    let summary = reports::summarize(&records, 3, &reports::Expectations::default());
    let info = RunInfo {
        run_id: "5104a11e".into(),
        scenario: "oom-recovery".into(),
        journal: dir.join("journal.jsonl"),
        started_unix_ms: unix_ms,
        interrupted: false,
    };
    reports::write_result_json(&summary, &info, &dir.join("result.json")).unwrap();
}

#[test]
fn history_shows_trends_and_flags_a_slower_latest_run() {
    let root = tempfile::tempdir().unwrap();
    copy_run(OOM, root.path());
    copy_run(CRASH, root.path());
    // A second, later oom-recovery run whose MTTR is 8 s: far above 1.5 × the earlier 1.2 s.
    slow_run(root.path(), 1_800_000_000_000, 8000.0);
    // A run directory without result.json is listed, with the reason.
    let broken = root.path().join("crash-recovery/20261130T000000Z-deadbeef");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::copy(
        support::fixtures().join(CRASH).join("journal.jsonl"),
        broken.join("journal.jsonl"),
    )
    .unwrap();

    let history = History::load(root.path()).unwrap();
    let runs: Vec<(&str, &str)> = history
        .runs()
        .iter()
        .map(|r| (r.scenario.as_str(), r.run_id.as_str()))
        .collect();
    assert_eq!(
        runs,
        [
            ("crash-recovery", "4a00b1e7"),
            ("crash-recovery", "deadbeef"),
            ("oom-recovery", "97b1aacb"),
            ("oom-recovery", "5104a11e"),
        ]
    );
    let live = recorded(OOM);
    let oom = &history.runs()[2];
    let figures = oom.figures.as_ref().unwrap();
    assert_eq!(figures.mttr_p50_ms, live.summary.figures.mttr_p50_ms);
    assert_eq!(figures.success_rate, Some(1.0));
    assert!(history.runs()[1]
        .figures
        .as_ref()
        .unwrap_err()
        .contains("result.json"));

    let regression = history.regression("oom-recovery").unwrap();
    assert!(
        regression.mttr && !regression.success_rate,
        "{regression:?}"
    );
    // The crash-recovery run with figures has no earlier run to compare with.
    assert_eq!(history.regression("crash-recovery"), None);

    let index = history.render_index();
    let ids = support::chart_ids(&index);
    for id in [
        "mttr-trend-oom-recovery",
        "success-trend-oom-recovery",
        "mttr-trend-crash-recovery",
        "success-trend-crash-recovery",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} missing from {ids:?}");
    }
    assert_eq!(index.matches("<tr class=\"regression\">").count(), 1);
    assert!(index.contains("Regression in the latest run: MTTR p50"));
    assert!(index.contains("href=\"oom-recovery/20261201T000000Z-5104a11e/report.html\""));
    assert!(!index.contains("<script"));
    let path = history.write_index().unwrap();
    assert_eq!(path, root.path().join("index.html"));
    assert_eq!(std::fs::read_to_string(path).unwrap(), index);
}
