//! Tests of the comparison: rows, the terminal table, the HTML page, the floor's column and
//! the observation bound.

use super::*;

/// A trial; one that recovered was healed in phases of 50 + 1 + 300 ms, then the rest.
fn trial(n: u32, outage: bool, mttr_ms: Option<f64>) -> TrialOutcome {
    let healed = |ms: f64| mttr_ms.map(|_| ms);
    TrialOutcome {
        trial: n,
        success: !outage || mttr_ms.is_some(),
        outage,
        outage_target: outage.then(|| "leaky-0".to_owned()),
        fault_at_ms: Some(3000.0),
        outage_start_ms: outage.then_some(5000.0),
        recovered_at_ms: mttr_ms.map(|m| 5000.0 + m),
        ttd_ms: healed(50.0),
        tta_ms: healed(1.0),
        platform_call_ms: healed(300.0),
        finished_to_recovered_ms: mttr_ms.map(|m| m - 351.0),
        mttr_ms,
        downtime_ms: mttr_ms.unwrap_or(10_000.0),
        requests_ok: 900,
        requests_failed: 100,
        error_rate: Some(0.1),
        oom_kills: u32::from(outage),
        actions: u32::from(mttr_ms.is_some()),
        ..TrialOutcome::default()
    }
}

fn comparison() -> Comparison {
    Comparison::new(
        "oom-recovery",
        &[
            StrategyTrials {
                strategy: "none".into(),
                trials: vec![trial(1, true, None), trial(2, true, None)],
                trial_lengths_ms: vec![15_200.0, 15_900.0],
                observe_up_to_ms: None,
            },
            StrategyTrials {
                strategy: "embedded".into(),
                trials: vec![
                    trial(1, true, Some(400.0)),
                    trial(2, true, Some(600.0)),
                    trial(3, false, None),
                ],
                trial_lengths_ms: vec![15_000.0; 3],
                observe_up_to_ms: None,
            },
            StrategyTrials {
                strategy: "half".into(),
                trials: vec![trial(1, true, Some(1_000.0)), trial(2, true, None)],
                trial_lengths_ms: vec![20_000.0; 2],
                observe_up_to_ms: None,
            },
        ],
    )
}

/// `strategy`'s trials, each `length_ms` long, observed up to `observe_up_to_ms`.
fn strategy(
    name: &str,
    trials: Vec<TrialOutcome>,
    length_ms: f64,
    observe_up_to_ms: Option<f64>,
) -> StrategyTrials {
    StrategyTrials {
        strategy: name.into(),
        trial_lengths_ms: vec![length_ms; trials.len()],
        trials,
        observe_up_to_ms,
    }
}

/// The floor (350 ms), the embedded healer (400 ms), a strategy that never healed within
/// a trial observed to its 3-minute bound, and one whose trials had no outage.
fn with_floor() -> Comparison {
    let bound = Some(180_000.0);
    Comparison::new(
        "crash-recovery",
        &[
            strategy("floor", vec![trial(1, true, Some(350.0))], 12_000.0, bound),
            strategy(
                "embedded",
                vec![trial(1, true, Some(400.0))],
                12_000.0,
                bound,
            ),
            strategy("autoheal", vec![trial(1, true, None)], 197_400.0, bound),
            strategy("calm", vec![trial(1, false, None)], 12_000.0, bound),
        ],
    )
}

#[test]
fn rows_count_recoveries_and_rank_never_above_any_recovery() {
    let c = comparison();
    let none = &c.rows[0];
    assert_eq!((none.recovered, none.trials, none.outages), (0, 2, 2));
    assert_eq!(
        none.mttr_p50,
        Mttr::Never {
            within_ms: 15_900.0
        }
    );
    assert_eq!(none.oom_kills, 2);
    assert_eq!(none.requests_failed, 200);
    let embedded = &c.rows[1];
    assert_eq!((embedded.recovered, embedded.outages), (3, 2));
    assert_eq!(embedded.mttr_p50, Mttr::Ms(400.0));
    assert_eq!(embedded.mttr_max, Mttr::Ms(600.0));
    let half = &c.rows[2];
    assert_eq!(half.mttr_p50, Mttr::Ms(1_000.0));
    assert_eq!(
        half.mttr_p95,
        Mttr::Never {
            within_ms: 20_000.0
        }
    );
}

