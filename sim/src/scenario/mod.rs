//! Scenario files: what to run (a target, load, faults, the healer's runbooks) and what to
//! expect, read from YAML and compiled into a validated [`Plan`] with every problem reported at
//! once, each at file:line:col.
//!
//! # The file
//!
//! A scenario lives in `scenarios/<name>.yaml`; `name`, if written, must match the file name.
//! Durations are written `500ms`, `3s`, `1m30s`; sizes `64MiB`, `64MB`, `4096`; rates
//! `32MiB/s`; fractions `5%`.
//!
//! ```yaml
//! name: oom-recovery            # optional; must equal the file name without .yaml
//! description: A leaky service is OOM-killed under load; the healer restarts it.
//! trials: 3                     # 1..=1000, default 1
//! settle: 3s                    # time after the last fault before a trial may end; default 3s
//! target:
//!   image: leaky                # required: `leaky` (built-in) or a local image name
//!   name: leaky                 # container base name; default `leaky`, or derived from the image
//!   replicas: 1                 # 1..=16, default 1
//!   port: 8080                  # the port the service listens on, default 8080
//!   memory: 64MiB               # memory limit, at least 6MiB; default none
//!   cpus: 1.0                   # CPU limit, 0.01..=1024; default none
//!   env: { LEAKY_WORK_ITERATIONS: "2000" }
//!   startup_timeout: 20s        # default 20s
//!   balancer: haproxy           # none | haproxy; default haproxy with several replicas, else none
//!   health:                     # all optional; defaults shown
//!     path: /health
//!     interval: 50ms            # at most 1s: the prober must sample often enough for MTTR
//!     timeout: 500ms
//!     healthy_after: 3          # consecutive good probes that count as recovered
//!   # Or a service of a Docker Compose project (see `crate::compose`): both keys, or neither.
//!   # The service gives the image (`sim-leaky` → the built-in target; `build:` → built as
//!   # `sim-compose-<project>-<service>:latest`), replicas, limits and environment (`env`
//!   # overrides it), so `image`, `name`, `replicas`, `memory` and `cpus` are refused here;
//!   # `port` defaults to its first `ports`/`expose` container port.
//!   # compose: stack/compose.yaml  # relative to this file
//!   # service: web
//! load:
//!   duration: 12s               # required
//!   users: 4                    # default 4
//!   path: /                     # default /
//!   timeout: 2s                 # per request, default 2s
//!   max_rps: 200                # default: no cap
//!   via: lb                     # with target.compose: the service the load goes through (it
//!                               # needs a `ports:` entry); the target then gets no sim balancer
//! faults:                       # may be empty or left out
//!   - kind: memory-leak
//!     at: 3s                    # after the load starts; must be before load.duration;
//!                               # `2s..6s`: drawn anew each trial from the run's seed
//!                               # (printed and journalled; `sim run --seed N` replays it)
//!     rate: 32MiB/s             # exactly one of rate / amount / per_request
//!   - kind: cpu-burn            # threads (default 1)
//!     at: 2s
//!     duration: 5s              # optional for lasting kinds (all but crash and kill)
//!     threads: 2
//!   - kind: latency             # fixed (required), jitter (default 0)
//!     at: 2s
//!     fixed: 200ms
//!     jitter: 50ms
//!     replica: 0                # any kind: only this replica; default every replica
//!   - kind: network-latency     # in the network path, not the target: a proxy between the
//!     at: 3s                    # balancer and the replica delays each chunk, each way, by
//!     duration: 6s              # fixed (required) ± jitter (default 0); needs a balancer
//!     fixed: 400ms
//!     jitter: 100ms
//!   - kind: network-errors      # that proxy resets this share of new connections; needs a
//!     at: 3s                    # balancer
//!     rate: 50%
//!   - kind: network-loss        # that proxy blackholes this share of new connections (accepts,
//!     at: 3s                    # never answers: a timeout, not a reset); needs a balancer
//!     rate: 75%
//!   # also: `kind: hang`, `kind: crash` (exit_code, default 1), `kind: kill`,
//!   # `kind: bad-deploy` (built-in target only, no duration: the replica is replaced by its
//!   # next version, which fails health, labelled healer.previous-image for a rollback),
//!   # `kind: dependency-outage` (needs `dependency`, no `replica`: `docker stop` of the
//!   # dependency; at the window's end it is started again if still stopped),
//!   # `kind: monitoring-outage` with `component: prometheus | alertmanager` (needs
//!   # `monitoring` with `prometheus: required`: `docker stop` of the run's Prometheus or
//!   # Alertmanager, started again at the window's end or the trial's)
//! dependency:                   # optional: a built-in leaky container beside the target, per
//!   name: db                    # trial, answering as <name>:8080 (default db); the built-in
//!                               # target's /health and / answer 503 while it does not answer
//! healer:
//!   runbooks: [restart-on-oom]  # names, looked up as <dir>/<name>.yaml in Context::runbook_dirs,
//!                               # or paths (containing / or ending .yaml) relative to this file
//! monitoring:                   # optional: real Prometheus + Alertmanager alerting the healer
//!   prometheus: required        # required (default) | if-available (else the embedded default) | off
//!   rules: [rules/leaky.rules.yml]  # Prometheus rule files, relative to this file
//! expect:                       # all optional
//!   recovered_within: 10s
//!   max_error_rate: 5%
//!   min_success_rate: 100%
//!   max_oom_kills: 0
//!   escalations: 0              # exactly this many per trial
//!   healed: true                # every trial has a successful action; false: no action at all
//!   max_p99_latency: 500ms      # every trial's load p99: for faults that slow, not fail
//! ```
//!
//! Runbook files are only checked to exist here; the healer validates their contents.

