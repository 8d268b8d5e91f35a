//! docker-autoheal's behaviour, for `--strategy autoheal`: every poll, restart the run's
//! containers Docker marks `unhealthy` (never exited ones), and journal each restart as an action
//! of the runbook `autoheal` so reports count it like any other.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::query_parameters::{ListContainersOptionsBuilder, RestartContainerOptionsBuilder};
use bollard::Docker;
use journal::{Event, Sink};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::LABEL_TARGET;

/// The runbook name the poller's actions carry in the journal.
pub const AUTOHEAL_RUNBOOK: &str = "autoheal";

/// Polls every `poll` until `cancel`, restarting running containers that carry every one of
/// `labels` (`key=value`) and that Docker marks `unhealthy`. A failed list is retried at the next
/// poll, as docker-autoheal does.
pub async fn autoheal(
    docker: Docker,
    labels: Vec<String>,
    poll: Duration,
    sink: Arc<dyn Sink>,
    cancel: CancellationToken,
) {
    let mut ticks = tokio::time::interval(poll);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut restarts = 0u32;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let unhealthy = match list_unhealthy(&docker, &labels).await {
            Ok(unhealthy) => unhealthy,
            Err(e) => {
                tracing::warn!("autoheal: cannot list containers: {e}");
                continue;
            }
        };
        for (id, target) in unhealthy {
            restarts += 1;
            let incident = format!("autoheal-{restarts}");
            sink.record(Event::ActionStarted {
                target: target.clone(),
                incident: incident.clone(),
                runbook: AUTOHEAL_RUNBOOK.to_owned(),
                action: "restart".to_owned(),
            });
            let started = Instant::now();
            let result = docker
                .restart_container(
                    &id,
                    Some(RestartContainerOptionsBuilder::new().t(10).build()),
                )
                .await;
            sink.record(Event::ActionFinished {
                target,
                incident,
                runbook: AUTOHEAL_RUNBOOK.to_owned(),
                action: "restart".to_owned(),
                ok: result.is_ok(),
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                error: result.err().map(|e| e.to_string()),
            });
        }
    }
}

/// (id, target name) of the running containers with `labels` that Docker marks `unhealthy`.
async fn list_unhealthy(
    docker: &Docker,
    labels: &[String],
) -> Result<Vec<(String, String)>, bollard::errors::Error> {
    let filters = HashMap::from([
        ("label", labels.to_vec()),
        ("health", vec!["unhealthy".to_owned()]),
        ("status", vec!["running".to_owned()]),
    ]);
    let options = ListContainersOptionsBuilder::new()
        .filters(&filters)
        .build();
    let containers = docker.list_containers(Some(options)).await?;
    Ok(containers
        .into_iter()
        .filter_map(|c| {
            let target = c
                .labels
                .as_ref()
                .and_then(|l| l.get(LABEL_TARGET).cloned())
                .or_else(|| c.names.as_ref().and_then(|n| n.first().cloned()))?;
            Some((c.id?, target))
        })
        .collect())
}
