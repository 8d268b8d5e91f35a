//! `sim run <scenario>` and `sim run --all`: runs a scenario (or the whole library as a suite)
//! and prints its summary, its result.json, or one verdict line per scenario.

use std::path::Path;

use super::args::StrategyArgs;
use super::load_plan;
use crate::exit;
use crate::runner::{self, RunOptions};
use crate::scenario::{self, Context};

/// `sim run <scenario>`: the scenario `name` under the strategy `--strategy` names (`flag`),
/// else the one its file names, else the embedded healer; `options.progress` off means
/// `--json`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run(
    name: &str,
    trials: Option<u32>,
    flag: Option<&str>,
    settings: &StrategyArgs,
    options: RunOptions,
    scenarios_dir: &Path,
    context: &Context,
    cancel: tokio_util::sync::CancellationToken,
) -> i32 {
    let json = !options.progress;
    let Some(mut plan) = load_plan(name, scenarios_dir, context) else {
        return exit::BAD_INPUT;
    };
    let options = match settings.strategy(flag, &plan) {
        Ok(strategy) => RunOptions {
            strategy,
            ..options
        },
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    if let Some(trials) = trials {
        plan.trials = trials.max(1);
    }
    match runner::run(plan, &options, cancel).await {
        Ok(outcome) => {
            let paths = &outcome.paths;
            if json {
                match std::fs::read_to_string(&paths.result_json) {
                    Ok(text) => println!("{text}"),
                    Err(e) => eprintln!("error: cannot read {}: {e}", paths.result_json.display()),
                }
            } else {
                println!("{}", outcome.summary.render_table());
                println!(
                    "journal: {}",
                    outcome.dir.join(reports::JOURNAL_FILE).display()
                );
                println!("result:  {}", paths.result_json.display());
                println!("junit:   {}", paths.junit_xml.display());
                println!("report:  {}", paths.report_html.display());
                if let Some(index) = &outcome.index {
                    println!("history: {}", index.display());
                }
            }
            if outcome.interrupted {
                exit::INTERRUPTED
            } else if outcome.summary.passed() {
                exit::OK
            } else {
                exit::EXPECTATIONS_FAILED
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// `sim run --all`: every scenario of the library, one after another (each under `--strategy`,
/// else its own), then one line each: PASS, or FAIL with the expectations it missed. Exit 1 if
/// any failed, 2 if any was invalid, 130 once interrupted (the remaining scenarios are not run).
#[allow(clippy::too_many_arguments)]
pub(super) async fn suite(
    trials: Option<u32>,
    flag: Option<&str>,
    settings: &StrategyArgs,
    options: RunOptions,
    scenarios_dir: &Path,
    context: &Context,
    cancel: tokio_util::sync::CancellationToken,
) -> i32 {
    let names: Vec<String> = scenario::list(scenarios_dir, context)
        .into_iter()
        .map(|(name, _, _)| name)
        .collect();
    if names.is_empty() {
        eprintln!("error: no scenarios in {}", scenarios_dir.display());
        return exit::BAD_INPUT;
    }
    let mut lines = Vec::new();
    let mut code = exit::OK;
    for name in &names {
        if cancel.is_cancelled() {
            break;
        }
        eprintln!("sim: suite: {name}");
        let result = run(
            name,
            trials,
            flag,
            settings,
            options.clone(),
            scenarios_dir,
            context,
            cancel.clone(),
        )
        .await;
        let verdict = match result {
            exit::OK => "PASS".to_owned(),
            exit::EXPECTATIONS_FAILED => {
                format!("FAIL  {}", missed_expectations(&options.out, name))
            }
            exit::INTERRUPTED => "INTERRUPTED".to_owned(),
            other => format!("ERROR (exit {other}; see above)"),
        };
        lines.push(format!("{name:<24} {verdict}"));
        code = code.max(result);
    }
    println!("\nsuite: {} scenario(s)", lines.len());
    for line in &lines {
        println!("  {line}");
    }
    code
}

/// The failed verdicts of a scenario's latest run, from its result.json.
fn missed_expectations(out: &Path, scenario: &str) -> String {
    let latest = std::fs::read_dir(out.join(scenario))
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .max();
    let result: Option<serde_json::Value> = latest
        .and_then(|dir| std::fs::read_to_string(dir.join(reports::RESULT_FILE)).ok())
        .and_then(|text| serde_json::from_str(&text).ok());
    let missed: Vec<String> = result
        .iter()
        .flat_map(|r| r["verdicts"].as_array().cloned().unwrap_or_default())
        .filter(|v| v["passed"] == false)
        .map(|v| format!("{}: {}", v["expectation"], v["detail"]).replace('"', ""))
        .collect();
    if missed.is_empty() {
        "expectations missed (see above)".to_owned()
    } else {
        missed.join("; ")
    }
}
