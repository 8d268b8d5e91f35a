//! Outputs of a summary: the terminal table, `result.json`, and summaries of journal files.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use journal::{read_journal, Event, Journal, Sink};
use reports::{summarize, write_result_json, Expectations, ResultFile, RunInfo, RunSummary};

fn expectations() -> Expectations {
    Expectations {
        recovered_within: Some(Duration::from_secs(1)),
        max_error_rate: Some(0.02),
        min_success_rate: None,
        ..Expectations::default()
    }
}

/// Trial 1: the OOM trial (MTTR 550 ms, from the death to the first good answer); trial 2: the
/// healer restarts before users see the outage (TTD -100 ms, MTTR 400 ms).
fn two_trials() -> Vec<(f64, u32, Event)> {
    let mut entries = vec![(0.0, 0, run_started())];
    entries.extend(oom_trial(1, 0.0));
    entries.extend([
        (10_000.0, 2, trial_started()),
        (10_000.0, 2, ready(T)),
        (10_100.0, 2, fault(T)),
        (10_300.0, 2, detected(T)),
        (10_350.0, 2, action_started(T)),
        (10_400.0, 2, docker(T, "die")),
        (10_500.0, 2, probe(T, false)),
        (10_700.0, 2, action_finished(T, true)),
        (10_750.0, 2, verified(T, true)),
        (10_800.0, 2, probe(T, true)),
        (10_900.0, 2, probe(T, true)),
        (11_000.0, 2, probe(T, true)),
        (11_100.0, 2, load(1000, 0)),
        (11_200.0, 2, trial_ended(false)),
        (11_300.0, 0, run_ended(false)),
    ]);
    entries
}

#[test]
fn render_table_shows_each_trial_the_aggregates_and_the_verdicts() {
    let summary = summarize(&journal(two_trials()), 3, &expectations());
    let table = summary.render_table();
    let expected = "\
trial  outage          detect     act  platform  start→good    MTTR  confirm  downtime  errors  OOM  heals  result
    1  yes (leaky-0)   0.100s  0.050s    0.350s      0.050s  0.550s   1.000s    0.502s      1%    1      1  ok
    2  yes (leaky-0)  -0.100s  0.050s    0.350s      0.100s  0.400s   0.200s    0.302s      0%    0      1  ok
  detect + act + platform + start→good = MTTR: outage start → first good answer (of K in a row)
  confirm: first good answer → the K-th good probe answered

MTTR          p50 0.400s  p95 0.550s  max 0.550s  (2 outage(s), 2 recovered, K = 3)
MTTR phases   p50 detect -0.100s (healer first), act 0.050s, platform 0.350s, start→good 0.050s
              p50 confirm 0.200s, container start→good 0.040s
success rate  100%  (2 of 2 trials)
error rate    0.5%  (10 failed of 2000 requests)
OOM kills 1, verified heals 2, actions 2, unverified 0, escalations 0, false positives 0, downtime 0.804s

PASS  recovered_within 1s: max MTTR 0.550s over 2 outage(s) <= 1s
PASS  max_error_rate 2%: error rate 0.5% (10 failed of 2000 requests) <= 2%

result: PASS
";
    assert_eq!(table, expected, "\n{table}");
}

#[test]
fn render_table_gives_failure_reasons() {
    let mut entries = oom_trial(1, 0.0);
    entries.extend([
        (10_000.0, 2, ready(T)),
        (10_500.0, 2, probe(T, false)),
        (12_000.0, 2, trial_ended(true)),
    ]);
    let table = summarize(&journal(entries), 3, &expectations()).render_table();
    assert!(table.contains("  0      0  FAIL\n"), "{table}");
    assert!(
        table.contains(
            "  trial 2: never recovered within the trial (1.5 s after outage start); trial interrupted\n"
        ),
        "{table}"
    );
    assert!(
        table.contains("FAIL  recovered_within 1s: run interrupted\n"),
        "{table}"
    );
    assert!(
        table.ends_with("result: FAIL (run interrupted)\n"),
        "{table}"
    );
}

