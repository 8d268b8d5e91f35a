//! The `dependency` section: a container the target depends on, and the faults that stop it.

use super::target::is_container_name;
use super::Compiler;
use crate::faults::kinds;
use crate::scenario::plan::{DependencyPlan, TargetImage, TargetPlan};
use crate::scenario::spec::{DependencySpec, FaultSpec};

impl Compiler<'_> {
    /// The dependency container; points the target at it (`LEAKY_DEPENDENCY_URL`).
    pub(super) fn dependency(
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

    /// A fault that hits the dependency (`dependency-outage`) needs one, and hits it rather
    /// than a replica.
    pub(super) fn dependency_faults(&mut self, faults: &[FaultSpec], has_dependency: bool) {
        for (i, fault) in faults.iter().enumerate() {
            let Some(kind) = fault.kind.as_deref().and_then(kinds::find) else {
                continue;
            };
            if !kind.hits_dependency {
                continue;
            }
            if !has_dependency {
                self.p.push(
                    &format!("faults[{i}].kind"),
                    format!(
                        "a {} fault stops the scenario's dependency, and it has none",
                        kind.name
                    ),
                    Some("add `dependency: { name: db }`".into()),
                );
            }
            if fault.replica.is_some() {
                self.p.push(
                    &format!("faults[{i}].replica"),
                    format!("a {} fault stops the dependency, not a replica", kind.name),
                    Some("remove `replica`".into()),
                );
            }
        }
    }
}
