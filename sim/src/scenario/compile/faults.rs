//! The `faults` section: each fault's kind, start, duration and replica, and the fields of
//! its kind.

use std::time::Duration;

use specfile::{did_you_mean, Scalar};

use super::{Compiler, CPUS, MIN_MEMORY};
use crate::scenario::plan::{
    Balancer, FaultKind, FaultName, FaultPlan, Leak, TargetImage, TargetPlan,
};
use crate::scenario::spec::FaultSpec;

const DEFAULT_CPU_BURN_THREADS: u32 = 1;
const DEFAULT_CRASH_EXIT_CODE: i32 = 1;

/// The fields a fault kind takes besides the common ones, and whether it lasts (takes
/// `duration`) or happens at once.
fn kind_fields(kind: FaultName) -> (&'static [&'static str], bool) {
    match kind {
        FaultName::MemoryLeak => (&["rate", "amount", "per_request"], true),
        FaultName::CpuBurn => (&["threads"], true),
        FaultName::Latency | FaultName::NetworkLatency => (&["fixed", "jitter"], true),
        FaultName::Hang | FaultName::Pause | FaultName::CrashLoop => (&[], true),
        FaultName::Crash => (&["exit_code"], false),
        FaultName::Kill | FaultName::BadDeploy => (&[], false),
        FaultName::ResourceSqueeze => (&["memory", "cpus"], true),
        FaultName::NetworkErrors => (&["rate"], true),
        FaultName::DependencyOutage => (&[], true),
    }
}

impl Compiler<'_> {
    /// Fault `i`, or `None` if it has problems (all of them recorded).
    pub(super) fn fault(
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
            Some(kind) => match FaultName::parse(kind) {
                Some(name) => Some(name),
                None => {
                    let names = FaultName::names();
                    self.p.push(
                        &field("kind"),
                        format!(
                            "unknown fault kind `{kind}`, expected one of: {}",
                            names.join(", ")
                        ),
                        did_you_mean(kind, &names),
                    );
                    None
                }
            },
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
    fn fault_fields(&mut self, base: &str, kind: Option<FaultName>, spec: &FaultSpec) {
        let Some(kind) = kind else {
            // Without a kind, any field of any kind may belong.
            let all: Vec<&str> = FaultSpec::COMMON
                .iter()
                .chain(FaultName::ALL.iter().flat_map(|k| kind_fields(*k).0))
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

    /// The kind-specific part of a fault of kind `kind`.
    fn fault_kind(
        &mut self,
        base: &str,
        kind: FaultName,
        spec: &FaultSpec,
        target: &TargetPlan,
    ) -> Option<FaultKind> {
        let field = |name: &str| format!("{base}.{name}");
        match kind {
            FaultName::MemoryLeak => self.leak(base, spec).map(FaultKind::MemoryLeak),
            FaultName::CpuBurn => {
                let threads = self.int(
                    &field("threads"),
                    spec.threads,
                    DEFAULT_CPU_BURN_THREADS,
                    1..=64,
                )?;
                Some(FaultKind::CpuBurn { threads })
            }
            FaultName::Latency => {
                let (fixed, jitter) = self.latency(base, spec)?;
                Some(FaultKind::Latency { fixed, jitter })
            }
            FaultName::NetworkLatency | FaultName::NetworkErrors
                if target.balancer == Balancer::None =>
            {
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
            FaultName::NetworkLatency => {
                let (fixed, jitter) = self.latency(base, spec)?;
                Some(FaultKind::NetworkLatency { fixed, jitter })
            }
            FaultName::NetworkErrors => self.connection_errors(base, spec),
            FaultName::Hang => Some(FaultKind::Hang),
            FaultName::Crash => {
                let exit_code = self.int(
                    &field("exit_code"),
                    spec.exit_code,
                    DEFAULT_CRASH_EXIT_CODE,
                    0..=255,
                )?;
                Some(FaultKind::Crash { exit_code })
            }
            FaultName::Pause => Some(FaultKind::Pause),
            FaultName::ResourceSqueeze => self.squeeze(base, spec, target),
            FaultName::CrashLoop if target.image != TargetImage::Leaky => {
                self.p.push(
                    &field("kind"),
                    "a crash-loop fault needs the built-in target (`image: leaky`), which reads \
                     the marker file that makes its restarts fail",
                    None,
                );
                None
            }
            FaultName::CrashLoop => Some(FaultKind::CrashLoop),
            FaultName::BadDeploy if target.image != TargetImage::Leaky => {
                self.p.push(
                    &field("kind"),
                    "a bad-deploy fault needs the built-in target (`image: leaky`): sim builds \
                     its next version, which fails its health check, from it",
                    Some("use `target.image: leaky`".into()),
                );
                None
            }
            FaultName::BadDeploy => Some(FaultKind::BadDeploy),
            FaultName::DependencyOutage => Some(FaultKind::DependencyOutage),
            FaultName::Kill => Some(FaultKind::Kill),
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
}