#[test]
fn result_json_round_trips_with_schema_version_2() {
    let summary = summarize(&journal(two_trials()), 3, &expectations());
    let run = RunInfo {
        run_id: "run-1".into(),
        scenario: "oom".into(),
        journal: PathBuf::from("runs/run-1/journal.jsonl"),
        started_unix_ms: 1_700_000_000_000,
        interrupted: false,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("result.json");
    write_result_json(&summary, &run, &path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();

    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["schema_version"], 2);
    assert_eq!(value["run"]["run_id"], "run-1");
    assert_eq!(value["summary"]["passed"], true);
    assert_eq!(value["summary"]["mttr_max_ms"], 550.0);
    assert_eq!(value["trials"][0]["platform_call_ms"], 350.0);
    assert_eq!(value["trials"][0]["confirmed_at_ms"], 3600.0);
    assert_eq!(value["trials"][1]["ttd_ms"], -100.0);
    assert_eq!(value["trials"][1]["detected_before_outage"], true);
    assert_eq!(value["trials"][0]["outage_cause"], "container_died");
    assert_eq!(value["verdicts"][0]["expectation"], "recovered_within 1s");

    let parsed: ResultFile = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed, ResultFile::new(&summary, &run));
    assert_eq!(parsed.trials, summary.trials);
    assert_eq!(parsed.summary.figures, summary.aggregate);
    assert!(!dir.path().join("result.json.tmp").exists());

    let back: RunSummary = serde_json::from_str(&serde_json::to_string(&summary).unwrap()).unwrap();
    assert_eq!(back, summary);
}

#[test]
fn result_json_of_a_run_the_runner_saw_interrupted_fails() {
    let summary = summarize(&journal(two_trials()), 3, &expectations());
    let run = RunInfo {
        run_id: "run-2".into(),
        scenario: "oom".into(),
        journal: PathBuf::from("journal.jsonl"),
        started_unix_ms: 0,
        interrupted: true,
    };
    let result = ResultFile::new(&summary, &run);
    assert!(result.summary.interrupted);
    assert!(!result.summary.passed);
}

#[test]
fn write_result_json_reports_an_unwritable_path() {
    let summary = summarize(&journal(two_trials()), 3, &expectations());
    let run = RunInfo {
        run_id: "run-3".into(),
        scenario: "oom".into(),
        journal: PathBuf::from("journal.jsonl"),
        started_unix_ms: 0,
        interrupted: false,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("result.json");
    assert!(write_result_json(&summary, &run, &path).is_err());
}

#[test]
fn a_journal_file_gives_the_same_summary_as_its_records() {
    // The journal stamps records with its own clock, so the in-memory records take their times
    // from the file; what this checks is that every event and trial tag survives the file. The
    // records are stamped microseconds apart: the probes here took no time, so that none was
    // sent before the records written ahead of it.
    let entries: Vec<(f64, u32, Event)> = two_trials()
        .into_iter()
        .map(|(t, trial, event)| match event {
            Event::Probe { target, ok, .. } => (t, trial, probe_took(&target, ok, 0.0)),
            event => (t, trial, event),
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let journal_file = Journal::create(&path).unwrap();
    for (_, trial, event) in &entries {
        journal_file.set_trial((*trial > 0).then_some(*trial));
        journal_file.record(event.clone());
    }
    assert_eq!(journal_file.failed_writes(), 0);

    let from_file = read_journal(&path).unwrap();
    assert_eq!(from_file.len(), entries.len());
    let in_memory: Vec<journal::Record> = entries
        .into_iter()
        .zip(&from_file)
        .map(|((_, trial, event), stamped)| journal::Record {
            t_ms: stamped.t_ms,
            unix_ms: stamped.unix_ms,
            trial: (trial > 0).then_some(trial),
            event,
        })
        .collect();
    assert_eq!(from_file, in_memory);

    let expect = expectations();
    let summary = summarize(&from_file, 3, &expect);
    assert_eq!(summary, summarize(&in_memory, 3, &expect));
    assert_eq!(summary.aggregate.trials, 2);
    assert_eq!(summary.aggregate.recovered_trials, 2);
    assert!(summary.trials[1].outage);
}
