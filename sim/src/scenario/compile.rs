//! Spec → plan: applies the defaults, parses and checks every value, resolves runbooks, and
//! collects every problem in the file (each located by its field path) instead of stopping at the
//! first.
//!
//! Helpers return `None` for a value they found bad, after recording why; the plan is then built
//! with placeholders, and [`ProblemList::finish`] discards it because problems were recorded.
//! Checks that compare two values (a fault against the load's length, a replica index against
//! the replica count) run only when both values are good, so one mistake is reported once.

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use specfile::{did_you_mean, ProblemList, Problems, Scalar, SourceMap};

use super::plan::{
    Balancer, DependencyPlan, FaultKind, FaultPlan, HealthPlan, Leak, LoadPlan, MonitoringPlan,
    Plan, TargetImage, TargetPlan,
};
use super::spec::{
    DependencySpec, ExpectSpec, FaultSpec, HealerSpec, HealthSpec, LoadSpec, MonitoringSpec,
    ScenarioSpec, TargetSpec,
};
use super::Context;

const DEFAULT_TRIALS: u32 = 1;
const DEFAULT_SETTLE: Duration = Duration::from_secs(3);
const DEFAULT_REPLICAS: u32 = 1;
const DEFAULT_PORT: u16 = 8080;
const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
const DEFAULT_HEALTH_PATH: &str = "/health";
const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_millis(50);
const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_millis(500);
const DEFAULT_HEALTHY_AFTER: u32 = 3;
const DEFAULT_USERS: usize = 4;
const DEFAULT_LOAD_PATH: &str = "/";
const DEFAULT_LOAD_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_CPU_BURN_THREADS: u32 = 1;
const DEFAULT_CRASH_EXIT_CODE: i32 = 1;

/// The longest health interval allowed: slower sampling blurs the measured recovery time.
const MAX_HEALTH_INTERVAL: Duration = Duration::from_secs(1);
/// Docker refuses memory limits below 6 MiB.
const MIN_MEMORY: u64 = 6 << 20;
const CPUS: RangeInclusive<f64> = 0.01..=1024.0;

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
    };
    c.p.unknown_fields("", &spec.unknown, ScenarioSpec::FIELDS);
    let name = c.name(spec.name);
    let trials = c.int("trials", spec.trials, DEFAULT_TRIALS, 1..=1000);
    let settle = c.duration_or("settle", spec.settle.as_ref(), DEFAULT_SETTLE);
    let (mut target, replicas) = c.target(spec.target.unwrap_or_default());
    let (load, load_duration) = c.load(spec.load.unwrap_or_default());
    let faults: Vec<FaultPlan> = spec
        .faults
        .iter()
        .enumerate()
        .filter_map(|(i, fault)| c.fault(i, fault, &target, replicas, load_duration))
        .collect();
    if faults.iter().any(|f| f.kind == FaultKind::CrashLoop) {
        // Where the target looks for the marker the fault writes.
        target.env.insert(
            leaky::CRASH_ON_START_VAR.to_owned(),
            crate::faults::CRASH_LOOP_MARKER.to_owned(),
        );
    }
    let dependency = spec.dependency.and_then(|d| c.dependency(d, &mut target));
    c.dependency_faults(&spec.faults, dependency.is_some());
    let runbooks = c.runbooks(spec.healer.unwrap_or_default());
    let monitoring = spec.monitoring.and_then(|m| c.monitoring(m));
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
        monitoring,
        expect,
        settle: settle.unwrap_or(DEFAULT_SETTLE),
        dependency,
    };
    c.p.finish(plan)
}

struct Compiler<'a> {
    p: ProblemList,
    source: &'a Path,
    ctx: &'a Context,
}

/// The fields a fault kind takes besides the common ones, and whether it lasts (takes
/// `duration`) or happens at once.
fn kind_fields(kind: &str) -> (&'static [&'static str], bool) {
    match kind {
        "memory-leak" => (&["rate", "amount", "per_request"], true),
        "cpu-burn" => (&["threads"], true),
        "latency" => (&["fixed", "jitter"], true),
        "hang" => (&[], true),
        "crash" => (&["exit_code"], false),
        "pause" => (&[], true),
        "resource-squeeze" => (&["memory", "cpus"], true),
        "crash-loop" => (&[], true),
        "network-latency" => (&["fixed", "jitter"], true),
        "network-errors" => (&["rate"], true),
        "bad-deploy" => (&[], false),
        "dependency-outage" => (&[], true),
        _ => (&[], false),
    }
}

/// The base name of containers for an image: `registry:5000/team/app:1.2` → `app`.
fn name_from_image(image: &str) -> String {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let base = last.split(':').next().unwrap_or(last);
    let cleaned: String = base
        .chars()
        .map(|c| if is_name_char(c) { c } else { '-' })
        .collect();
    if is_container_name(&cleaned) {
        cleaned
    } else {
        format!("target-{cleaned}")
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// Docker's rule for container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
fn is_container_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric()) && chars.all(is_name_char)
}

