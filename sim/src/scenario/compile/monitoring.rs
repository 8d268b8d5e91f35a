//! The `monitoring` section: whether Prometheus is required, and its rule files; and the
//! faults that stop part of it.

use std::path::Path;

use super::Compiler;
use crate::faults::kinds::{Fault, MonitoringOutage};
use crate::scenario::plan::MonitoringPlan;
use crate::scenario::spec::{FaultSpec, MonitoringSpec};

impl Compiler<'_> {
    /// The monitoring section: whether Prometheus is required, and rule files that exist.
    pub(super) fn monitoring(&mut self, spec: MonitoringSpec) -> Option<MonitoringPlan> {
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

    /// A `monitoring-outage` stops part of the monitoring stack: the scenario must have one,
    /// and one that cannot be left out (`prometheus: required`), or the fault would stop
    /// nothing.
    pub(super) fn monitoring_faults(
        &mut self,
        faults: &[FaultSpec],
        monitoring: Option<&MonitoringPlan>,
    ) {
        let name = MonitoringOutage::NAME;
        for (i, _) in faults
            .iter()
            .enumerate()
            .filter(|(_, fault)| fault.kind.as_deref() == Some(name))
        {
            let field = format!("faults[{i}].kind");
            match monitoring {
                None => self.p.push(
                    &field,
                    format!(
                        "a {name} fault stops the run's Prometheus or Alertmanager, and the \
                         scenario has no `monitoring`"
                    ),
                    Some(
                        "add `monitoring: { prometheus: required, rules: [rules/leaky.rules.yml] }`"
                            .into(),
                    ),
                ),
                Some(plan) if !plan.required => self.p.push(
                    &field,
                    format!(
                        "a {name} fault needs `monitoring.prometheus: required`: with \
                         `if-available` the run may go on without the stack, and the fault \
                         would stop nothing"
                    ),
                    Some("set `monitoring.prometheus: required`".into()),
                ),
                Some(_) => {}
            }
        }
    }
}