#[test]
fn the_table_says_never_with_the_trial_length_not_a_number() {
    let table = comparison().render_table();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "sim compare: oom-recovery");
    assert!(lines[1].starts_with("strategy"), "{table}");
    assert!(lines[2].starts_with("none"), "{table}");
    let columns = |line: &str| {
        line.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(columns(lines[2]), "none 2/2 0/2", "{table}");
    assert!(lines[2].contains("never (within 16s)"), "{table}");
    assert!(lines[3].starts_with("embedded"), "{table}");
    assert!(lines[3].contains("0.400s"), "{table}");
    assert_eq!(columns(lines[3]), "embedded 2/3 3/3", "{table}");
    assert!(lines[3].contains("300 (10%)"), "{table}");
    assert!(lines[4].contains("1.000s") && lines[4].contains("never (within 20s)"));
    // The phases' p50s: over the trials that have each phase; none for a strategy that
    // never acted.
    assert!(
        lines[1].contains("p50 detect/act/platform/start→good"),
        "{table}"
    );
    assert!(lines[2].contains(")  -  "), "{table}");
    assert!(lines[3].contains("0.050/0.001/0.300/0.049s"), "{table}");
    assert!(lines[4].contains("0.050/0.001/0.300/0.649s"), "{table}");
}

#[test]
fn the_html_has_the_table_and_an_svg_chart() {
    let html = comparison().render_html();
    assert!(html.starts_with("<!doctype html>"));
    assert!(
        html.contains("<td class=\"never\">never (within 16s)</td>"),
        "{html}"
    );
    assert!(html.contains("<td>embedded</td>"));
    assert!(html.contains("<svg"), "chart missing");
    assert!(html.contains(">embedded</text>") || html.contains("embedded\n</text>"));
    let dir = tempfile::tempdir().unwrap();
    let path = comparison().write(dir.path()).unwrap();
    assert_eq!(std::fs::read_to_string(path).unwrap(), html);
}

#[test]
fn with_the_floor_every_strategy_gets_its_multiple_of_the_floors_p50() {
    let c = with_floor();
    assert_eq!(c.floor_p50, Some(Mttr::Ms(350.0)));
    let table = c.render_table();
    let lines: Vec<&str> = table.lines().collect();
    // The column follows "MTTR p50"; its cells line up under it.
    let at = lines[1].find(TO_FLOOR_HEADER).expect("the floor's column");
    let headings: Vec<&str> = lines[1]
        .split("  ")
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    assert_eq!(
        headings[3..6],
        ["MTTR p50", TO_FLOOR_HEADER, "MTTR p95"],
        "{table}"
    );
    let cell = |line: &str| line[at..].split_whitespace().next().unwrap().to_owned();
    assert_eq!(cell(lines[2]), "1.00×", "{table}");
    assert_eq!(cell(lines[3]), "1.14×", "{table}");
    assert_eq!(cell(lines[4]), "never", "{table}");
    assert_eq!(cell(lines[5]), "-", "{table}");
    // The never that held to the bound says how long the trial was really observed.
    assert!(lines[4].contains("never (within 3m17s)"), "{table}");
    assert_eq!(
        lines[6],
        "Each trial kept its load running and went on observing up to 3m00s past the \
         load's planned end, until every outage had recovered."
    );
    let html = c.render_html();
    assert!(
        html.contains("<th>MTTR p50</th><th>MTTR p50 / floor</th>"),
        "{html}"
    );
    assert!(html.contains("<td>0.400s</td><td>1.14×</td>"), "{html}");
    assert!(html.contains("<td class=\"never\">never</td>"), "{html}");
    assert!(html.contains("up to 3m00s past the load"), "{html}");
}

