//! The command line: parses arguments, runs the command, and turns every outcome into one clear
//! message and a documented exit code (see `exit`).

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::compare::{self, CompareOptions};
use crate::exit;
use crate::runner::{self, RunOptions};
use crate::scenario::{self, Context};
use crate::strategy::Strategy;

mod target;

use target::{run_netproxy, run_target, NetproxyArgs};

const EXIT_CODES: &str = "\
Exit codes:
  0    success; for `run`, every expectation held
  1    `run` completed but an expectation failed
  2    bad input: a scenario or runbook with problems, an unknown scenario, bad flags
  3    environment: no Docker engine answers, or a target image is missing
  4    the run could not be carried out (Docker failed mid-run, a target never started)
  130  interrupted (Ctrl-C / SIGTERM), after cleaning up";

/// sim: chaos scenarios against real Docker containers, healed by runbooks-as-code, measured.
#[derive(Debug, Parser)]
#[command(
    name = "sim",
    version,
    after_help = format!("Examples:\n  sim run oom-recovery\n  sim run scenarios/oom-recovery.yaml --trials 5 --out /tmp/runs\n  sim validate scenarios/*.yaml\n  sim list\n  sim report\n  sim gc --dry-run\n\n{EXIT_CODES}")
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More logs on stderr (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Directory of scenario files.
    #[arg(long, global = true, env = "SIM_SCENARIOS", value_name = "DIR")]
    scenarios_dir: Option<PathBuf>,
    /// Directory of runbook files that scenarios name.
    #[arg(long, global = true, env = "SIM_RUNBOOKS", value_name = "DIR")]
    runbooks_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario: start targets, drive load, inject faults, let the healer heal, measure.
    #[command(
        after_help = "Examples:\n  sim run oom-recovery\n  sim run oom-recovery --trials 10 --json > result.json\n  sim run --all --trials 1          # the whole library as a CI regression suite\n  sim run hang --seed 7             # replay the fault times a run printed\n\nWrites <out>/<scenario>/<timestamp>-<run id>/journal.jsonl and result.json."
    )]
    Run {
        /// A scenario name (from the scenarios directory) or a path to a scenario file.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        scenario: Option<String>,
        /// Run every scenario in the scenarios directory, one after another: the regression
        /// suite for runbooks. Exits 1 if any scenario misses an expectation.
        #[arg(long)]
        all: bool,
        /// Override the scenario's number of trials.
        #[arg(long)]
        trials: Option<u32>,
        /// Where run directories are written.
        #[arg(long, default_value = "sim-runs", value_name = "DIR")]
        out: PathBuf,
        /// Print result.json on stdout instead of the summary table.
        #[arg(long)]
        json: bool,
        /// Who heals: none, docker-restart, autoheal, alertmanager, embedded, floor.
        #[arg(long, default_value = "embedded", value_name = "NAME")]
        strategy: String,
        /// After the load's planned duration, keep the load running and each trial observing
        /// until every outage has recovered, for at most this long (0s: end with the load).
        #[arg(long, default_value = "0s", value_name = "DURATION", value_parser = specfile::parse_duration)]
        observe_up_to: std::time::Duration,
        /// Draw randomised fault times (`at: 2s..6s`) from this seed: the seed a run printed
        /// replays its fault times exactly. Default: a fresh seed, printed and journalled.
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        #[command(flatten)]
        autoheal: AutohealArgs,
    },
    /// Run a scenario under several healing strategies, interleaved, and compare them.
    #[command(
        after_help = "Example:\n  sim compare oom-recovery --strategies none,docker-restart,autoheal,embedded --trials 3\n\nWrites each trial's run under <out>/<scenario>/compare-<timestamp>/<strategy>/ and compare.html beside them."
    )]
    Compare {
        /// A scenario name (from the scenarios directory) or a path to a scenario file.
        scenario: String,
        /// Comma-separated strategies: none, docker-restart, autoheal, alertmanager, embedded,
        /// floor (a bare Docker `start` on every `die`: the floor the others are measured
        /// against).
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "none,docker-restart,autoheal,embedded"
        )]
        strategies: Vec<String>,
        /// Trials per strategy (default: the scenario's).
        #[arg(long)]
        trials: Option<u32>,
        /// After the load's planned duration, keep the load running and each trial observing
        /// until every outage has recovered, for at most this long (0s: end with the load). The
        /// default covers the alternatives at their defaults (the alert pipeline's ~1.5 min,
        /// autoheal's ~1.5 min on a hang), so they show a time, not the trial's length.
        #[arg(long, default_value = "3m", value_name = "DURATION", value_parser = specfile::parse_duration)]
        observe_up_to: std::time::Duration,
        /// Where run directories are written.
        #[arg(long, default_value = "sim-runs", value_name = "DIR")]
        out: PathBuf,
        #[command(flatten)]
        autoheal: AutohealArgs,
    },
    /// Regenerate run reports from their journals and the history index of a runs directory.
    #[command(
        after_help = "Examples:\n  sim report                      # every run under sim-runs/, and sim-runs/index.html\n  sim report sim-runs/oom-recovery/20261122T051108Z-3b4ead09"
    )]
    Report {
        /// Run directories to regenerate (default: every run under --out).
        runs: Vec<PathBuf>,
        /// The runs root whose history index is rewritten.
        #[arg(long, default_value = "sim-runs", value_name = "DIR")]
        out: PathBuf,
    },
    /// List the scenarios in the scenarios directory.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Check scenario files and report every problem with file:line:col.
    #[command(after_help = "Example:\n  sim validate scenarios/*.yaml")]
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Remove containers and networks left by runs that were killed (found by label).
    #[command(after_help = "Example:\n  sim gc --dry-run")]
    Gc {
        /// Only list what would be removed.
        #[arg(long)]
        dry_run: bool,
        /// Also remove resources of runs whose sim process is still alive.
        #[arg(long)]
        force: bool,
        /// Also remove the images sim built (they are rebuilt on demand).
        #[arg(long)]
        images: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Run a built-in target service (this is what runs inside target containers), or
    /// `target probe <url>`: the health check Docker runs in them under `--strategy autoheal`, or
    /// `target netproxy --listen <port> --upstream <host:port> --control <port>`: the proxy
    /// that carries network faults.
    #[command(hide = true)]
    Target {
        /// The target: `leaky`, `probe` or `netproxy`.
        name: String,
        /// For `probe`: the URL to GET.
        url: Option<String>,
        #[command(flatten)]
        netproxy: NetproxyArgs,
    },
}

