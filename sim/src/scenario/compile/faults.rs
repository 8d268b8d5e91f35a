//! The `faults` section: each fault's kind, start, duration and replica; the fields of its kind
//! are compiled by the kind itself (see [`crate::faults::kinds`]) through a [`KindCompiler`].

use std::ops::RangeInclusive;
use std::time::Duration;

use specfile::{did_you_mean, ProblemList};

use super::Compiler;
use crate::faults::kinds::{self, Entry};
use crate::scenario::plan::{Balancer, FaultPlan, TargetPlan};
use crate::scenario::spec::FaultSpec;

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
            Some(kind) => match kinds::find(kind) {
                Some(entry) => Some(entry),
                None => {
                    let names = kinds::names();
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
    fn fault_fields(&mut self, base: &str, kind: Option<&Entry>, spec: &FaultSpec) {
        let Some(kind) = kind else {
            // Without a kind, any field of any kind may belong.
            let all: Vec<&str> = FaultSpec::COMMON
                .iter()
                .chain(kinds::KINDS.iter().flat_map(|k| k.fields))
                .copied()
                .collect();
            self.p.unknown_fields(base, &spec.unknown, &all);
            return;
        };
        let (specific, lasts, name) = (kind.fields, kind.lasts, kind.name);
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
                format!("a {name} fault happens at once and takes no duration"),
                Some("remove `duration`".into()),
            );
        }
        for field in spec.specific_fields() {
            if !specific.contains(&field) {
                let takes = if specific.is_empty() {
                    "no fields of its own".to_owned()
                } else {
                    specific.join(", ")
                };
                self.p.push(
                    &format!("{base}.{field}"),
                    format!("`{field}` does not apply to a {name} fault, which takes {takes}"),
                    Some(format!("remove `{field}`")),
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

    /// The kind-specific part of a fault of kind `kind`, compiled by the kind.
    fn fault_kind(
        &mut self,
        base: &str,
        kind: &Entry,
        spec: &FaultSpec,
        target: &TargetPlan,
    ) -> Option<kinds::FaultKind> {
        if kind.in_network && target.balancer == Balancer::None {
            self.p.push(
                &format!("{base}.kind"),
                format!(
                    "a {} fault needs a load balancer: it lives in a proxy between the \
                     balancer and the replica",
                    kind.name
                ),
                Some("set `target.balancer: haproxy`".into()),
            );
            return None;
        }
        (kind.compile)(&mut KindCompiler {
            c: self,
            base,
            spec,
            target,
        })
    }
}

/// One fault's own fields, as its kind's `compile` reads them: the spec, the target it hits,
/// and the scenario's problem list, every problem located at `faults[i].<field>`.
pub(crate) struct KindCompiler<'a, 'c> {
    c: &'a mut Compiler<'c>,
    base: &'a str,
    pub spec: &'a FaultSpec,
    pub target: &'a TargetPlan,
}

impl KindCompiler<'_, '_> {
    /// The path of the fault's field `name` (`faults[1].rate`); `""` is the fault itself.
    pub fn field(&self, name: &str) -> String {
        if name.is_empty() {
            self.base.to_owned()
        } else {
            format!("{}.{name}", self.base)
        }
    }

    /// The problem list, to parse a value of field [`Self::field`] with.
    pub fn problems(&mut self) -> &mut ProblemList {
        &mut self.c.p
    }

    /// Records a problem with the fault's field `name` (`""`: the fault itself).
    pub fn push(&mut self, name: &str, message: impl Into<String>, fix: Option<String>) {
        let field = self.field(name);
        self.c.p.push(&field, message, fix);
    }

    /// Field `name`, an integer in `range`, or `default` when absent.
    pub fn int<T: TryFrom<i64>>(
        &mut self,
        name: &str,
        value: Option<i64>,
        default: T,
        range: RangeInclusive<i64>,
    ) -> Option<T> {
        let field = self.field(name);
        self.c.int(&field, value, default, range)
    }

    /// `fixed` (required) and `jitter` (default 0) of a latency.
    pub fn latency(&mut self) -> Option<(Duration, Duration)> {
        let (fixed_field, jitter_field) = (self.field("fixed"), self.field("jitter"));
        let fixed = match &self.spec.fixed {
            Some(fixed) => self.c.p.duration(&fixed_field, fixed.as_str()),
            None => {
                self.c.missing(&fixed_field, "fixed: 200ms");
                None
            }
        };
        let jitter = self
            .c
            .duration_or(&jitter_field, self.spec.jitter.as_ref(), Duration::ZERO);
        Some((fixed?, jitter?))
    }

    /// `rate` (required; `example` shows it), a share of something above 0%.
    pub fn share(&mut self, example: &str) -> Option<f64> {
        let field = self.field("rate");
        let Some(rate) = &self.spec.rate else {
            self.c.missing(&field, example);
            return None;
        };
        let share = self.c.p.percent(&field, rate.as_str())?;
        if share <= 0.0 {
            self.c.p.push(&field, "must be more than 0%", None);
            return None;
        }
        Some(share)
    }
}
