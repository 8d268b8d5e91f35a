//! Regenerating a run's reports from its journal gives the live run's numbers (from the journal
//! alone when `run_started` records the setup), and the history index over a runs root shows
//! trends and flags a regression.

mod common;
mod support;

use common::*;
use journal::{Event, Record, RunSetup};
use reports::{Expectations, History, ResultFile, RunInfo, TrialOutcome};
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

/// The largest probe latency of `records`.
fn max_latency_ms(records: &[Record]) -> f64 {
    records
        .iter()
        .filter_map(|r| match r.event {
            Event::Probe { latency_ms, .. } => Some(latency_ms),
            _ => None,
        })
        .fold(0.0, f64::max)
}

/// The fixtures are journals from before `run_started.setup`, with the `result.json` their live
/// runs wrote (schema 1, when a probe counted at its record: its answer). Regenerating takes K
/// and the expectations from that file and applies today's definitions: the figures are those a
/// live run writes for the same journal; what does not depend on probe timing is what the live
/// run wrote. An outage start (a failed probe's send time) moved earlier by at most one probe
/// latency; a recovery is still dated by a good probe's answer, so it is where the live run put
/// it, later than that probe's send time by its latency (at most one).
#[test]
fn regenerated_reports_give_the_live_runs_numbers() {
    for run in RUNS {
        let live = recorded(run);
        let (_scratch, records, again) = regenerated(run);
        let written: ResultFile =
            serde_json::from_str(&std::fs::read_to_string(&again.paths.result_json).unwrap())
                .unwrap();
        assert_same_numbers(&written, &ResultFile::new(&again.summary, &again.info));
        let today = reports::summarize(&records, live.summary.healthy_after, &written.expect);
        assert_same_numbers(&written, &ResultFile::new(&today, &again.info));

        assert_eq!(written.run.run_id, live.run.run_id);
        assert_eq!(written.run.scenario, live.run.scenario);
        assert_eq!(written.run.started_unix_ms, live.run.started_unix_ms);
        assert_eq!(written.summary.healthy_after, live.summary.healthy_after);
        let verdicts = |r: &ResultFile| -> Vec<(String, bool)> {
            r.verdicts
                .iter()
                .map(|v| (v.expectation.clone(), v.passed))
                .collect()
        };
        assert_eq!(verdicts(&written), verdicts(&live));
        // One latency, and a nanosecond for the rounding of `t_ms − latency_ms`.
        let slack = max_latency_ms(&records) + 1e-6;
        assert!(slack > 1.0 && slack < 600.0, "{run}: {slack}");
        assert_eq!(written.trials.len(), live.trials.len());
        for (now, then) in written.trials.iter().zip(&live.trials) {
            let same = |t: &TrialOutcome| {
                (
                    (t.success, t.outage, t.outage_cause, t.interrupted),
                    (t.requests_ok, t.requests_failed),
                    (t.oom_kills, t.actions, t.heals, t.escalations),
                )
            };
            assert_eq!(same(now), same(then), "{run} trial {}", now.trial);
            let untimed = |t: &TrialOutcome| {
                [
                    t.fault_at_ms,
                    t.detected_at_ms,
                    t.action_started_at_ms,
                    t.tta_ms,
                    t.error_rate,
                ]
            };
            for (i, (a, b)) in untimed(now).into_iter().zip(untimed(then)).enumerate() {
                assert_opt(&format!("{run} trial {} figure #{i}", now.trial), a, b);
            }
            let trial = now.trial;
            let (start, then_start) = (now.outage_start_ms.unwrap(), then.outage_start_ms.unwrap());
            assert!(
                start <= then_start && then_start - start <= slack,
                "{run} trial {trial} outage start: {start} vs {then_start}"
            );
            let recovered = now.recovered_at_ms.unwrap();
            assert_opt(
                &format!("{run} trial {trial} recovered"),
                Some(recovered),
                then.recovered_at_ms,
            );
            // The good probe whose answer is the recovery: sent after the outage start, and
            // answered at most one latency after it was sent (its send time is what dating the
            // recovery by send time would have given).
            let good = records
                .iter()
                .find(|r| {
                    r.trial == Some(trial)
                        && close(r.t_ms, recovered)
                        && matches!(&r.event, Event::Probe { ok: true, target, .. }
                            if Some(target) == now.outage_target.as_ref())
                })
                .unwrap_or_else(|| panic!("{run} trial {trial}: no good probe at {recovered}"));
            let sent = good.probe_sent_ms().unwrap();
            assert!(
                start < sent && recovered - sent <= slack,
                "{run} trial {trial}: good probe sent at {sent}, answered at {recovered}"
            );
            // The recovery did not move, so the MTTR grew by what the outage start moved.
            let (mttr, then_mttr) = (now.mttr_ms.unwrap(), then.mttr_ms.unwrap());
            assert!(
                mttr - then_mttr >= -1e-6 && mttr - then_mttr <= slack,
                "{run} trial {trial} mttr: {mttr} vs {then_mttr}"
            );
            // One failing span per trial in these runs: its two ends moved by one latency each.
            let (down, then_down) = (now.downtime_ms, then.downtime_ms);
            assert!(
                (down - then_down).abs() <= slack,
                "{run} trial {trial} downtime: {down} vs {then_down}"
            );
        }
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
                setup: None,
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
    // A second, later oom-recovery run whose MTTR is 8 s: far above 1.5 × the earlier 1.3 s.
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
    let (_scratch, _records, again) = regenerated(OOM);
    let oom = &history.runs()[2];
    let figures = oom.figures.as_ref().unwrap();
    assert_eq!(figures.mttr_p50_ms, again.summary.aggregate.mttr_p50_ms);
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

/// A probe of `T` sent at `sent_ms` that took `latency_ms`, as its record is written.
fn sent(trial: u32, sent_ms: f64, latency_ms: f64, ok: bool) -> (f64, u32, Event) {
    (sent_ms + latency_ms, trial, probe_took(T, ok, latency_ms))
}

/// One crash trial as a live run journals it, from `offset`: probes every 50 ms whose records
/// are out of send order (those sent while the container starts time out after 500 ms), a death
/// and a start, the healer's detection, restart and verification, resource samples and load
/// windows. The entries are in record order.
fn crash_trial(trial: u32, offset: f64) -> Vec<(f64, u32, Event)> {
    let at = |t: f64| offset + t;
    let mut entries = vec![
        (at(0.0), trial, trial_started()),
        (at(50.0), trial, ready(T)),
        (at(1000.0), trial, fault(T)),
        (at(1010.0), trial, docker(T, "die")),
        (at(1011.0), trial, detected(T)),
        (at(1012.0), trial, action_started(T)),
        (at(1300.0), trial, docker(T, "start")),
        (at(1310.0), trial, action_finished(T, true)),
        (at(1900.0), trial, verified(T, true)),
        (at(3000.0), trial, load(2900, 40)),
        (at(3100.0), trial, trial_ended(false)),
    ];
    for i in 0..58 {
        let sent_ms = at(100.0 + 50.0 * f64::from(i));
        let since = sent_ms - offset;
        entries.push(match since {
            s if (1010.0..1300.0).contains(&s) => sent(trial, sent_ms, 1.0, false),
            s if (1300.0..1500.0).contains(&s) => sent(trial, sent_ms, 500.0, false),
            _ => sent(trial, sent_ms, 3.0, true),
        });
    }
    for i in 1..=3_u32 {
        let t = at(1000.0 * f64::from(i));
        entries.push((
            t - 1.0,
            trial,
            Event::ResourceSample {
                target: T.into(),
                memory_bytes: 40_000_000 + 1_000_000 * u64::from(i),
                memory_limit_bytes: Some(134_217_728),
                cpu_percent: (i > 1).then_some(12.5),
                throttled_ms: (i > 1).then_some(0.0),
                source: "cgroup".into(),
            },
        ));
        entries.push((
            t,
            trial,
            Event::LoadWindow {
                window_ms: 1000.0,
                ok: 950,
                failed: if i == 2 { 40 } else { 0 },
                p50_ms: Some(2.0),
                p99_ms: Some(if i == 2 { 480.0 } else { 9.0 }),
                max_ms: Some(if i == 2 { 510.0 } else { 14.0 }),
            },
        ));
    }
    entries.sort_by(|a, b| a.0.total_cmp(&b.0));
    entries
}

/// A run whose `run_started` records its setup, with the result its live run would write.
fn run_with_setup(dir: &std::path::Path) -> (Vec<Record>, ResultFile) {
    let expect = Expectations {
        recovered_within: Some(std::time::Duration::from_secs(1)),
        max_error_rate: Some(0.05),
        healed: Some(true),
        ..Expectations::default()
    };
    let setup = RunSetup {
        healthy_after: 3,
        probe_interval_ms: 50.0,
        probe_timeout_ms: 500.0,
        expect: serde_json::to_value(&expect).unwrap(),
        strategy_settings: Default::default(),
        observe_up_to_ms: None,
        scenario_text: "name: crash-recovery\ntrials: 2\n".into(),
    };
    let mut entries = vec![(
        0.0,
        0,
        Event::RunStarted {
            run_id: "5e70b001".into(),
            scenario: "crash-recovery".into(),
            trials: 2,
            sim_version: "0.1.0".into(),
            strategy: Some("embedded".into()),
            seed: None,
            setup: Some(setup),
        },
    )];
    entries.extend(crash_trial(1, 100.0));
    entries.extend(crash_trial(2, 4000.0));
    entries.push((7200.0, 0, run_ended(false)));
    let records = journal(entries);
    let lines: String = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(dir.join(reports::JOURNAL_FILE), lines).unwrap();
    let summary = reports::summarize(&records, 3, &expect);
    let info = RunInfo {
        run_id: "5e70b001".into(),
        scenario: "crash-recovery".into(),
        journal: dir.join(reports::JOURNAL_FILE),
        started_unix_ms: records[0].unix_ms,
        interrupted: false,
    };
    let paths = reports::write_reports(dir, &records, &summary, &info).unwrap();
    let text = std::fs::read_to_string(paths.result_json).unwrap();
    (records, serde_json::from_str(&text).unwrap())
}

#[test]
fn a_journal_with_its_setup_regenerates_every_report_alone() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let (records, live) = run_with_setup(dir);
    // The journal is written in answer order: some probe records are out of send order.
    let sent: Vec<f64> = records.iter().filter_map(|r| r.probe_sent_ms()).collect();
    assert!(sent.windows(2).any(|w| w[1] < w[0]), "{sent:?}");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name() != Some(reports::JOURNAL_FILE.as_ref()) {
            std::fs::remove_file(path).unwrap();
        }
    }

    let again = reports::regenerate(dir).unwrap();
    let text = std::fs::read_to_string(&again.paths.result_json).unwrap();
    let written: ResultFile = serde_json::from_str(&text).unwrap();
    assert_eq!(written.summary, live.summary);
    assert_eq!(written, live);
    for path in [
        &again.paths.report_html,
        &again.paths.junit_xml,
        &again.paths.summary_md,
    ] {
        assert!(std::fs::metadata(path).unwrap().len() > 100, "{path:?}");
    }
    // The figures are taken in send order: the death at 1110 starts the outage, and the probe
    // sent at 1600 (the first good one after those that timed out, recorded from 1900 to 2050)
    // ends it when it answered, 3 ms later; the trial passes.
    let t = &written.trials[0];
    assert_eq!(
        (t.outage_start_ms, t.recovered_at_ms),
        (Some(1110.0), Some(1600.0 + 3.0))
    );
    assert_eq!((t.heals, t.unverified), (1, 0));
    assert!(written.summary.passed, "{:?}", written.verdicts);
}

#[test]
fn regenerating_a_setup_with_bad_expectations_says_where() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    run_with_setup(dir);
    let path = dir.join(reports::JOURNAL_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = text.replacen("\"healed\":true", "\"healed\":\"yes\"", 1);
    assert_ne!(broken, text);
    std::fs::write(&path, broken).unwrap();
    let message = reports::regenerate(dir).unwrap_err().to_string();
    assert!(message.contains("run_started.setup.expect"), "{message}");
}
