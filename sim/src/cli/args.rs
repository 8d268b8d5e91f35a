//! The arguments of every `sim` command, their help text and examples, and the documented exit
//! codes `sim --help` lists.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use clap::{Parser, Subcommand};

use super::target::NetproxyArgs;
use crate::scenario::Plan;
use crate::strategy::{self, Alertmanager, Autoheal, External, Strategy};

const EXIT_CODES: &str = "\
Exit codes:
  0    success; for `run`, every expectation held
  1    `run` completed but an expectation failed
  2    bad input: a scenario or runbook with problems, an unknown scenario, bad flags
  3    environment: no Docker engine answers, or a target image is missing
  4    the run could not be carried out (Docker failed mid-run, a target never started)
  130  interrupted (Ctrl-C / SIGTERM), after cleaning up";

/// `sim compare`'s `--strategies` when none are given, from the strategies' registry.
static DEFAULT_COMPARISON: LazyLock<String> =
    LazyLock::new(|| strategy::compared_by_default().join(","));

/// sim: chaos scenarios against real Docker containers, healed by runbooks-as-code, measured.
#[derive(Debug, Parser)]
#[command(
    name = "sim",
    version,
    after_help = format!("Examples:\n  sim run oom-recovery\n  sim run scenarios/oom-recovery.yaml --trials 5 --out /tmp/runs\n  sim validate scenarios/*.yaml\n  sim list\n  sim report\n  sim gc --dry-run\n\n{EXIT_CODES}")
)]
pub struct Cli {
    #[command(subcommand)]
    pub(super) command: Command,
    /// More logs on stderr (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(super) verbose: u8,
    /// Directory of scenario files.
    #[arg(long, global = true, env = "SIM_SCENARIOS", value_name = "DIR")]
    pub(super) scenarios_dir: Option<PathBuf>,
    /// Directory of runbook files that scenarios name.
    #[arg(long, global = true, env = "SIM_RUNBOOKS", value_name = "DIR")]
    pub(super) runbooks_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Run a scenario: start targets, drive load, inject faults, let the healer heal, measure.
    #[command(
        after_help = "Examples:\n  sim run oom-recovery\n  sim run oom-recovery --trials 10 --json > result.json\n  sim run --all --trials 1          # the whole library as a CI regression suite\n  sim run hang --seed 7             # replay the fault times a run printed\n  sim run oom-recovery --strategy external --external-cmd \"python3 examples/agents/restart_on_down.py\"\n\nWrites <out>/<scenario>/<timestamp>-<run id>/journal.jsonl and result.json."
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
        #[arg(
            long,
            value_name = "NAME",
            help = format!(
                "Who heals: {}; default: the scenario's `healer.strategy`, else embedded",
                strategy::names().join(", ")
            )
        )]
        strategy: Option<String>,
        /// After the load's planned duration, keep the load running and each trial observing
        /// until every outage has recovered, for at most this long (0s: end with the load).
        #[arg(long, default_value = "0s", value_name = "DURATION", value_parser = specfile::parse_duration)]
        observe_up_to: std::time::Duration,
        /// Draw randomised fault times (`at: 2s..6s`) from this seed: the seed a run printed
        /// replays its fault times exactly. Default: a fresh seed, printed and journalled.
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        #[command(flatten)]
        settings: StrategyArgs,
    },
    /// Run a scenario under several healing strategies, interleaved, and compare them.
    #[command(
        after_help = "Examples:\n  sim compare oom-recovery --strategies none,docker-restart,autoheal,embedded --trials 3\n  sim compare oom-recovery --strategies embedded,external --external-cmd \"python3 examples/agents/restart_on_down.py\"\n\nWrites each trial's run under <out>/<scenario>/compare-<timestamp>/<strategy>/ and compare.html beside them."
    )]
    Compare {
        /// A scenario name (from the scenarios directory) or a path to a scenario file.
        scenario: String,
        #[arg(
            long,
            value_delimiter = ',',
            default_value = DEFAULT_COMPARISON.as_str(),
            help = format!(
                "Comma-separated strategies: {} (a bare Docker `start` on every `die`: the floor \
                 the others are measured against)",
                strategy::names().join(", ")
            )
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
        settings: StrategyArgs,
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
    /// Remove the containers, networks and volumes left by runs that were killed (found by
    /// label), and the swarm clusters they formed (found by their records).
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

/// The settings of `--strategy autoheal` (Docker's and autoheal's defaults), `--strategy
/// alertmanager` (a common Prometheus → Alertmanager setup) and `--strategy external` (the
/// user's command).
#[derive(Debug, clap::Args)]
pub(super) struct StrategyArgs {
    /// HEALTHCHECK interval under autoheal.
    #[arg(long, default_value = "30s", value_parser = specfile::parse_duration)]
    autoheal_interval: std::time::Duration,
    /// Failed health checks in a row before Docker marks the target unhealthy.
    #[arg(long, default_value_t = 3)]
    autoheal_retries: u32,
    /// How often autoheal looks for unhealthy containers.
    #[arg(long, default_value = "5s", value_parser = specfile::parse_duration)]
    autoheal_poll: std::time::Duration,
    /// Prometheus scrape (and rule evaluation) interval under `--strategy alertmanager` (and
    /// for `--external-webhook`).
    #[arg(long, default_value = "15s", value_parser = specfile::parse_duration)]
    alertmanager_scrape: std::time::Duration,
    /// How long `up == 0` must hold before the alert fires, under `--strategy alertmanager`
    /// (and for `--external-webhook`).
    #[arg(long, default_value = "1m", value_parser = specfile::parse_duration)]
    alertmanager_for: std::time::Duration,
    /// Alertmanager's group_wait under `--strategy alertmanager` (and for `--external-webhook`).
    #[arg(long, default_value = "10s", value_parser = specfile::parse_duration)]
    alertmanager_group_wait: std::time::Duration,
    /// The healer `--strategy external` runs for every trial, a command line for `sh -c` run in
    /// the current directory; it gets the Agent API's address and token in SIM_AGENT_URL and
    /// SIM_AGENT_TOKEN (and SIM_RUN_ID, SIM_TRIAL), SIGTERM when the trial ends, SIGKILL 2s later.
    /// Its output is logged at info level, prefixed `agent:` (shown with -v).
    #[arg(long, value_name = "COMMAND")]
    external_cmd: Option<String>,
    /// The Alertmanager (v4) webhook of the healer `--strategy external` measures, a loopback
    /// URL: sim's alerting posts every notification to it, with the trial's Agent API address
    /// and token in the X-Sim-Agent-Url and X-Sim-Agent-Token headers. A scenario that monitors
    /// nothing gets the `up == 0` pipeline of `--strategy alertmanager`, at its flags' timing.
    /// With --external-cmd, the command serves it; alone, a healer already running does.
    #[arg(long, value_name = "URL")]
    external_webhook: Option<String>,
}

impl StrategyArgs {
    /// The strategy called `name` (else the one `plan`'s file names, else the embedded healer)
    /// with the settings these flags give, the external healer's falling back to the file's; or
    /// the message of a usage error: an unknown name, or `external` without a command or webhook.
    pub(super) fn strategy(
        &self,
        name: Option<&str>,
        plan: &Plan,
    ) -> Result<Arc<dyn Strategy>, String> {
        let file = plan.strategy.as_ref();
        let name = name.or(file.map(|s| s.name.as_str())).unwrap_or("embedded");
        let external = External {
            command: self
                .external_cmd
                .clone()
                .or_else(|| file.and_then(|f| f.external_command.clone())),
            webhook: self
                .external_webhook
                .clone()
                .or_else(|| file.and_then(|f| f.external_webhook.clone())),
            alerting: self.alertmanager(),
        };
        if name.trim() == External::NAME && external.command.is_none() && external.webhook.is_none()
        {
            return Err(format!(
                "--strategy {} needs --external-cmd <COMMAND>, the healer to run, e.g. \
                 --external-cmd \"python3 examples/agents/restart_on_down.py\", or \
                 --external-webhook <URL>, the webhook of one already running (or the \
                 scenario's `healer.external`)",
                External::NAME
            ));
        }
        if let Some(url) = &self.external_webhook {
            strategy::check_webhook(url).map_err(|e| format!("--external-webhook: {e}"))?;
        }
        strategy::parse(name, &self.configured(external)).map_err(|e| e.to_string())
    }

    /// `--strategy alertmanager`'s pipeline at these flags' timing.
    fn alertmanager(&self) -> Alertmanager {
        Alertmanager {
            scrape: self.alertmanager_scrape,
            rule_for: self.alertmanager_for,
            group_wait: self.alertmanager_group_wait,
        }
    }

    /// The strategies whose settings these flags give, with `external` as configured.
    fn configured(&self, external: External) -> Vec<Arc<dyn Strategy>> {
        vec![
            Arc::new(Autoheal {
                interval: self.autoheal_interval,
                retries: self.autoheal_retries.max(1),
                poll: self.autoheal_poll,
            }),
            Arc::new(self.alertmanager()),
            Arc::new(external),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{self, Context};

    /// The `sim run` flags of `args` and the plan of a scenario whose `healer:` is `healer`.
    fn parsed(args: &[&str], healer: &str) -> (StrategyArgs, Option<String>, Plan) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.yaml");
        let text = format!("target: {{ image: leaky }}\nload: {{ duration: 5s }}\n{healer}");
        std::fs::write(&path, text).unwrap();
        let plan = scenario::load(&path, &Context::default()).unwrap();
        let cli = Cli::try_parse_from([&["sim", "run", "demo"][..], args].concat()).unwrap();
        match cli.command {
            Command::Run {
                strategy, settings, ..
            } => (settings, strategy, plan),
            _ => unreachable!("parsed as `sim run`"),
        }
    }

    #[test]
    fn the_flag_wins_then_the_scenarios_strategy_then_the_embedded_healer() {
        let file = "healer:\n  strategy: external\n  external: { command: python3 file.py }\n";
        let (settings, flag, plan) = parsed(&[], file);
        let strategy = settings.strategy(flag.as_deref(), &plan).unwrap();
        assert_eq!(strategy.name(), "external");
        assert_eq!(strategy.settings()["command"], "python3 file.py");

        let (settings, flag, plan) = parsed(&["--external-cmd", "python3 flag.py"], file);
        let strategy = settings.strategy(flag.as_deref(), &plan).unwrap();
        assert_eq!(strategy.settings()["command"], "python3 flag.py");

        let (settings, flag, plan) = parsed(&["--strategy", "floor"], file);
        assert_eq!(
            settings.strategy(flag.as_deref(), &plan).unwrap().name(),
            "floor"
        );

        let (settings, flag, plan) = parsed(&[], "");
        let strategy = settings.strategy(flag.as_deref(), &plan).unwrap();
        assert_eq!(strategy.name(), "embedded");
    }

    #[test]
    fn external_needs_a_command_or_a_loopback_webhook() {
        let (settings, _, plan) = parsed(&[], "");
        let error = settings.strategy(Some("external"), &plan).unwrap_err();
        assert!(error.contains("--external-cmd"), "{error}");
        let (settings, _, plan) = parsed(&["--external-webhook", "http://10.0.0.2:80/"], "");
        let error = settings.strategy(Some("external"), &plan).unwrap_err();
        assert!(error.contains("not on this machine's loopback"), "{error}");
        let (settings, _, plan) = parsed(&[], "");
        let error = settings.strategy(Some("nobody"), &plan).unwrap_err();
        assert!(error.contains("unknown strategy"), "{error}");
    }
}