#[test]
fn without_the_floor_there_is_no_floor_column_and_no_observation_note() {
    let c = comparison();
    assert_eq!(c.floor_p50, None);
    let table = c.render_table();
    assert!(!table.contains("floor"), "{table}");
    assert_eq!(table.lines().count(), 5, "{table}");
    let html = c.render_html();
    assert!(!html.contains("floor"), "{html}");
    assert!(!html.contains("went on observing"), "{html}");
}

#[test]
fn ratios_and_lengths_read_at_a_glance() {
    assert_eq!(times(3.4), "3.40×");
    assert_eq!(times(34.04), "34.0×");
    assert_eq!(times(514.3), "514×");
    assert_eq!(span(15_900.0), "16s");
    assert_eq!(span(59_400.0), "59s");
    assert_eq!(span(65_000.0), "1m05s");
    // A floor that had no time to divide by gives no ratio at all.
    assert_eq!(Mttr::Ms(400.0).to_floor(Mttr::NoOutage), "-");
    assert_eq!(
        Mttr::Ms(400.0).to_floor(Mttr::Never { within_ms: 1.0 }),
        "-"
    );
}

#[test]
fn the_observation_bound_comes_from_run_started() {
    let started = |observe_up_to_ms| Record {
        t_ms: 0.0,
        unix_ms: 0,
        trial: None,
        event: Event::RunStarted {
            run_id: "5e70b001".into(),
            scenario: "hang".into(),
            trials: 1,
            sim_version: "0.1.0".into(),
            strategy: Some("autoheal".into()),
            seed: None,
            setup: Some(journal::RunSetup {
                healthy_after: 3,
                probe_interval_ms: 50.0,
                probe_timeout_ms: 500.0,
                expect: serde_json::Value::Null,
                strategy_settings: Default::default(),
                observe_up_to_ms,
                scenario_text: String::new(),
            }),
        },
    };
    assert_eq!(observe_up_to_ms(&[started(Some(60_000.0))]), Some(60_000.0));
    assert_eq!(observe_up_to_ms(&[started(None)]), None);
    assert_eq!(observe_up_to_ms(&[]), None);
}

#[test]
fn trial_lengths_come_from_each_trials_records() {
    let record = |t_ms: f64, trial: Option<u32>, event: Event| Record {
        t_ms,
        unix_ms: 0,
        trial,
        event,
    };
    let records = vec![
        record(0.0, None, Event::TrialStarted),
        record(100.0, Some(1), Event::TrialStarted),
        record(5_100.0, Some(1), Event::TrialEnded { interrupted: false }),
        record(6_000.0, Some(2), Event::TrialStarted),
        record(8_500.0, Some(2), Event::TrialEnded { interrupted: false }),
        record(9_000.0, None, Event::RunEnded { interrupted: false }),
    ];
    assert_eq!(trial_lengths_ms(&records), vec![5_000.0, 2_500.0]);
}

#[test]
fn false_positives_and_the_agent_apis_refusals_and_errors_are_the_last_columns() {
    let control = |n, false_positives| TrialOutcome {
        false_positives,
        actions: false_positives,
        ..trial(n, false, None)
    };
    let agent = |n| TrialOutcome {
        agent_calls: 40,
        refused_calls: 1,
        api_errors: 2,
        ..control(n, 1)
    };
    let c = Comparison::new(
        "control-steady",
        &[
            strategy(
                "embedded",
                vec![control(1, 0), control(2, 0)],
                15_000.0,
                None,
            ),
            strategy("external", vec![agent(1), agent(2)], 15_000.0, None),
        ],
    );
    let last_two = |row: &StrategyRow| -> Vec<String> { cells(row)[11..].to_vec() };
    assert_eq!(COLUMNS[11..], ["false positives", AGENT_API_HEADER]);
    assert_eq!(last_two(&c.rows[0]), ["0", "-"]);
    assert_eq!(last_two(&c.rows[1]), ["2", "2/4"]);
    let table = c.render_table();
    let external: Vec<&str> = table.lines().nth(3).unwrap().split_whitespace().collect();
    assert_eq!(external[external.len() - 2..], ["2", "2/4"], "{table}");
}
