//! Spec → plan: applies the defaults, parses and checks every value, resolves runbooks, and
//! collects every problem in the file (each located by its field path) instead of stopping at the
//! first.
//!
//! Helpers return `None` for a value they found bad, after recording why; the plan is then built
//! with placeholders, and [`ProblemList::finish`] discards it because problems were recorded.
//! Checks that compare two values (a fault against the load's length, a replica index against
//! the replica count) run only when both values are good, so one mistake is reported once.
//!
//! This module holds the entry point, [`compile`], and the helpers every section uses; each
//! section of the scenario file has a module of its own.

use std::ops::RangeInclusive;
use std::path::Path;
use std::time::Duration;

use specfile::{Problem, ProblemList, Problems, Scalar, SourceMap};

use super::plan::{Balancer, FaultKind, FaultPlan, Plan};
use super::spec::ScenarioSpec;
use super::Context;

mod compose;
mod dependency;
mod expect;
mod faults;
mod healer;
mod load;
mod monitoring;
mod swarm;
mod target;
#[cfg(test)]
mod tests;

pub(crate) use faults::KindCompiler;
pub(crate) use target::is_container_name;

const DEFAULT_TRIALS: u32 = 1;
const DEFAULT_SETTLE: Duration = Duration::from_secs(3);

/// Docker refuses memory limits below 6 MiB.
pub(crate) const MIN_MEMORY: u64 = 6 << 20;
pub(crate) const CPUS: RangeInclusive<f64> = 0.01..=1024.0;

/// Compiles the spec read from `source` (with `map` locating its fields) into a plan.
pub(super) fn compile(
    spec: ScenarioSpec,
    map: SourceMap,
    source: &Path,
    ctx: &Context,
) -> Result<Plan, Problems> {
    let mut c = Compiler {
        p: ProblemList::new(source, map),
        source,
        ctx,
        elsewhere: Vec::new(),
    };
    c.p.unknown_fields("", &spec.unknown, ScenarioSpec::FIELDS);
    let swarm = c.platform(&spec);
    let name = c.name(spec.name);
    let trials = c.int("trials", spec.trials, DEFAULT_TRIALS, 1..=1000);
    let settle = c.duration_or("settle", spec.settle.as_ref(), DEFAULT_SETTLE);
    let target_spec = spec.target.unwrap_or_default();
    let wants_compose = target_spec.compose.is_some();
    let balancer = target_spec.balancer.clone();
    let (mut target, replicas, compose) = c.target(target_spec);
    let compose_plan = wants_compose.then_some(compose.as_ref().map(|c| &c.plan));
    let (load, load_duration) = c.load(spec.load.unwrap_or_default(), compose_plan);
    if load.via.is_some() {
        if balancer.as_deref() == Some("haproxy") {
            c.p.push(
                "target.balancer",
                "`load.via` sends the load through the project's own balancer, so sim's cannot stand in front",
                Some("remove `balancer:` or `load.via`".into()),
            );
        }
        target.balancer = Balancer::None;
    }
    let faults: Vec<FaultPlan> = spec
        .faults
        .iter()
        .enumerate()
        .filter_map(|(i, fault)| c.fault(i, fault, &target, replicas, load_duration))
        .collect();
    c.swarm_faults(swarm.as_ref(), &faults, &mut target);
    if faults
        .iter()
        .any(|f| matches!(f.kind, FaultKind::CrashLoop(_)))
    {
        // Where the target looks for the marker the fault writes.
        target.env.insert(
            leaky::CRASH_ON_START_VAR.to_owned(),
            crate::faults::CRASH_LOOP_MARKER.to_owned(),
        );
    }
    let dependency = spec.dependency.and_then(|d| c.dependency(d, &mut target));
    c.dependency_faults(&spec.faults, dependency.is_some());
    let healer = spec.healer.unwrap_or_default();
    let (runbooks, strategy, advisor) = c.healer(&healer);
    let probe_timeout = c.probe_timeout(healer.probe_timeout.as_ref());
    let monitoring = spec.monitoring.and_then(|m| c.monitoring(m));
    c.monitoring_faults(&spec.faults, monitoring.as_ref());
    let expect = c.expect(spec.expect.unwrap_or_default());
    let plan = Plan {
        name,
        description: spec.description.unwrap_or_default(),
        source: source.to_owned(),
        trials: trials.unwrap_or(DEFAULT_TRIALS),
        target,
        load,
        faults,
        runbooks,
        strategy,
        advisor,
        probe_timeout,
        monitoring,
        expect,
        settle: settle.unwrap_or(DEFAULT_SETTLE),
        dependency,
        compose: compose.map(|c| c.plan),
        swarm,
    };
    let elsewhere = std::mem::take(&mut c.elsewhere);
    match c.p.finish(plan) {
        Ok(plan) if elsewhere.is_empty() => Ok(plan),
        Ok(_) => Err(Problems(elsewhere)),
        Err(Problems(mut problems)) => {
            problems.extend(elsewhere);
            Err(Problems(problems))
        }
    }
}

struct Compiler<'a> {
    p: ProblemList,
    source: &'a Path,
    ctx: &'a Context,
    /// Problems of other files the scenario names (its compose file), reported after its own.
    elsewhere: Vec<Problem>,
}

impl Compiler<'_> {
    fn name(&mut self, name: Option<String>) -> String {
        let stem = self
            .source
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match name {
            None => stem,
            Some(name) if name == stem => name,
            Some(name) => {
                let file = self
                    .source
                    .file_name()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                self.p.push(
                    "name",
                    format!("the name `{name}` does not match the file name `{file}`"),
                    Some("rename the file or the name".into()),
                );
                name
            }
        }
    }

    /// An integer in `range`, or `default` when absent.
    fn int<T: TryFrom<i64>>(
        &mut self,
        field: &str,
        value: Option<i64>,
        default: T,
        range: RangeInclusive<i64>,
    ) -> Option<T> {
        let Some(value) = value else {
            return Some(default);
        };
        match T::try_from(value) {
            Ok(good) if range.contains(&value) => Some(good),
            _ => {
                self.p.push(
                    field,
                    format!(
                        "must be between {} and {}, got {value}",
                        range.start(),
                        range.end()
                    ),
                    None,
                );
                None
            }
        }
    }

    /// Records that a required field is absent; `example` shows how to write it.
    fn missing(&mut self, field: &str, example: &str) {
        self.p
            .push(field, "is required", Some(format!("add `{example}`")));
    }

    fn duration_or(
        &mut self,
        field: &str,
        value: Option<&Scalar>,
        default: Duration,
    ) -> Option<Duration> {
        self.p
            .duration_or(field, value.map(Scalar::as_str), default)
    }

    /// `duration`, unless it is zero.
    fn nonzero(&mut self, field: &str, duration: Option<Duration>) -> Option<Duration> {
        let duration = duration?;
        if duration.is_zero() {
            self.p.push(field, "must be longer than 0", None);
            return None;
        }
        Some(duration)
    }

    /// A URL path, which must start with `/`.
    fn url_path(&mut self, field: &str, value: Option<String>, default: &str) -> String {
        match value {
            None => default.to_owned(),
            Some(path) if path.starts_with('/') => path,
            Some(path) => {
                self.p.push(
                    field,
                    format!("the path {path:?} must start with /"),
                    Some(format!("write `/{}`", path.trim_start_matches('/'))),
                );
                path
            }
        }
    }
}
