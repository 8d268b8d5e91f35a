//! The command line: parses arguments, runs the command, and turns every outcome into one clear
//! message and a documented exit code (see `exit`).
//!
//! The arguments and their help are in `args`; each command's work is in a module of its own.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Parser;

use crate::compare::CompareOptions;
use crate::exit;
use crate::runner::RunOptions;
use crate::scenario::{self, Context};
use crate::strategy::{Embedded, Strategy};

mod args;
mod compare;
mod gc;
mod list;
mod report;
mod run;
mod target;
mod validate;

pub use args::Cli;
use args::Command;
use compare::run_compare;
use gc::gc;
use list::list;
use report::report;
use run::{run, suite};
use target::{run_netproxy, run_target};
use validate::validate;

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
            scenario,
            trials,
            out,
            json,
            strategy,
            seed,
            observe_up_to,
            settings,
            ..
        } => {
            let options = RunOptions {
                out,
                progress: !json || scenario.is_none(),
                strategy: Arc::new(Embedded),
                seed,
                observe_up_to,
            };
            let flag = strategy.as_deref();
            match scenario {
                None => {
                    let (dir, ctx) = (&scenarios_dir, &context);
                    suite(trials, flag, &settings, options, dir, ctx, cancel).await
                }
                Some(scenario) => {
                    let (dir, ctx) = (&scenarios_dir, &context);
                    run(
                        &scenario, trials, flag, &settings, options, dir, ctx, cancel,
                    )
                    .await
                }
            }
        }
        Command::Compare {
            scenario,
            strategies,
            trials,
            out,
            observe_up_to,
            settings,
        } => {
            let Some(plan) = load_plan(&scenario, &scenarios_dir, &context) else {
                return exit::BAD_INPUT;
            };
            let parsed: Result<Vec<Arc<dyn Strategy>>, _> = strategies
                .iter()
                .map(|name| settings.strategy(Some(name), &plan))
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