/// The settings of `--strategy autoheal` (Docker's and autoheal's defaults) and `--strategy
/// alertmanager` (a common Prometheus → Alertmanager setup).
#[derive(Debug, clap::Args)]
struct AutohealArgs {
    /// HEALTHCHECK interval under autoheal.
    #[arg(long, default_value = "30s", value_parser = specfile::parse_duration)]
    autoheal_interval: std::time::Duration,
    /// Failed health checks in a row before Docker marks the target unhealthy.
    #[arg(long, default_value_t = 3)]
    autoheal_retries: u32,
    /// How often autoheal looks for unhealthy containers.
    #[arg(long, default_value = "5s", value_parser = specfile::parse_duration)]
    autoheal_poll: std::time::Duration,
    /// Prometheus scrape (and rule evaluation) interval under `--strategy alertmanager`.
    #[arg(long, default_value = "15s", value_parser = specfile::parse_duration)]
    alertmanager_scrape: std::time::Duration,
    /// How long `up == 0` must hold before the alert fires, under `--strategy alertmanager`.
    #[arg(long, default_value = "1m", value_parser = specfile::parse_duration)]
    alertmanager_for: std::time::Duration,
    /// Alertmanager's group_wait under `--strategy alertmanager`.
    #[arg(long, default_value = "10s", value_parser = specfile::parse_duration)]
    alertmanager_group_wait: std::time::Duration,
}

impl AutohealArgs {
    /// The strategies whose settings these flags give.
    fn configured(&self) -> [Strategy; 2] {
        [
            Strategy::Autoheal {
                interval: self.autoheal_interval,
                retries: self.autoheal_retries.max(1),
                poll: self.autoheal_poll,
            },
            Strategy::Alertmanager {
                scrape: self.alertmanager_scrape,
                rule_for: self.alertmanager_for,
                group_wait: self.alertmanager_group_wait,
            },
        ]
    }
}

/// Parses the command line, runs it, and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    if let Command::Target {
        name,
        url,
        netproxy,
    } = &cli.command
    {
        if name == "netproxy" {
            return run_netproxy(netproxy);
        }
        return run_target(name, url.as_deref());
    }
    init_logging(cli.verbose);
    let cancel = crate::interrupt::install();
    let Some(runtime) = async_runtime() else {
        return exit::ENVIRONMENT;
    };
    runtime.block_on(dispatch(cli, cancel))
}

