//! `resource-squeeze`: the replica's limits lowered live (`docker update`) until the fault
//! ends, then restored. At least one of `memory` and `cpus` is set; each is below the target's
//! own limit (Docker cannot put an unlimited container back to unlimited, so there must be one
//! to restore).

use std::time::Duration;

use super::Fault;
use crate::docker::TargetContainer;
use crate::faults::limits::{self, Limits};
use crate::faults::{FaultError, Injector};
use crate::scenario::{KindCompiler, CPUS, MIN_MEMORY};

/// The limits a squeeze sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceSqueeze {
    pub memory_bytes: Option<u64>,
    /// Billionths of a CPU, as Docker's `NanoCpus`.
    pub nano_cpus: Option<i64>,
}

impl Fault for ResourceSqueeze {
    const NAME: &'static str = "resource-squeeze";
    const FIELDS: &'static [&'static str] = &["memory", "cpus"];
    const LASTS: bool = true;

    fn compile(f: &mut KindCompiler<'_, '_>) -> Option<Self> {
        let (spec, target) = (f.spec, f.target);
        if spec.memory.is_none() && spec.cpus.is_none() {
            f.push(
                "",
                "a resource-squeeze fault needs memory, cpus or both",
                Some("add e.g. `memory: 32MiB`".into()),
            );
            return None;
        }
        let mut ok = true;
        let memory_bytes = spec.memory.as_ref().and_then(|memory| {
            let field = f.field("memory");
            let bytes = f.problems().size(&field, memory.as_str());
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
                f.push("memory", problem, Some("set target.memory above it".into()));
                ok = false;
                return None;
            }
            Some(bytes)
        });
        let nano_cpus = spec.cpus.and_then(|cpus| {
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
                f.push("cpus", problem, Some("set target.cpus above it".into()));
                ok = false;
                return None;
            }
            Some(nanos)
        });
        ok.then_some(ResourceSqueeze {
            memory_bytes,
            nano_cpus,
        })
    }

    async fn inject(
        &self,
        injector: &Injector,
        target: &TargetContainer,
        _window: Option<Duration>,
    ) -> Result<(), FaultError> {
        let current = Limits::inspect(&injector.docker, &target.container)
            .await
            .map_err(FaultError::docker(target))?;
        // Overlapping squeezes keep the limits from before the first one.
        injector
            .originals_mut()
            .entry(target.container.clone())
            .or_insert(current);
        let squeezed = current.squeezed(self.memory_bytes, self.nano_cpus);
        squeezed
            .apply(&injector.docker, &target.container)
            .await
            .map_err(FaultError::docker(target))
    }

    async fn clear(&self, injector: &Injector, target: &TargetContainer) -> Result<(), FaultError> {
        let original = injector.originals_mut().remove(&target.container);
        match original {
            Some(original) => original
                .apply(&injector.docker, &target.container)
                .await
                .map_err(FaultError::docker(target)),
            None => Ok(()),
        }
    }

    fn describe(&self, _window: Option<Duration>) -> String {
        limits::describe(self.memory_bytes, self.nano_cpus)
    }
}
