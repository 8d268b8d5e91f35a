//! The `monitoring` section: whether Prometheus is required, and its rule files.

use std::path::Path;

use super::Compiler;
use crate::scenario::plan::MonitoringPlan;
use crate::scenario::spec::MonitoringSpec;

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
}