async fn dispatch(cli: Cli, cancel: tokio_util::sync::CancellationToken) -> i32 {
    let scenarios_dir = cli
        .scenarios_dir
        .unwrap_or_else(|| default_dir("scenarios"));
    let context = Context {
        runbook_dirs: vec![cli
            .runbooks_dir
            .unwrap_or_else(|| default_dir("healer/runbooks"))],
    };
    match cli.command {
        Command::Run {
            scenario: None,
            trials,
            out,
            seed,
            observe_up_to,
            ..
        } => {
            let options = RunOptions {
                out,
                progress: true,
                strategy: Strategy::Embedded,
                seed,
                observe_up_to,
            };
            suite(trials, options, &scenarios_dir, &context, cancel).await
        }
        Command::Run {
            scenario: Some(scenario),
            trials,
            out,
            json,
            strategy,
            seed,
            observe_up_to,
            autoheal,
            ..
        } => {
            let strategy = match Strategy::parse(&strategy, &autoheal.configured()) {
                Ok(strategy) => strategy,
                Err(e) => {
                    eprintln!("error: {e}");
                    return exit::BAD_INPUT;
                }
            };
            let options = RunOptions {
                out,
                progress: !json,
                strategy,
                seed,
                observe_up_to,
            };
            run(&scenario, trials, options, &scenarios_dir, &context, cancel).await
        }
        Command::Compare {
            scenario,
            strategies,
            trials,
            out,
            observe_up_to,
            autoheal,
        } => {
            let parsed: Result<Vec<Strategy>, _> = strategies
                .iter()
                .map(|name| Strategy::parse(name, &autoheal.configured()))
                .collect();
            let strategies = match parsed {
                Ok(strategies) if !strategies.is_empty() => strategies,
                Ok(_) => {
                    eprintln!("error: --strategies names no strategy");
                    return exit::BAD_INPUT;
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return exit::BAD_INPUT;
                }
            };
            let Some(plan) = load_plan(&scenario, &scenarios_dir, &context) else {
                return exit::BAD_INPUT;
            };
            let options = CompareOptions {
                out,
                trials: trials.unwrap_or(plan.trials).max(1),
                strategies,
                progress: true,
                observe_up_to,
            };
            run_compare(plan, &options, cancel).await
        }
        Command::List { json } => list(&scenarios_dir, &context, json),
        Command::Report { runs, out } => report(&runs, &out),
        Command::Validate { files } => validate(&files, &context),
        Command::Gc {
            dry_run,
            force,
            images,
            json,
        } => gc(dry_run, force, images, json).await,
        Command::Target { .. } => exit::BAD_INPUT,
    }
}

/// The compiled plan of scenario `name`, or `None` after saying what is wrong with it.
fn load_plan(name: &str, scenarios_dir: &Path, context: &Context) -> Option<scenario::Plan> {
    let path = match scenario::resolve(name, scenarios_dir) {
        Ok(path) => path,
        Err(e) => {
            eprintln!("error: {e}");
            return None;
        }
    };
    match scenario::load(&path, context) {
        Ok(plan) => Some(plan),
        Err(problems) => {
            eprintln!("{problems}");
            None
        }
    }
}