/// A runbook entry that is a path (`runbooks/x.yaml`) rather than a name (`x`).
fn is_runbook_path(entry: &str) -> bool {
    entry.contains(['/', '\\']) || entry.ends_with(".yaml") || entry.ends_with(".yml")
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
        match value {
            Some(value) => self.p.duration(field, value.as_str()),
            None => Some(default),
        }
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

    /// The target, and its replica count if that was valid.
    fn target(&mut self, spec: TargetSpec) -> (TargetPlan, Option<u32>) {
        self.p
            .unknown_fields("target", &spec.unknown, TargetSpec::FIELDS);
        let image = match spec.image.as_deref().map(str::trim) {
            None => {
                self.missing("target.image", "image: leaky");
                None
            }
            Some("leaky") => Some(TargetImage::Leaky),
            Some(image) if image.is_empty() || image.contains(char::is_whitespace) => {
                self.p.push(
                    "target.image",
                    format!("invalid image name {image:?}"),
                    Some("write `leaky` for the built-in target, or a local image such as `myapp:1.0`".into()),
                );
                None
            }
            Some(image) => Some(TargetImage::Local(image.to_owned())),
        };
        let name = match (spec.name, &image) {
            (Some(name), _) => {
                if !is_container_name(&name) {
                    self.p.push(
                        "target.name",
                        format!("invalid name {name:?}: use letters, digits, `_`, `.` and `-`, starting with a letter or digit"),
                        None,
                    );
                }
                name
            }
            (None, Some(TargetImage::Local(image))) => name_from_image(image),
            (None, _) => "leaky".to_owned(),
        };
        let replicas = self.int("target.replicas", spec.replicas, DEFAULT_REPLICAS, 1..=16);
        let port = self.int("target.port", spec.port, DEFAULT_PORT, 1..=65535);
        let memory_bytes = spec.memory.and_then(|memory| {
            let bytes = self.p.size("target.memory", memory.as_str())?;
            if bytes < MIN_MEMORY {
                self.p.push(
                    "target.memory",
                    format!("{memory} is below the 6MiB Docker accepts as a memory limit"),
                    None,
                );
                return None;
            }
            Some(bytes)
        });
        let nano_cpus = spec.cpus.and_then(|cpus| {
            if !CPUS.contains(&cpus) {
                self.p.push(
                    "target.cpus",
                    format!(
                        "must be between {} and {} CPUs, got {cpus}",
                        CPUS.start(),
                        CPUS.end()
                    ),
                    None,
                );
                return None;
            }
            // In range, so the product fits an i64 with room to spare.
            Some((cpus * 1e9).round() as i64)
        });
        for key in spec.env.keys() {
            if key.is_empty() || key.contains(['=', '\0']) {
                self.p.push(
                    &format!("target.env.{key}"),
                    format!("invalid variable name {key:?}"),
                    None,
                );
            }
        }
        let env = spec
            .env
            .into_iter()
            .map(|(key, value)| (key, value.0))
            .collect();
        let startup_timeout = self.duration_or(
            "target.startup_timeout",
            spec.startup_timeout.as_ref(),
            DEFAULT_STARTUP_TIMEOUT,
        );
        let startup_timeout = self.nonzero("target.startup_timeout", startup_timeout);
        let health = self.health(spec.health.unwrap_or_default());
        // Several replicas get a balancer unless told otherwise: load must reach all of them.
        let balancer = match spec.balancer.as_deref() {
            None if replicas.is_some_and(|n| n > 1) => Balancer::Haproxy,
            None | Some("none") => Balancer::None,
            Some("haproxy") => Balancer::Haproxy,
            Some(other) => {
                self.p.push(
                    "target.balancer",
                    format!("unknown balancer {other:?}: expected `none` or `haproxy`"),
                    None,
                );
                Balancer::None
            }
        };
        let plan = TargetPlan {
            name,
            image: image.unwrap_or(TargetImage::Leaky),
            replicas: replicas.unwrap_or(DEFAULT_REPLICAS),
            port: port.unwrap_or(DEFAULT_PORT),
            memory_bytes,
            nano_cpus,
            env,
            health,
            startup_timeout: startup_timeout.unwrap_or(DEFAULT_STARTUP_TIMEOUT),
            balancer,
        };
        (plan, replicas)
    }

    fn health(&mut self, spec: HealthSpec) -> HealthPlan {
        self.p
            .unknown_fields("target.health", &spec.unknown, HealthSpec::FIELDS);
        let path = self.url_path("target.health.path", spec.path, DEFAULT_HEALTH_PATH);
        let field = "target.health.interval";
        let interval = self.duration_or(field, spec.interval.as_ref(), DEFAULT_HEALTH_INTERVAL);
        let interval = self.nonzero(field, interval).filter(|interval| {
            let fine = *interval <= MAX_HEALTH_INTERVAL;
            if !fine {
                self.p.push(
                    field,
                    format!(
                        "{interval:?} is too long: the prober must sample often enough for MTTR"
                    ),
                    Some("use at most 1s; 50ms or less is recommended".into()),
                );
            }
            fine
        });
        let field = "target.health.timeout";
        let timeout = self.duration_or(field, spec.timeout.as_ref(), DEFAULT_HEALTH_TIMEOUT);
        let timeout = self.nonzero(field, timeout);
        let healthy_after = self.int(
            "target.health.healthy_after",
            spec.healthy_after,
            DEFAULT_HEALTHY_AFTER,
            1..=100,
        );
        HealthPlan {
            path,
            interval: interval.unwrap_or(DEFAULT_HEALTH_INTERVAL),
            timeout: timeout.unwrap_or(DEFAULT_HEALTH_TIMEOUT),
            healthy_after: healthy_after.unwrap_or(DEFAULT_HEALTHY_AFTER),
        }
    }

    /// The load, and its duration if that was valid.
    fn load(&mut self, spec: LoadSpec) -> (LoadPlan, Option<Duration>) {
        self.p
            .unknown_fields("load", &spec.unknown, LoadSpec::FIELDS);
        let users = self.int("load.users", spec.users, DEFAULT_USERS, 1..=10_000);
        let duration = match &spec.duration {
            Some(duration) => self.p.duration("load.duration", duration.as_str()),
            None => {
                self.missing("load.duration", "duration: 30s");
                None
            }
        };
        let duration = self.nonzero("load.duration", duration);
        let path = self.url_path("load.path", spec.path, DEFAULT_LOAD_PATH);
        let timeout = self.duration_or("load.timeout", spec.timeout.as_ref(), DEFAULT_LOAD_TIMEOUT);
        let timeout = self.nonzero("load.timeout", timeout);
        let max_rps = spec
            .max_rps
            .and_then(|rps| self.int("load.max_rps", Some(rps), 0, 1..=1_000_000));
        let plan = LoadPlan {
            users: users.unwrap_or(DEFAULT_USERS),
            duration: duration.unwrap_or_default(),
            path,
            timeout: timeout.unwrap_or(DEFAULT_LOAD_TIMEOUT),
            max_rps,
        };
        (plan, duration)
    }

    /// Fault `i`, or `None` if it has problems (all of them recorded).
    fn fault(
        &mut self,
        i: usize,
        spec: &FaultSpec,
        target: &TargetPlan,
        replicas: Option<u32>,
        load_duration: Option<Duration>,
    ) -> Option<FaultPlan> {
        let base = format!("faults[{i}]");
        let field = |name: &str| format!("{base}.{name}");
        let kind = match spec.kind.as_deref() {
            None => {
                self.missing(&field("kind"), "kind: memory-leak");
                None
            }
            Some(kind) if FaultKind::NAMES.contains(&kind) => Some(kind),
            Some(kind) => {
                self.p.push(
                    &field("kind"),
                    format!(
                        "unknown fault kind `{kind}`, expected one of: {}",
                        FaultKind::NAMES.join(", ")
                    ),
                    did_you_mean(kind, &FaultKind::NAMES),
                );
                None
            }
        };
        self.fault_fields(&base, kind, spec);

        // `(at, Some(latest))` for a randomised start, `at: 2s..6s`.
        let at = match &spec.at {
            Some(at) => self.fault_start(&field("at"), at.as_str()),
            None => {
                self.missing(&field("at"), "at: 3s");
                None
            }
        };
        if let (Some((at, latest)), Some(load)) = (at, load_duration) {
            let last = latest.unwrap_or(at);
            if last >= load {
                self.p.push(
                    &field("at"),
                    format!("the fault starts at {last:?}, but the load lasts only {load:?}"),
                    Some("start it earlier, or lengthen load.duration".into()),
                );
            }
        }
        // `Some(None)`: not given; `None`: given but bad.
        let duration = match &spec.duration {
            None => Some(None),
            Some(d) => {
                let d = self.p.duration(&field("duration"), d.as_str());
                self.nonzero(&field("duration"), d).map(Some)
            }
        };
        let replica = match spec.replica {
            None => Some(None),
            Some(replica) => self.replica(&field("replica"), replica, replicas).map(Some),
        };
        let kind = kind.and_then(|kind| self.fault_kind(&base, kind, spec, target));
        let (at, at_latest) = at?;
        Some(FaultPlan {
            at,
            at_latest,
            duration: duration?,
            replica: replica?,
            kind: kind?,
        })
    }

    /// A fault's start: `3s`, or a range `2s..6s` to draw from in each trial.
    fn fault_start(&mut self, field: &str, text: &str) -> Option<(Duration, Option<Duration>)> {
        let Some((earliest, latest)) = text.split_once("..") else {
            return self.p.duration(field, text).map(|at| (at, None));
        };
        let earliest = self.p.duration(field, earliest);
        let latest = self.p.duration(field, latest);
        let (earliest, latest) = (earliest?, latest?);
        if latest <= earliest {
            self.p.push(
                field,
                format!("the range {text} is empty"),
                Some("write the earlier time first, e.g. at: 2s..6s".into()),
            );
            return None;
        }
        Some((earliest, Some(latest)))
    }

    /// Reports unknown fields, and fields that do not apply to the fault's kind.
    fn fault_fields(&mut self, base: &str, kind: Option<&str>, spec: &FaultSpec) {
        let Some(kind) = kind else {
            // Without a kind, any field of any kind may belong.
            let all: Vec<&str> = FaultSpec::COMMON
                .iter()
                .chain(FaultKind::NAMES.iter().flat_map(|k| kind_fields(k).0))
                .copied()
                .collect();
            self.p.unknown_fields(base, &spec.unknown, &all);
            return;
        };
        let (specific, lasts) = kind_fields(kind);
        let expected: Vec<&str> = FaultSpec::COMMON
            .iter()
            .copied()
            .filter(|name| lasts || *name != "duration")
            .chain(specific.iter().copied())
            .collect();
        self.p.unknown_fields(base, &spec.unknown, &expected);
        if !lasts && spec.duration.is_some() {
            self.p.push(
                &format!("{base}.duration"),
                format!("a {kind} fault happens at once and takes no duration"),
                Some("remove `duration`".into()),
            );
        }
        for name in spec.specific_fields() {
            if !specific.contains(&name) {
                let takes = if specific.is_empty() {
                    "no fields of its own".to_owned()
                } else {
                    specific.join(", ")
                };
                self.p.push(
                    &format!("{base}.{name}"),
                    format!("`{name}` does not apply to a {kind} fault, which takes {takes}"),
                    Some(format!("remove `{name}`")),
                );
            }
        }
    }

    fn replica(&mut self, field: &str, replica: i64, replicas: Option<u32>) -> Option<u32> {
        let Ok(index) = u32::try_from(replica) else {
            self.p.push(
                field,
                format!("must be a replica index from 0, got {replica}"),
                None,
            );
            return None;
        };
        match replicas {
            Some(replicas) if index >= replicas => {
                self.p.push(
                    field,
                    format!("replica {index} does not exist: the target has {replicas} replica(s), numbered from 0"),
                    Some(format!("use an index below {replicas}, or leave out `replica` to hit every replica")),
                );
                None
            }
            _ => Some(index),
        }
    }

    /// The kind-specific part of a fault whose kind is one of [`FaultKind::NAMES`].
    fn fault_kind(
        &mut self,
        base: &str,
        kind: &str,
        spec: &FaultSpec,
        target: &TargetPlan,
    ) -> Option<FaultKind> {
        let field = |name: &str| format!("{base}.{name}");
        match kind {
            "memory-leak" => self.leak(base, spec).map(FaultKind::MemoryLeak),
            "cpu-burn" => {
                let threads = self.int(
                    &field("threads"),
                    spec.threads,
                    DEFAULT_CPU_BURN_THREADS,
                    1..=64,
                )?;
                Some(FaultKind::CpuBurn { threads })
            }
            "latency" => {
                let (fixed, jitter) = self.latency(base, spec)?;
                Some(FaultKind::Latency { fixed, jitter })
            }
            "network-latency" | "network-errors" if target.balancer == Balancer::None => {
                self.p.push(
                    &field("kind"),
                    format!(
                        "a {kind} fault needs a load balancer: it lives in a proxy between the \
                         balancer and the replica"
                    ),
                    Some("set `target.balancer: haproxy`".into()),
                );
                None
            }
            "network-latency" => {
                let (fixed, jitter) = self.latency(base, spec)?;
                Some(FaultKind::NetworkLatency { fixed, jitter })
            }
            "network-errors" => self.connection_errors(base, spec),
            "hang" => Some(FaultKind::Hang),
            "crash" => {
                let exit_code = self.int(
                    &field("exit_code"),
                    spec.exit_code,
                    DEFAULT_CRASH_EXIT_CODE,
                    0..=255,
                )?;
                Some(FaultKind::Crash { exit_code })
            }
            "pause" => Some(FaultKind::Pause),
            "resource-squeeze" => self.squeeze(base, spec, target),
            "crash-loop" if target.image != TargetImage::Leaky => {
                self.p.push(
                    &field("kind"),
                    "a crash-loop fault needs the built-in target (`image: leaky`), which reads \
                     the marker file that makes its restarts fail",
                    None,
                );
                None
            }
            "crash-loop" => Some(FaultKind::CrashLoop),
            "bad-deploy" if target.image != TargetImage::Leaky => {
                self.p.push(
                    &field("kind"),
                    "a bad-deploy fault needs the built-in target (`image: leaky`): sim builds \
                     its next version, which fails its health check, from it",
                    Some("use `target.image: leaky`".into()),
                );
                None
            }
            "bad-deploy" => Some(FaultKind::BadDeploy),
            "dependency-outage" => Some(FaultKind::DependencyOutage),
            _ => Some(FaultKind::Kill),
        }
    }

    /// `fixed` (required) and `jitter` (default 0) of a latency fault.
    fn latency(&mut self, base: &str, spec: &FaultSpec) -> Option<(Duration, Duration)> {
        let field = |name: &str| format!("{base}.{name}");
        let fixed = match &spec.fixed {
            Some(fixed) => self.p.duration(&field("fixed"), fixed.as_str()),
            None => {
                self.missing(&field("fixed"), "fixed: 200ms");
                None
            }
        };
        let jitter = self.duration_or(&field("jitter"), spec.jitter.as_ref(), Duration::ZERO);
        Some((fixed?, jitter?))
    }

    /// A network-errors fault: `rate`, the share of connections reset, above 0%.
    fn connection_errors(&mut self, base: &str, spec: &FaultSpec) -> Option<FaultKind> {
        let field = format!("{base}.rate");
        let Some(rate) = &spec.rate else {
            self.missing(&field, "rate: 50%");
            return None;
        };
        let rate = self.p.percent(&field, rate.as_str())?;
        if rate <= 0.0 {
            self.p.push(&field, "must be more than 0%", None);
            return None;
        }
        Some(FaultKind::NetworkErrors { rate })
    }

    /// A resource squeeze: `memory` and/or `cpus`, each below the target's own limit (Docker
    /// cannot put an unlimited container back to unlimited, so there must be one to restore).
    fn squeeze(&mut self, base: &str, spec: &FaultSpec, target: &TargetPlan) -> Option<FaultKind> {
        if spec.memory.is_none() && spec.cpus.is_none() {
            self.p.push(
                base,
                "a resource-squeeze fault needs memory, cpus or both",
                Some("add e.g. `memory: 32MiB`".into()),
            );
            return None;
        }
        let mut ok = true;
        let memory_bytes = spec.memory.as_ref().and_then(|memory| {
            let field = format!("{base}.memory");
            let bytes = self.p.size(&field, memory.as_str());
            ok &= bytes.is_some();
            let bytes = bytes?;
            let problem = match target.memory_bytes {
                _ if bytes < MIN_MEMORY => Some(format!(
                    "{memory} is below the 6MiB Docker accepts as a memory limit"
                )),
                None => Some("the target has no memory limit to squeeze and restore".into()),
                Some(limit) if bytes >= limit => Some(format!(
                    "{memory} is not below the target's memory limit ({limit} bytes)"
                )),
                Some(_) => None,
            };
            if let Some(problem) = problem {
                self.p
                    .push(&field, problem, Some("set target.memory above it".into()));
                ok = false;
                return None;
            }
            Some(bytes)
        });
        let nano_cpus = spec.cpus.and_then(|cpus| {
            let field = format!("{base}.cpus");
            let nanos = (cpus * 1e9).round() as i64;
            let problem = match target.nano_cpus {
                _ if !CPUS.contains(&cpus) => Some(format!(
                    "must be between {} and {} CPUs, got {cpus}",
                    CPUS.start(),
                    CPUS.end()
                )),
                None => Some("the target has no CPU limit to squeeze and restore".into()),
                Some(limit) if nanos >= limit => Some(format!(
                    "{cpus} CPUs is not below the target's CPU limit ({} CPUs)",
                    limit as f64 / 1e9
                )),
                Some(_) => None,
            };
            if let Some(problem) = problem {
                self.p
                    .push(&field, problem, Some("set target.cpus above it".into()));
                ok = false;
                return None;
            }
            Some(nanos)
        });
        ok.then_some(FaultKind::ResourceSqueeze {
            memory_bytes,
            nano_cpus,
        })
    }

    /// A memory leak: exactly one of `rate`, `amount`, `per_request`.
    fn leak(&mut self, base: &str, spec: &FaultSpec) -> Option<Leak> {
        let given: Vec<(&str, &Scalar)> = [
            ("rate", &spec.rate),
            ("amount", &spec.amount),
            ("per_request", &spec.per_request),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|value| (name, value)))
        .collect();
        let [(name, value)] = given[..] else {
            if given.is_empty() {
                self.p.push(
                    base,
                    "a memory-leak fault needs one of: rate, amount, per_request",
                    Some("add e.g. `rate: 32MiB/s`".into()),
                );
            } else {
                let names: Vec<&str> = given.iter().map(|(name, _)| *name).collect();
                self.p.push(
                    &format!("{base}.{}", names[1]),
                    format!(
                        "give exactly one of rate, amount, per_request; this fault has {}",
                        names.join(" and ")
                    ),
                    Some("keep one and remove the others".into()),
                );
            }
            return None;
        };
        let field = format!("{base}.{name}");
        let bytes = if name == "rate" {
            self.p.rate(&field, value.as_str())?
        } else {
            self.p.size(&field, value.as_str())?
        };
        if bytes == 0 {
            self.p.push(&field, "must be more than 0", None);
            return None;
        }
        Some(match name {
            "rate" => Leak::Rate {
                bytes_per_sec: bytes,
            },
            "amount" => Leak::Amount { bytes },
            _ => Leak::PerRequest { bytes },
        })
    }

    /// The monitoring section: whether Prometheus is required, and rule files that exist.
    fn monitoring(&mut self, spec: MonitoringSpec) -> Option<MonitoringPlan> {
        self.p
            .unknown_fields("monitoring", &spec.unknown, MonitoringSpec::FIELDS);
        let required = match spec.prometheus.as_deref() {
            None | Some("required") => true,
            Some("if-available") => false,
            Some("off") => return None,
            Some(other) => {
                self.p.push(
                    "monitoring.prometheus",
                    format!(
                        "unknown value {other:?}: expected `required`, `if-available` or `off`"
                    ),
                    None,
                );
                true
            }
        };
        let scenario_dir = self.source.parent().unwrap_or(Path::new(""));
        let mut rules = Vec::new();
        for (i, entry) in spec.rules.iter().enumerate() {
            let path = scenario_dir.join(entry);
            if path.is_file() {
                rules.push(path);
            } else {
                self.p.push(
                    &format!("monitoring.rules[{i}]"),
                    format!("rule file {} not found", path.display()),
                    Some("paths are relative to the scenario file".into()),
                );
            }
        }
        Some(MonitoringPlan { required, rules })
    }

    /// The runbook files, each checked to exist.
    /// The dependency container; points the target at it (`LEAKY_DEPENDENCY_URL`).
    fn dependency(
        &mut self,
        spec: DependencySpec,
        target: &mut TargetPlan,
    ) -> Option<DependencyPlan> {
        self.p
            .unknown_fields("dependency", &spec.unknown, DependencySpec::FIELDS);
        let name = spec.name.unwrap_or_else(|| "db".to_owned());
        if !is_container_name(&name) || name == "balancer" || name.starts_with(&target.name) {
            self.p.push(
                "dependency.name",
                format!(
                    "{name:?} cannot name the dependency: it must be a container name \
                     ([a-zA-Z0-9][a-zA-Z0-9_.-]*), not `balancer`, not starting with the \
                     target's name"
                ),
                Some("use e.g. `name: db`".into()),
            );
            return None;
        }
        if target.image != TargetImage::Leaky {
            self.p.push(
                "dependency",
                "a dependency needs the built-in target (`image: leaky`), which checks it \
                 through LEAKY_DEPENDENCY_URL",
                None,
            );
            return None;
        }
        let url = format!("http://{name}:{}/health", DependencyPlan::PORT);
        target.env.insert(leaky::DEPENDENCY_URL_VAR.to_owned(), url);
        Some(DependencyPlan { name })
    }

    /// A `dependency-outage` fault needs a dependency, and hits it rather than a replica.
    fn dependency_faults(&mut self, faults: &[FaultSpec], has_dependency: bool) {
        for (i, fault) in faults.iter().enumerate() {
            if fault.kind.as_deref() != Some("dependency-outage") {
                continue;
            }
            if !has_dependency {
                self.p.push(
                    &format!("faults[{i}].kind"),
                    "a dependency-outage fault stops the scenario's dependency, and it has none",
                    Some("add `dependency: { name: db }`".into()),
                );
            }
            if fault.replica.is_some() {
                self.p.push(
                    &format!("faults[{i}].replica"),
                    "a dependency-outage fault stops the dependency, not a replica",
                    Some("remove `replica`".into()),
                );
            }
        }
    }

    fn runbooks(&mut self, spec: HealerSpec) -> Vec<PathBuf> {
        self.p
            .unknown_fields("healer", &spec.unknown, HealerSpec::FIELDS);
        let scenario_dir = self.source.parent().unwrap_or(Path::new(""));
        let mut found = Vec::new();
        for (i, entry) in spec.runbooks.iter().enumerate() {
            let field = format!("healer.runbooks[{i}]");
            if entry.trim().is_empty() {
                self.p.push(
                    &field,
                    "is empty",
                    Some("write a runbook name such as `restart-on-oom`".into()),
                );
            } else if is_runbook_path(entry) {
                let path = scenario_dir.join(entry);
                if path.is_file() {
                    found.push(path);
                } else {
                    self.p.push(
                        &field,
                        format!("runbook file {} not found", path.display()),
                        Some("paths are relative to the scenario file".into()),
                    );
                }
            } else {
                let candidates: Vec<PathBuf> = self
                    .ctx
                    .runbook_dirs
                    .iter()
                    .map(|dir| dir.join(format!("{entry}.yaml")))
                    .collect();
                match candidates.iter().find(|path| path.is_file()) {
                    Some(path) => found.push(path.clone()),
                    None if candidates.is_empty() => self.p.push(
                        &field,
                        format!(
                            "runbook `{entry}` not found: no runbook directories are configured"
                        ),
                        Some(
                            "write a path relative to the scenario file, such as `runbooks/x.yaml`"
                                .into(),
                        ),
                    ),
                    None => {
                        let looked: Vec<String> =
                            candidates.iter().map(|p| p.display().to_string()).collect();
                        self.p.push(
                            &field,
                            format!(
                                "runbook `{entry}` not found; looked for {}",
                                looked.join(", ")
                            ),
                            Some(
                                "create it there, or write a path relative to the scenario file"
                                    .into(),
                            ),
                        );
                    }
                }
            }
        }
        found
    }

    fn expect(&mut self, spec: ExpectSpec) -> reports::Expectations {
        self.p
            .unknown_fields("expect", &spec.unknown, ExpectSpec::FIELDS);
        let recovered_within = spec.recovered_within.and_then(|d| {
            let d = self.p.duration("expect.recovered_within", d.as_str());
            self.nonzero("expect.recovered_within", d)
        });
        let max_error_rate = spec
            .max_error_rate
            .and_then(|r| self.p.percent("expect.max_error_rate", r.as_str()));
        let min_success_rate = spec
            .min_success_rate
            .and_then(|r| self.p.percent("expect.min_success_rate", r.as_str()));
        let max_oom_kills = spec
            .max_oom_kills
            .and_then(|n| self.int("expect.max_oom_kills", Some(n), 0, 0..=1_000_000));
        let escalations = spec
            .escalations
            .and_then(|n| self.int("expect.escalations", Some(n), 0, 0..=1_000));
        let max_p99_latency = spec.max_p99_latency.and_then(|d| {
            let d = self.p.duration("expect.max_p99_latency", d.as_str());
            self.nonzero("expect.max_p99_latency", d)
        });
        reports::Expectations {
            recovered_within,
            max_error_rate,
            min_success_rate,
            max_oom_kills,
            escalations,
            healed: spec.healed,
            max_p99_latency,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// A scratch directory holding a runbook dir with `restart-on-oom.yaml`.
    struct Scratch {
        dir: tempfile::TempDir,
    }

    impl Scratch {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            fs::create_dir(dir.path().join("runbooks")).unwrap();
            fs::write(dir.path().join("runbooks/restart-on-oom.yaml"), "name: x\n").unwrap();
            Scratch { dir }
        }

        fn ctx(&self) -> Context {
            Context {
                runbook_dirs: vec![self.dir.path().join("runbooks")],
            }
        }

        fn compile(&self, text: &str) -> Result<Plan, Problems> {
            self.compile_as("demo.yaml", text)
        }

        fn compile_as(&self, file: &str, text: &str) -> Result<Plan, Problems> {
            let source = self.dir.path().join(file);
            let (spec, map) = specfile::parse::<ScenarioSpec>(&source, text)?;
            compile(spec, map, &source, &self.ctx())
        }

        /// The problems compiling `text`, as (line, field, message) — the message in full so
        /// a test can check its words.
        fn problems(&self, text: &str) -> Vec<(usize, String, String)> {
            let problems = self.compile(text).expect_err("should not compile").0;
            problems
                .into_iter()
                .map(|p| (p.line, p.field, p.message))
                .collect()
        }
    }

    const MINIMAL: &str = "target: { image: leaky }\nload: { duration: 10s }\n";

    /// Asserts that `text` has exactly one problem, at `field` on `line`, whose message
    /// contains `words`.
    fn check(text: &str, line: usize, field: &str, words: &str) {
        let problems = Scratch::new().problems(text);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        let (got_line, got_field, message) = &problems[0];
        assert_eq!((*got_line, got_field.as_str()), (line, field), "{message}");
        assert!(message.contains(words), "{message:?} lacks {words:?}");
    }

    #[test]
    fn a_minimal_scenario_gets_every_default() {
        let plan = Scratch::new().compile(MINIMAL).unwrap();
        assert_eq!(plan.name, "demo");
        assert_eq!(plan.description, "");
        assert_eq!(plan.trials, 1);
        assert_eq!(plan.settle, Duration::from_secs(3));
        assert_eq!(
            plan.target,
            TargetPlan {
                name: "leaky".into(),
                image: TargetImage::Leaky,
                replicas: 1,
                port: 8080,
                memory_bytes: None,
                nano_cpus: None,
                env: Default::default(),
                health: HealthPlan {
                    path: "/health".into(),
                    interval: Duration::from_millis(50),
                    timeout: Duration::from_millis(500),
                    healthy_after: 3,
                },
                startup_timeout: Duration::from_secs(20),
                balancer: Balancer::None,
            }
        );
        assert_eq!(
            plan.load,
            LoadPlan {
                users: 4,
                duration: Duration::from_secs(10),
                path: "/".into(),
                timeout: Duration::from_secs(2),
                max_rps: None,
            }
        );
        assert!(plan.faults.is_empty());
        assert!(plan.runbooks.is_empty());
        assert_eq!(plan.expect, reports::Expectations::default());
    }

    #[test]
    fn every_field_given_reaches_the_plan() {
        let scratch = Scratch::new();
        let text = "\
name: demo
description: all of it
trials: 5
settle: 1s
target:
  image: registry:5000/team/app:1.2
  replicas: 3
  port: 9000
  memory: 64MiB
  cpus: 1.5
  env: { A: 2000, B: x }
  startup_timeout: 5s
  health: { path: /up, interval: 200ms, timeout: 1s, healthy_after: 2 }
load: { users: 8, duration: 12s, path: /work, timeout: 1s, max_rps: 200 }
faults:
  - { kind: memory-leak, at: 1s, rate: 32MiB/s }
  - { kind: memory-leak, at: 1s, amount: 10MB, duration: 2s, replica: 2 }
  - { kind: memory-leak, at: 1s, per_request: 1KiB }
  - { kind: cpu-burn, at: 2s, threads: 2, duration: 5s }
  - { kind: latency, at: 0s, fixed: 200ms, jitter: 50ms }
  - { kind: latency, at: 0s, fixed: 1s }
  - { kind: hang, at: 3s, duration: 1s }
  - { kind: crash, at: 4s, exit_code: 3 }
  - { kind: crash, at: 4s }
  - { kind: kill, at: 5s, replica: 0 }
  - { kind: cpu-burn, at: 2s }
healer:
  runbooks: [restart-on-oom, runbooks/restart-on-oom.yaml]
expect: { recovered_within: 10s, max_error_rate: 5%, min_success_rate: 100% }
";
        let plan = scratch.compile(text).unwrap();
        assert_eq!(plan.description, "all of it");
        assert_eq!((plan.trials, plan.settle), (5, Duration::from_secs(1)));
        let t = &plan.target;
        assert_eq!(t.name, "app");
        assert_eq!(
            t.image,
            TargetImage::Local("registry:5000/team/app:1.2".into())
        );
        assert_eq!((t.replicas, t.port), (3, 9000));
        assert_eq!(t.balancer, Balancer::Haproxy);
        assert_eq!(t.memory_bytes, Some(64 << 20));
        assert_eq!(t.nano_cpus, Some(1_500_000_000));
        assert_eq!(t.env["A"], "2000");
        assert_eq!(t.env["B"], "x");
        assert_eq!(t.startup_timeout, Duration::from_secs(5));
        assert_eq!(
            t.health,
            HealthPlan {
                path: "/up".into(),
                interval: Duration::from_millis(200),
                timeout: Duration::from_secs(1),
                healthy_after: 2,
            }
        );
        assert_eq!(
            plan.load,
            LoadPlan {
                users: 8,
                duration: Duration::from_secs(12),
                path: "/work".into(),
                timeout: Duration::from_secs(1),
                max_rps: Some(200),
            }
        );
        let kinds: Vec<FaultKind> = plan.faults.iter().map(|f| f.kind.clone()).collect();
        let ms = Duration::from_millis;
        assert_eq!(
            kinds,
            [
                FaultKind::MemoryLeak(Leak::Rate {
                    bytes_per_sec: 32 << 20
                }),
                FaultKind::MemoryLeak(Leak::Amount { bytes: 10_000_000 }),
                FaultKind::MemoryLeak(Leak::PerRequest { bytes: 1024 }),
                FaultKind::CpuBurn { threads: 2 },
                FaultKind::Latency {
                    fixed: ms(200),
                    jitter: ms(50)
                },
                FaultKind::Latency {
                    fixed: ms(1000),
                    jitter: Duration::ZERO
                },
                FaultKind::Hang,
                FaultKind::Crash { exit_code: 3 },
                FaultKind::Crash { exit_code: 1 },
                FaultKind::Kill,
                FaultKind::CpuBurn { threads: 1 },
            ]
        );
        let f = &plan.faults[1];
        assert_eq!(
            (f.at, f.duration, f.replica),
            (ms(1000), Some(ms(2000)), Some(2))
        );
        assert_eq!(
            (plan.faults[0].duration, plan.faults[0].replica),
            (None, None)
        );
        let runbook = scratch.dir.path().join("runbooks/restart-on-oom.yaml");
        assert_eq!(plan.runbooks, [runbook.clone(), runbook]);
        assert_eq!(
            plan.expect,
            reports::Expectations {
                recovered_within: Some(Duration::from_secs(10)),
                max_error_rate: Some(0.05),
                min_success_rate: Some(1.0),
                ..Default::default()
            }
        );
    }

    #[test]
    fn fault_kind_names_round_trip() {
        let kinds = [
            FaultKind::MemoryLeak(Leak::Amount { bytes: 1 }),
            FaultKind::CpuBurn { threads: 1 },
            FaultKind::Latency {
                fixed: Duration::ZERO,
                jitter: Duration::ZERO,
            },
            FaultKind::Hang,
            FaultKind::Crash { exit_code: 1 },
            FaultKind::Kill,
            FaultKind::Pause,
            FaultKind::ResourceSqueeze {
                memory_bytes: None,
                nano_cpus: Some(1),
            },
            FaultKind::CrashLoop,
            FaultKind::BadDeploy,
            FaultKind::NetworkLatency {
                fixed: Duration::ZERO,
                jitter: Duration::ZERO,
            },
            FaultKind::NetworkErrors { rate: 1.0 },
            FaultKind::DependencyOutage,
        ];
        let names: Vec<&str> = kinds.iter().map(FaultKind::name).collect();
        assert_eq!(names, FaultKind::NAMES);
    }

    const SQUEEZABLE: &str = "target: { image: leaky, memory: 64MiB, cpus: 1 }\n\
                              load: { duration: 10s }\n";

    #[test]
    fn pause_and_squeeze_compile_with_their_windows() {
        let text = format!(
            "{SQUEEZABLE}faults:\n\
             \x20 - {{ kind: pause, at: 2s, duration: 3s, replica: 0 }}\n\
             \x20 - {{ kind: resource-squeeze, at: 1s, duration: 4s, memory: 32MiB, cpus: 0.25 }}\n\
             \x20 - {{ kind: resource-squeeze, at: 1s, memory: 16MiB }}\n"
        );
        let plan = Scratch::new().compile(&text).unwrap();
        let faults: Vec<(FaultKind, Option<Duration>)> = plan
            .faults
            .iter()
            .map(|f| (f.kind.clone(), f.duration))
            .collect();
        assert_eq!(
            faults,
            [
                (FaultKind::Pause, Some(Duration::from_secs(3))),
                (
                    FaultKind::ResourceSqueeze {
                        memory_bytes: Some(32 << 20),
                        nano_cpus: Some(250_000_000),
                    },
                    Some(Duration::from_secs(4))
                ),
                (
                    FaultKind::ResourceSqueeze {
                        memory_bytes: Some(16 << 20),
                        nano_cpus: None,
                    },
                    None
                ),
            ]
        );
    }

    #[test]
    fn a_squeeze_needs_something_to_squeeze() {
        let text = format!("{SQUEEZABLE}faults:\n  - {{ kind: resource-squeeze, at: 1s }}\n");
        check(&text, 4, "faults[0]", "needs memory, cpus or both");
    }

    #[test]
    fn a_squeeze_must_lower_an_existing_limit() {
        let cases = [
            (
                SQUEEZABLE,
                "memory: 64MiB",
                "faults[0].memory",
                "not below the target's memory limit",
            ),
            (
                SQUEEZABLE,
                "memory: 1MiB",
                "faults[0].memory",
                "below the 6MiB",
            ),
            (
                SQUEEZABLE,
                "cpus: 2",
                "faults[0].cpus",
                "not below the target's CPU limit (1 CPUs)",
            ),
            (
                SQUEEZABLE,
                "cpus: 0",
                "faults[0].cpus",
                "between 0.01 and 1024",
            ),
            (
                MINIMAL,
                "memory: 32MiB",
                "faults[0].memory",
                "no memory limit to squeeze",
            ),
            (
                MINIMAL,
                "cpus: 0.5",
                "faults[0].cpus",
                "no CPU limit to squeeze",
            ),
        ];
        for (head, field, at, words) in cases {
            let text =
                format!("{head}faults:\n  - {{ kind: resource-squeeze, at: 1s, {field} }}\n");
            let problems = Scratch::new().problems(&text);
            assert_eq!(problems.len(), 1, "{field}: {problems:#?}");
            let (_, got_field, message) = &problems[0];
            assert_eq!(got_field, at, "{message}");
            assert!(message.contains(words), "{message:?} lacks {words:?}");
        }
    }

    #[test]
    fn a_crash_loop_points_the_target_at_its_marker() {
        let text = format!("{MINIMAL}faults:\n  - {{ kind: crash-loop, at: 1s, duration: 5s }}\n");
        let plan = Scratch::new().compile(&text).unwrap();
        assert_eq!(plan.faults[0].kind, FaultKind::CrashLoop);
        assert_eq!(
            plan.target
                .env
                .get(leaky::CRASH_ON_START_VAR)
                .map(String::as_str),
            Some(crate::faults::CRASH_LOOP_MARKER)
        );
        let without = Scratch::new().compile(MINIMAL).unwrap();
        assert!(without.target.env.is_empty());
    }

    #[test]
    fn a_crash_loop_needs_the_built_in_target() {
        let text = "target: { image: app:1 }\nload: { duration: 10s }\n\
                    faults:\n  - { kind: crash-loop, at: 1s }\n";
        check(text, 4, "faults[0].kind", "needs the built-in target");
    }

    #[test]
    fn a_bad_deploy_needs_the_built_in_target_and_lasts_until_rolled_back() {
        let text = format!("{MINIMAL}faults:\n  - {{ kind: bad-deploy, at: 1s, replica: 0 }}\n");
        let plan = Scratch::new().compile(&text).unwrap();
        assert_eq!(plan.faults[0].kind, FaultKind::BadDeploy);
        assert_eq!(plan.faults[0].duration, None);
        let other = "target: { image: app:1 }\nload: { duration: 10s }\n\
                     faults:\n  - { kind: bad-deploy, at: 1s }\n";
        check(other, 4, "faults[0].kind", "needs the built-in target");
        let timed = format!("{MINIMAL}faults:\n  - {{ kind: bad-deploy, at: 1s, duration: 2s }}\n");
        check(&timed, 4, "faults[0].duration", "takes no duration");
    }

    #[test]
    fn a_dependency_points_the_target_at_it_and_its_outage_needs_it() {
        let text = format!(
            "{MINIMAL}dependency: {{ name: db }}\n\
             faults:\n  - {{ kind: dependency-outage, at: 1s, duration: 5s }}\n"
        );
        let plan = Scratch::new().compile(&text).unwrap();
        assert_eq!(plan.faults[0].kind, FaultKind::DependencyOutage);
        assert_eq!(plan.dependency.as_ref().unwrap().name, "db");
        assert_eq!(
            plan.target
                .env
                .get(leaky::DEPENDENCY_URL_VAR)
                .map(String::as_str),
            Some("http://db:8080/health")
        );
        let without = format!("{MINIMAL}faults:\n  - {{ kind: dependency-outage, at: 1s }}\n");
        check(&without, 4, "faults[0].kind", "it has none");
        let replica = format!(
            "{MINIMAL}dependency: {{}}\nfaults:\n  - {{ kind: dependency-outage, at: 1s, replica: 0 }}\n"
        );
        check(&replica, 5, "faults[0].replica", "not a replica");
        check(
            &format!("{MINIMAL}dependency: {{ name: leaky-db }}\n"),
            3,
            "dependency.name",
            "cannot name the dependency",
        );
    }

    const BALANCED: &str = "target: { image: leaky, replicas: 3 }\nload: { duration: 10s }\n";

    #[test]
    fn network_faults_compile_behind_a_balancer() {
        let text = format!(
            "{BALANCED}faults:\n\
             \x20 - {{ kind: network-latency, at: 3s, duration: 6s, fixed: 400ms, jitter: 100ms, replica: 1 }}\n\
             \x20 - {{ kind: network-latency, at: 1s, fixed: 50ms }}\n\
             \x20 - {{ kind: network-errors, at: 1s, duration: 2s, rate: 50% }}\n"
        );
        let plan = Scratch::new().compile(&text).unwrap();
        let ms = Duration::from_millis;
        let kinds: Vec<&FaultKind> = plan.faults.iter().map(|f| &f.kind).collect();
        assert_eq!(
            kinds,
            [
                &FaultKind::NetworkLatency {
                    fixed: ms(400),
                    jitter: ms(100)
                },
                &FaultKind::NetworkLatency {
                    fixed: ms(50),
                    jitter: Duration::ZERO
                },
                &FaultKind::NetworkErrors { rate: 0.5 },
            ]
        );
        assert_eq!(
            (plan.faults[0].duration, plan.faults[0].replica),
            (Some(ms(6000)), Some(1))
        );
        assert!(plan.faults.iter().all(|f| f.kind.is_network()));
    }

    #[test]
    fn network_fault_problems_are_located() {
        let cases = [
            (
                MINIMAL,
                "{ kind: network-latency, at: 1s, fixed: 100ms }",
                "faults[0].kind",
                "needs a load balancer",
            ),
            (
                MINIMAL,
                "{ kind: network-errors, at: 1s, rate: 10% }",
                "faults[0].kind",
                "needs a load balancer",
            ),
            (
                BALANCED,
                "{ kind: network-latency, at: 1s }",
                "faults[0].fixed",
                "is required",
            ),
            (
                BALANCED,
                "{ kind: network-latency, at: 1s, fixed: soon }",
                "faults[0].fixed",
                "soon",
            ),
            (
                BALANCED,
                "{ kind: network-errors, at: 1s }",
                "faults[0].rate",
                "is required",
            ),
            (
                BALANCED,
                "{ kind: network-errors, at: 1s, rate: 0% }",
                "faults[0].rate",
                "more than 0%",
            ),
            (
                BALANCED,
                "{ kind: network-errors, at: 1s, rate: 150% }",
                "faults[0].rate",
                "above 100%",
            ),
            (
                BALANCED,
                "{ kind: network-errors, at: 1s, rate: 0.5 }",
                "faults[0].rate",
                "must end in %",
            ),
            (
                BALANCED,
                "{ kind: network-errors, at: 1s, rate: 5%, fixed: 1s }",
                "faults[0].fixed",
                "does not apply to a network-errors fault, which takes rate",
            ),
            (
                BALANCED,
                "{ kind: network-latency, at: 1s, fixed: 1s, rate: 5% }",
                "faults[0].rate",
                "does not apply to a network-latency fault, which takes fixed, jitter",
            ),
        ];
        for (head, fault, field, words) in cases {
            let text = format!("{head}faults:\n  - {fault}\n");
            let problems = Scratch::new().problems(&text);
            assert_eq!(problems.len(), 1, "{fault}: {problems:#?}");
            let (line, got_field, message) = &problems[0];
            assert_eq!(
                (*line, got_field.as_str()),
                (4, field),
                "{fault}: {message}"
            );
            assert!(message.contains(words), "{message:?} lacks {words:?}");
        }
    }

    #[test]
    fn squeeze_fields_do_not_apply_to_a_pause() {
        let text = format!("{SQUEEZABLE}faults:\n  - {{ kind: pause, at: 1s, memory: 8MiB }}\n");
        check(
            &text,
            4,
            "faults[0].memory",
            "does not apply to a pause fault",
        );
    }

    #[test]
    fn target_names_come_from_images() {
        assert_eq!(name_from_image("app"), "app");
        assert_eq!(name_from_image("team/app:1.2"), "app");
        assert_eq!(name_from_image("localhost:5000/app@sha256:ab"), "app");
        assert_eq!(name_from_image("_odd"), "target-_odd");
        assert!(is_container_name("my-app.v2_x"));
        assert!(!is_container_name("-app"));
        assert!(!is_container_name(""));
    }

    #[test]
    fn the_name_must_match_the_file() {
        let text = format!("name: other\n{MINIMAL}");
        let problems = Scratch::new().compile(&text).unwrap_err().0;
        assert_eq!(problems.len(), 1);
        assert_eq!((problems[0].line, problems[0].field.as_str()), (1, "name"));
        assert!(problems[0]
            .message
            .contains("`other` does not match the file name `demo.yaml`"));
        assert_eq!(
            problems[0].fix.as_deref(),
            Some("rename the file or the name")
        );
    }

    #[test]
    fn trials_are_one_to_a_thousand() {
        check(
            &format!("trials: 0\n{MINIMAL}"),
            1,
            "trials",
            "between 1 and 1000, got 0",
        );
        check(&format!("trials: 1001\n{MINIMAL}"), 1, "trials", "got 1001");
        assert!(Scratch::new()
            .compile(&format!("trials: 1000\n{MINIMAL}"))
            .is_ok());
    }

    #[test]
    fn target_and_load_are_required() {
        let problems = Scratch::new().problems("name: demo\n");
        let fields: Vec<&str> = problems.iter().map(|(_, f, _)| f.as_str()).collect();
        assert_eq!(fields, ["target.image", "load.duration"]);
        assert!(problems.iter().all(|(_, _, m)| m == "is required"));
    }

    #[test]
    fn unknown_fields_are_reported_in_every_section() {
        let text = "\
colour: red
target: { image: leaky, imgae: x }
load: { duration: 10s, userz: 3 }
faults: [{ kind: hang, at: 1s, wobble: 1 }]
healer: { runbook: [] }
expect: { mttr: 1s }
";
        let problems = Scratch::new().problems(text);
        let fields: Vec<&str> = problems.iter().map(|(_, f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "colour",
                "target.imgae",
                "load.userz",
                "faults[0].wobble",
                "healer.runbook",
                "expect.mttr"
            ]
        );
        assert!(problems[0]
            .2
            .contains("expected one of: name, description, trials"));
        assert!(problems[3]
            .2
            .ends_with("expected one of: kind, at, duration, replica"));
    }

    #[test]
    fn bad_values_are_all_reported() {
        let text = "\
settle: soon
target:
  image: leaky
  memory: 64M
  startup_timeout: 0s
  health: { interval: 2s, timeout: x, healthy_after: 0 }
load: { duration: 10s, timeout: 0, users: 0, max_rps: 0, path: nowhere }
expect: { recovered_within: 1 minute, max_error_rate: 5, min_success_rate: 120% }
";
        let problems = Scratch::new().problems(text);
        let got: Vec<(usize, &str)> = problems.iter().map(|(l, f, _)| (*l, f.as_str())).collect();
        assert_eq!(
            got,
            [
                (1, "settle"),
                (4, "target.memory"),
                (5, "target.startup_timeout"),
                (6, "target.health.interval"),
                (6, "target.health.timeout"),
                (6, "target.health.healthy_after"),
                (7, "load.timeout"),
                (7, "load.users"),
                (7, "load.max_rps"),
                (7, "load.path"),
                (8, "expect.recovered_within"),
                (8, "expect.max_error_rate"),
                (8, "expect.min_success_rate"),
            ]
        );
        assert!(problems[3]
            .2
            .contains("the prober must sample often enough for MTTR"));
    }

    #[test]
    fn health_interval_may_be_up_to_a_second() {
        let text = "target: { image: leaky, health: { interval: 1s } }\nload: { duration: 10s }\n";
        assert!(Scratch::new().compile(text).is_ok());
        let text =
            "target: { image: leaky, health: { interval: 1001ms } }\nload: { duration: 10s }\n";
        check(text, 1, "target.health.interval", "too long");
    }

    #[test]
    fn replicas_are_one_to_sixteen() {
        let text = "target: { image: leaky, replicas: 17 }\nload: { duration: 10s }\n";
        check(text, 1, "target.replicas", "between 1 and 16, got 17");
    }

    #[test]
    fn memory_below_docker_minimum_is_refused() {
        let text = "target: { image: leaky, memory: 5MiB }\nload: { duration: 10s }\n";
        check(text, 1, "target.memory", "below the 6MiB");
    }

    #[test]
    fn cpus_must_be_a_sensible_share() {
        let text = "target: { image: leaky, cpus: 0 }\nload: { duration: 10s }\n";
        check(text, 1, "target.cpus", "between 0.01 and 1024 CPUs, got 0");
    }

    #[test]
    fn a_fault_must_start_before_the_load_ends() {
        let text = format!("{MINIMAL}faults:\n  - {{ kind: hang, at: 10s }}\n");
        check(
            &text,
            4,
            "faults[0].at",
            "starts at 10s, but the load lasts only 10s",
        );
    }

    #[test]
    fn a_fault_time_may_be_a_range_to_draw_from() {
        let text = format!("{MINIMAL}faults:\n  - {{ kind: hang, at: 2s..6s }}\n");
        let plan = Scratch::new().compile(&text).unwrap();
        assert_eq!(plan.faults[0].at, Duration::from_secs(2));
        assert_eq!(plan.faults[0].at_latest, Some(Duration::from_secs(6)));

        let empty = format!("{MINIMAL}faults:\n  - {{ kind: hang, at: 6s..2s }}\n");
        check(&empty, 4, "faults[0].at", "the range 6s..2s is empty");
        let past = format!("{MINIMAL}faults:\n  - {{ kind: hang, at: 2s..12s }}\n");
        check(
            &past,
            4,
            "faults[0].at",
            "starts at 12s, but the load lasts only 10s",
        );
        let bad = format!("{MINIMAL}faults:\n  - {{ kind: hang, at: 2s..x }}\n");
        check(&bad, 4, "faults[0].at", "invalid duration \"x\"");
    }

    #[test]
    fn a_memory_leak_needs_exactly_one_size() {
        let none = format!("{MINIMAL}faults:\n  - kind: memory-leak\n    at: 1s\n");
        check(
            &none,
            4,
            "faults[0]",
            "needs one of: rate, amount, per_request",
        );
        let two = format!("{MINIMAL}faults:\n  - kind: memory-leak\n    at: 1s\n    rate: 1MiB/s\n    amount: 1MiB\n");
        check(
            &two,
            7,
            "faults[0].amount",
            "this fault has rate and amount",
        );
        let zero = format!("{MINIMAL}faults:\n  - {{ kind: memory-leak, at: 1s, amount: 0 }}\n");
        check(&zero, 4, "faults[0].amount", "more than 0");
    }

    #[test]
    fn unknown_fault_kinds_list_the_kinds() {
        let text = format!("{MINIMAL}faults:\n  - {{ kind: memory-leek, at: 1s }}\n");
        let problems = Scratch::new().compile(&text).unwrap_err().0;
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "faults[0].kind");
        assert!(problems[0].message.ends_with(&FaultKind::NAMES.join(", ")));
        assert!(problems[0]
            .message
            .contains("memory-leak, cpu-burn, latency, hang, crash, kill"));
        assert_eq!(
            problems[0].fix.as_deref(),
            Some("did you mean `memory-leak`?")
        );
    }

    #[test]
    fn fields_of_other_kinds_are_refused() {
        let text = format!("{MINIMAL}faults:\n  - {{ kind: kill, at: 1s, threads: 2 }}\n");
        check(
            &text,
            4,
            "faults[0].threads",
            "does not apply to a kill fault",
        );
        let text = format!("{MINIMAL}faults:\n  - {{ kind: crash, at: 1s, duration: 2s }}\n");
        check(&text, 4, "faults[0].duration", "happens at once");
    }

    #[test]
    fn a_fault_needs_kind_at_and_kind_fields() {
        let text = format!("{MINIMAL}faults:\n  - {{ at: 1s }}\n  - {{ kind: latency }}\n");
        let problems = Scratch::new().problems(&text);
        let got: Vec<(usize, &str)> = problems.iter().map(|(l, f, _)| (*l, f.as_str())).collect();
        assert_eq!(
            got,
            [
                (4, "faults[0].kind"),
                (5, "faults[1].at"),
                (5, "faults[1].fixed")
            ]
        );
    }

    #[test]
    fn kind_specific_numbers_are_range_checked() {
        let text = format!("{MINIMAL}faults:\n  - {{ kind: cpu-burn, at: 1s, threads: 0 }}\n");
        check(&text, 4, "faults[0].threads", "between 1 and 64");
        let text = format!("{MINIMAL}faults:\n  - {{ kind: crash, at: 1s, exit_code: 256 }}\n");
        check(&text, 4, "faults[0].exit_code", "between 0 and 255");
    }

    #[test]
    fn a_replica_index_must_exist() {
        let text = "target: { image: leaky, replicas: 2 }\nload: { duration: 10s }\n\
                    faults:\n  - { kind: kill, at: 1s, replica: 2 }\n";
        check(
            text,
            4,
            "faults[0].replica",
            "replica 2 does not exist: the target has 2",
        );
        let text = format!("{MINIMAL}faults:\n  - {{ kind: kill, at: 1s, replica: -1 }}\n");
        check(&text, 4, "faults[0].replica", "got -1");
    }

    #[test]
    fn an_empty_fault_list_is_allowed() {
        let plan = Scratch::new()
            .compile(&format!("{MINIMAL}faults: []\n"))
            .unwrap();
        assert!(plan.faults.is_empty());
    }

    #[test]
    fn missing_runbooks_say_where_they_were_looked_for() {
        let scratch = Scratch::new();
        let text =
            format!("{MINIMAL}healer:\n  runbooks: [restart-on-oom, nope, missing/x.yaml]\n");
        let problems = scratch.problems(&text);
        assert_eq!(problems.len(), 2, "{problems:#?}");
        let (line, field, message) = &problems[0];
        assert_eq!((*line, field.as_str()), (4, "healer.runbooks[1]"));
        let looked = scratch.dir.path().join("runbooks/nope.yaml");
        assert!(
            message.contains(&format!("looked for {}", looked.display())),
            "{message}"
        );
        assert_eq!(problems[1].1, "healer.runbooks[2]");
        assert!(problems[1].2.contains("missing/x.yaml not found"));
    }

    #[test]
    fn without_runbook_dirs_a_name_cannot_be_found() {
        let scratch = Scratch::new();
        let source = scratch.dir.path().join("demo.yaml");
        let text = format!("{MINIMAL}healer: {{ runbooks: [restart-on-oom] }}\n");
        let (spec, map) = specfile::parse::<ScenarioSpec>(&source, &text).unwrap();
        let problems = compile(spec, map, &source, &Context::default())
            .unwrap_err()
            .0;
        assert!(problems[0]
            .message
            .contains("no runbook directories are configured"));
    }
}
