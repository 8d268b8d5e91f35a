//! `--strategy alertmanager`: an alerting pipeline as common setups have it. Prometheus scrapes
//! every `scrape`, a rule `up == 0` is held `for`, Alertmanager waits its `group_wait`, then its
//! webhook → restart: the embedded healer with only the built-in `restart-on-down-alert`
//! runbook, fed only by alerts.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{embedded, secs, Strategy, Trial};
use crate::monitoring::Timing;
use crate::runner::RunError;
use crate::scenario::{MonitoringPlan, Plan};

/// Prometheus → Alertmanager → webhook → restart, at these timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alertmanager {
    pub scrape: Duration,
    pub rule_for: Duration,
    pub group_wait: Duration,
}

impl Alertmanager {
    /// A common Prometheus → Alertmanager self-healing setup: 15s scrape, `up == 0` for 1m,
    /// group_wait 10s (about 1.5 min before the webhook).
    pub const DEFAULTS: Alertmanager = Alertmanager {
        scrape: Duration::from_secs(15),
        rule_for: Duration::from_secs(60),
        group_wait: Duration::from_secs(10),
    };
}

impl Strategy for Alertmanager {
    fn name(&self) -> &'static str {
        "alertmanager"
    }

    fn settings(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("scrape".to_owned(), secs(self.scrape)),
            ("for".to_owned(), secs(self.rule_for)),
            ("group_wait".to_owned(), secs(self.group_wait)),
        ])
    }

    /// Healing through the alerting pipeline alone: one runbook, fed only by its alerts.
    fn runbooks(&self, _plan: &Plan) -> Result<Vec<healer::Runbook>, RunError> {
        Ok(vec![healer::Runbook::parse(
            DOWN_ALERT_RUNBOOK,
            Path::new("healer/runbooks/restart-on-down-alert.yaml"),
        )?])
    }

    /// Its own timing, and a rule file `down.rules.yml` in `dir` that `plan` now monitors with.
    fn alerting(&self, plan: &mut Plan, dir: &Path) -> Result<Timing, RunError> {
        let rules = dir.join("down.rules.yml");
        std::fs::write(&rules, down_rule(self.rule_for)).map_err(|source| RunError::Output {
            path: rules.clone(),
            source,
        })?;
        plan.monitoring = Some(MonitoringPlan {
            required: true,
            rules: vec![rules],
        });
        Ok(Timing {
            scrape_interval: self.scrape,
            evaluation_interval: self.scrape,
            group_wait: self.group_wait,
            ..Timing::default()
        })
    }

    fn heal(&self, trial: &Trial<'_>, cancel: CancellationToken) -> Option<JoinHandle<()>> {
        Some(embedded::spawn_healer(trial, cancel))
    }
}

/// The runbook `--strategy alertmanager` heals with, built in so the strategy works anywhere.
const DOWN_ALERT_RUNBOOK: &str =
    include_str!("../../../healer/runbooks/restart-on-down-alert.yaml");

/// The rule of `--strategy alertmanager`: a target Prometheus cannot scrape, held `rule_for`.
fn down_rule(rule_for: Duration) -> String {
    format!(
        "groups:\n  - name: sim-alertmanager-strategy\n    rules:\n      - alert: LeakyDown\n        \
         expr: up == 0\n        for: {}\n",
        crate::monitoring::config_duration(rule_for)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alertmanager_strategy_rule_holds_up_eq_0_for_its_duration() {
        let rule = down_rule(Duration::from_secs(60));
        assert!(rule.contains("alert: LeakyDown"), "{rule}");
        assert!(rule.contains("expr: up == 0"), "{rule}");
        assert!(rule.contains("for: 60s"), "{rule}");
        // It must match what the built-in runbook waits for.
        assert!(DOWN_ALERT_RUNBOOK.contains("alert: LeakyDown"));
    }
}
