//! Who heals under each strategy: the runbooks the healer loads, the alerting pipeline's
//! timing, what the strategy changes in a target's container (Docker's restart policy, a
//! HEALTHCHECK), and the task that heals during a trial (the embedded healer, the autoheal
//! poller, the floor's `die` watcher, or none).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{RunContext, RunError};
use crate::balancer;
use crate::docker::{self, HealthCheck, TargetRestart, TargetSpec};
use crate::monitoring::Timing;
use crate::scenario::{MonitoringPlan, Plan};
use crate::strategy::Strategy;

/// The runbooks the healer runs under `strategy`: for `--strategy alertmanager` the one
/// built-in runbook fed only by alerts, else the scenario's (loaded whatever the strategy, so a
/// broken runbook fails every run alike; only the embedded healer runs them).
pub(super) fn runbooks(plan: &Plan, strategy: Strategy) -> Result<Vec<healer::Runbook>, RunError> {
    Ok(match strategy {
        // Healing through the alerting pipeline alone: one runbook, fed only by its alerts.
        Strategy::Alertmanager { .. } => vec![healer::Runbook::parse(
            DOWN_ALERT_RUNBOOK,
            Path::new("healer/runbooks/restart-on-down-alert.yaml"),
        )?],
        _ => plan
            .runbooks
            .iter()
            .map(|path| healer::Runbook::load(path))
            .collect::<Result<Vec<_>, _>>()?,
    })
}

/// The alerting pipeline's timing under `strategy`: `--strategy alertmanager` brings its own
/// (its settings, and a rule file `down.rules.yml` in `dir` that `plan` now monitors with);
/// every other strategy keeps the defaults.
pub(super) fn alerting_timing(
    plan: &mut Plan,
    strategy: Strategy,
    dir: &Path,
) -> Result<Timing, RunError> {
    let timing = match strategy {
        Strategy::Alertmanager {
            scrape,
            rule_for,
            group_wait,
        } => {
            let rules = dir.join("down.rules.yml");
            std::fs::write(&rules, down_rule(rule_for)).map_err(|source| RunError::Output {
                path: rules.clone(),
                source,
            })?;
            plan.monitoring = Some(MonitoringPlan {
                required: true,
                rules: vec![rules],
            });
            Timing {
                scrape_interval: scrape,
                evaluation_interval: scrape,
                group_wait,
                ..Timing::default()
            }
        }
        _ => Timing::default(),
    };
    Ok(timing)
}

/// The container spec of replica `name` in `trial` (0: the preflight). Docker restarts it only
/// under `docker-restart`, and judges its health only under `autoheal`.
pub(super) fn target_spec(
    plan: &Plan,
    image: &str,
    strategy: Strategy,
    name: String,
    trial: u32,
) -> TargetSpec {
    let target = &plan.target;
    let mut env: Vec<(String, String)> = target.env.clone().into_iter().collect();
    env.push(("LEAKY_PORT".to_owned(), target.port.to_string()));
    TargetSpec {
        name,
        image: image.to_owned(),
        port: target.port,
        health_path: target.health.path.clone(),
        memory_bytes: target.memory_bytes,
        nano_cpus: target.nano_cpus,
        env,
        trial,
        restart: match strategy {
            Strategy::DockerRestart => TargetRestart::OnFailure,
            _ => TargetRestart::No,
        },
        healthcheck: match strategy {
            Strategy::Autoheal {
                interval, retries, ..
            } => Some(HealthCheck {
                test: [
                    "CMD",
                    &program_in_image(),
                    "target",
                    "probe",
                    &format!("http://127.0.0.1:{}{}", target.port, target.health.path),
                ]
                .map(str::to_owned)
                .to_vec(),
                interval,
                // Docker's default; `sim target probe` gives up after 2s anyway.
                timeout: Duration::from_secs(30),
                retries,
            }),
            _ => None,
        },
        labels: vec![],
    }
}

/// Where this binary sits in the built-in target's image (`/sim`): the health check runs
/// `sim target probe` there.
fn program_in_image() -> String {
    let name = std::env::current_exe()
        .ok()
        .and_then(|path| path.file_name().map(|n| n.to_string_lossy().into_owned()));
    format!("/{}", name.unwrap_or_else(|| "sim".to_owned()))
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

/// Starts whoever heals under the run's strategy for this trial: the embedded healer, the
/// autoheal poller, the floor's `die` watcher, or nobody (Docker's restart policy needs no
/// task). Ends on `cancel`.
pub(super) fn spawn_healer(
    context: &RunContext,
    trial: u32,
    cancel: &CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let scope = [
        (docker::LABEL_RUN, context.resources.run_id().to_owned()),
        (docker::LABEL_TRIAL, trial.to_string()),
    ];
    let cancel = cancel.clone();
    match context.strategy {
        Strategy::Embedded | Strategy::Alertmanager { .. } => {
            let healer = healer::Healer::new(
                Arc::new(healer::DockerPlatform::new(
                    context.resources.docker().clone(),
                )),
                context.runbooks.clone(),
                healer::Scope {
                    labels: scope.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                },
                context.narrator.clone(),
            );
            let healer = match &context.alerts {
                Some(alerts) => healer.with_external_signals(alerts.connect_trial()),
                None => healer,
            };
            // A `drain` step takes a replica out of the balancer's rotation.
            let healer = match context.balancer {
                Some(balancer) => healer.with_rotation(Arc::new(healer::rotation::Haproxy::new(
                    SocketAddr::from((Ipv4Addr::LOCALHOST, balancer.api)),
                    balancer::BACKEND,
                ))),
                None => healer,
            };
            tokio::spawn(async move {
                if let Err(e) = healer.run(cancel.cancelled_owned()).await {
                    tracing::warn!("healer stopped: {e}");
                }
            })
        }
        Strategy::Autoheal { poll, .. } => tokio::spawn(docker::autoheal(
            context.resources.docker().clone(),
            scope.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            poll,
            context.narrator.clone(),
            cancel,
        )),
        // The trial's containers: its replicas and its dependency.
        Strategy::Floor => tokio::spawn(docker::floor(
            context.resources.docker().clone(),
            scope.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            context.narrator.clone(),
            cancel,
        )),
        Strategy::None | Strategy::DockerRestart => tokio::spawn(async {}),
    }
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