mod compile;
mod plan;
mod spec;

use std::fs;
use std::path::{Path, PathBuf};

pub(crate) use compile::{is_container_name, KindCompiler, CPUS, MIN_MEMORY};
pub use plan::{
    Balancer, DependencyPlan, FaultKind, FaultPlan, HealthPlan, Leak, LoadPlan, MonitoringPlan,
    Plan, StrategyPlan, TargetImage, TargetPlan,
};
use specfile::Problems;

/// What a scenario is compiled against.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    /// Where named runbooks are looked up, in order; the first `<dir>/<name>.yaml` found wins.
    pub runbook_dirs: Vec<PathBuf>,
}

/// Reads and compiles the scenario at `path`, returning every problem found if it has any.
pub fn load(path: &Path, ctx: &Context) -> Result<Plan, Problems> {
    let text = fs::read_to_string(path).map_err(|error| {
        Problems::whole_file(path, format!("cannot read the scenario: {error}"))
    })?;
    compile_text(&text, path, ctx)
}

/// Compiles scenario `text` as [`load`] does the file at `path` (which names it in problems and
/// is what its relative paths, runbooks, rules and compose files, are resolved against).
pub fn compile_text(text: &str, path: &Path, ctx: &Context) -> Result<Plan, Problems> {
    let (spec, map) = specfile::parse::<spec::ScenarioSpec>(path, text)?;
    compile::compile(spec, map, path, ctx)
}

/// A scenario that could not be found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    #[error(
        "no scenario `{name}`: it is not a file, and there is no {}; available: {}",
        dir.join(format!("{name}.yaml")).display(),
        available_names(available)
    )]
    NotFound {
        name: String,
        dir: PathBuf,
        /// The scenario names in `dir`, sorted.
        available: Vec<String>,
    },
}

fn available_names(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// Finds a scenario: an existing file path is taken as is; otherwise `name_or_path` is a name
/// looked up as `<scenarios_dir>/<name>.yaml`.
pub fn resolve(name_or_path: &str, scenarios_dir: &Path) -> Result<PathBuf, ResolveError> {
    let as_path = Path::new(name_or_path);
    if as_path.is_file() {
        return Ok(as_path.to_owned());
    }
    let named = scenarios_dir.join(format!("{name_or_path}.yaml"));
    if named.is_file() {
        return Ok(named);
    }
    Err(ResolveError::NotFound {
        name: name_or_path.to_owned(),
        dir: scenarios_dir.to_owned(),
        available: scenario_files(scenarios_dir)
            .into_iter()
            .map(|(name, _)| name)
            .collect(),
    })
}

/// Every scenario in `scenarios_dir` (its `*.yaml` files), sorted by name, each compiled.
/// An unreadable directory lists nothing.
pub fn list(scenarios_dir: &Path, ctx: &Context) -> Vec<(String, PathBuf, Result<Plan, Problems>)> {
    scenario_files(scenarios_dir)
        .into_iter()
        .map(|(name, path)| {
            let plan = load(&path, ctx);
            (name, path, plan)
        })
        .collect()
}

/// `(name, path)` of each `*.yaml` file in `dir`, sorted by name.
fn scenario_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "yaml"))
        .filter_map(|path| {
            let name = path.file_stem()?.to_str()?.to_owned();
            Some((name, path))
        })
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "target: { image: leaky }\nload: { duration: 5s }\n";

    fn scenarios() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("b-good.yaml"), GOOD).unwrap();
        fs::write(dir.path().join("a-bad.yaml"), "trials: 0\n").unwrap();
        fs::write(dir.path().join("notes.txt"), "not a scenario").unwrap();
        dir
    }

    #[test]
    fn resolve_takes_a_file_path_as_is() {
        let dir = scenarios();
        let path = dir.path().join("b-good.yaml");
        let given = path.to_str().unwrap();
        assert_eq!(resolve(given, Path::new("elsewhere")).unwrap(), path);
    }

    #[test]
    fn resolve_looks_a_name_up_in_the_scenarios_dir() {
        let dir = scenarios();
        assert_eq!(
            resolve("b-good", dir.path()).unwrap(),
            dir.path().join("b-good.yaml")
        );
    }

    #[test]
    fn resolve_lists_the_available_names_when_nothing_matches() {
        let dir = scenarios();
        let err = resolve("c-missing", dir.path()).unwrap_err();
        let ResolveError::NotFound { available, .. } = &err;
        assert_eq!(available, &["a-bad", "b-good"]);
        let text = err.to_string();
        assert!(text.contains("no scenario `c-missing`"), "{text}");
        assert!(text.ends_with("available: a-bad, b-good"), "{text}");
        let empty = tempfile::tempdir().unwrap();
        let text = resolve("x", empty.path()).unwrap_err().to_string();
        assert!(text.ends_with("available: none"), "{text}");
    }

    #[test]
    fn list_compiles_every_yaml_file_in_name_order() {
        let dir = scenarios();
        let listed = list(dir.path(), &Context::default());
        let names: Vec<&str> = listed.iter().map(|(name, ..)| name.as_str()).collect();
        assert_eq!(names, ["a-bad", "b-good"]);
        assert!(listed[0].2.is_err());
        assert_eq!(listed[1].2.as_ref().unwrap().name, "b-good");
        assert!(list(&dir.path().join("absent"), &Context::default()).is_empty());
    }

    #[test]
    fn an_unreadable_file_is_one_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone.yaml");
        let problems = load(&path, &Context::default()).unwrap_err().0;
        assert_eq!(problems.len(), 1);
        assert_eq!((problems[0].line, problems[0].col), (1, 1));
        assert!(problems[0].message.starts_with("cannot read the scenario"));
    }
}