/// `sim compare`: the table on stdout, where the runs and compare.html are. Exit 0 when it ran.
async fn run_compare(
    plan: scenario::Plan,
    options: &CompareOptions,
    cancel: tokio_util::sync::CancellationToken,
) -> i32 {
    match compare::compare(plan, options, cancel).await {
        Ok(outcome) => {
            println!("{}", outcome.comparison.render_table());
            println!("runs:    {}", outcome.dir.display());
            println!("report:  {}", outcome.html.display());
            if outcome.interrupted {
                exit::INTERRUPTED
            } else {
                exit::OK
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// `sim run <scenario>`; `options.progress` off means `--json`.
async fn run(
    name: &str,
    trials: Option<u32>,
    options: RunOptions,
    scenarios_dir: &Path,
    context: &Context,
    cancel: tokio_util::sync::CancellationToken,
) -> i32 {
    let json = !options.progress;
    let Some(mut plan) = load_plan(name, scenarios_dir, context) else {
        return exit::BAD_INPUT;
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

/// `sim run --all`: every scenario of the library, one after another, then one line each:
/// PASS, or FAIL with the expectations it missed. Exit 1 if any failed, 2 if any was invalid,
/// 130 once interrupted (the remaining scenarios are not run).
async fn suite(
    trials: Option<u32>,
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

fn report(runs: &[PathBuf], out: &Path) -> i32 {
    let history = match reports::History::load(out) {
        Ok(history) => history,
        Err(e) => {
            eprintln!("error: cannot read the runs under {}: {e}", out.display());
            return exit::BAD_INPUT;
        }
    };
    let dirs: Vec<PathBuf> = if runs.is_empty() {
        history
            .runs()
            .iter()
            .map(|run| out.join(&run.dir))
            .collect()
    } else {
        runs.to_vec()
    };
    let mut code = exit::OK;
    for dir in &dirs {
        match reports::regenerate(dir) {
            Ok(regenerated) => println!(
                "{}: {} ({})",
                dir.display(),
                if regenerated.summary.passed() {
                    "PASS"
                } else {
                    "FAIL"
                },
                regenerated.paths.report_html.display()
            ),
            Err(e) => {
                eprintln!("error: {}: {e}", dir.display());
                code = exit::BAD_INPUT;
            }
        }
    }
    match history.write_index() {
        Ok(index) => println!("history: {}", index.display()),
        Err(e) => {
            eprintln!("error: cannot write the history index: {e}");
            code = exit::RUN_FAILED;
        }
    }
    code
}

fn list(scenarios_dir: &Path, context: &Context, json: bool) -> i32 {
    let entries = scenario::list(scenarios_dir, context);
    if json {
        let rows: Vec<serde_json::Value> = entries
            .iter()
            .map(|(name, path, plan)| {
                serde_json::json!({
                    "name": name,
                    "path": path,
                    "valid": plan.is_ok(),
                    "description": plan.as_ref().map(|p| p.description.clone()).unwrap_or_default(),
                    "trials": plan.as_ref().map(|p| p.trials).ok(),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return exit::OK;
    }
    if entries.is_empty() {
        eprintln!("no scenarios in {}", scenarios_dir.display());
        return exit::BAD_INPUT;
    }
    let width = entries.iter().map(|(n, _, _)| n.len()).max().unwrap_or(4);
    for (name, _, plan) in &entries {
        match plan {
            Ok(plan) => println!(
                "{name:<width$}  {} trial(s)  {}",
                plan.trials, plan.description
            ),
            Err(problems) => println!(
                "{name:<width$}  INVALID ({} problem(s); see `sim validate`)",
                problems.0.len()
            ),
        }
    }
    exit::OK
}

fn validate(files: &[PathBuf], context: &Context) -> i32 {
    let mut code = exit::OK;
    for file in files {
        let plan = match scenario::load(file, context) {
            Ok(plan) => plan,
            Err(problems) => {
                eprintln!("{problems}");
                code = exit::BAD_INPUT;
                continue;
            }
        };
        let mut runbook_errors: Vec<String> = plan
            .runbooks
            .iter()
            .filter_map(|runbook| healer::Runbook::load(runbook).err())
            .map(|e| e.to_string())
            .collect();
        // Alert rule files are checked with Prometheus's own promtool when it is installed.
        if let (Some(monitoring), Some(promtool)) =
            (&plan.monitoring, crate::monitoring::find_promtool())
        {
            if let Err(e) = crate::monitoring::check_rule_files(&promtool, &monitoring.rules) {
                runbook_errors.push(e.to_string());
            }
        }
        if runbook_errors.is_empty() {
            println!(
                "{}: ok ({}, {} trial(s), {} fault(s), {} runbook(s))",
                file.display(),
                plan.name,
                plan.trials,
                plan.faults.len(),
                plan.runbooks.len()
            );
        } else {
            eprintln!("{}", runbook_errors.join("\n"));
            code = exit::BAD_INPUT;
        }
    }
    code
}

async fn gc(dry_run: bool, force: bool, images: bool, json: bool) -> i32 {
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

/// The multi-threaded Tokio runtime, or `None` after saying why it could not start.
fn async_runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new()
        .inspect_err(|e| eprintln!("error: cannot start the async runtime: {e}"))
        .ok()
}

/// `./<relative>` when it exists, else the copy in the source tree sim was built from.
fn default_dir(relative: &str) -> PathBuf {
    let local = PathBuf::from(relative);
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// Logs go to stderr through `tracing`; goose's per-request warnings are filtered out (failed
/// requests are counted, not printed). Installing this first also keeps goose's own logger out.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{level},goose=error")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
