//! `--strategy floor`: the physical floor of a restart-based heal on this machine. A watcher on
//! the Docker events of one trial's containers calls the API `start` on a container the moment
//! its `die` event arrives: no runbook, no wait, no verification, and then forgets the host's
//! stale neighbor entry for its address as the embedded healer does
//! (`healer::forget_stale_neighbors`: without it traffic during the outage keeps the container
//! unreachable up to a second after it started). It journals what it did as
//! the runbook `floor` (detected, then the `start` action) so reports show its actions, and
//! never records a verification, because it does none.
//!
//! It acts on the containers carrying the trial's label and a target name (the replicas and
//! the scenario's dependency); the balancer, the network proxies and the monitoring stack
//! outlive trials and carry no trial label, so it never sees them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::models::EventMessage;
use bollard::query_parameters::{EventsOptionsBuilder, StartContainerOptions};
use bollard::Docker;
use futures_util::StreamExt;
use journal::{Event, Sink};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::LABEL_TARGET;

/// The runbook name the floor's actions carry in the journal.
pub const FLOOR_RUNBOOK: &str = "floor";

/// How long to wait before subscribing again when the event stream fails.
const RESUBSCRIBE_AFTER: Duration = Duration::from_millis(100);

/// Starts every container with all of `labels` (`key=value`) the moment it dies, until
/// `cancel`; then waits for the starts still in flight, so each is journalled to its end.
pub async fn floor(
    docker: Docker,
    labels: Vec<String>,
    sink: Arc<dyn Sink>,
    cancel: CancellationToken,
) {
    let filters = HashMap::from([
        ("type", vec!["container".to_owned()]),
        ("event", vec!["die".to_owned()]),
        ("label", labels),
    ]);
    let mut starts = JoinSet::new();
    let mut incidents = 0u32;
    'subscribe: while !cancel.is_cancelled() {
        let options = EventsOptionsBuilder::new().filters(&filters).build();
        let mut events = docker.events(Some(options));
        loop {
            let item = tokio::select! {
                _ = cancel.cancelled() => break 'subscribe,
                item = events.next() => item,
            };
            let message = match item {
                Some(Ok(message)) => message,
                Some(Err(e)) => {
                    tracing::warn!("floor: docker event stream failed: {e}; subscribing again");
                    tokio::time::sleep(RESUBSCRIBE_AFTER).await;
                    continue 'subscribe;
                }
                None => {
                    tokio::time::sleep(RESUBSCRIBE_AFTER).await;
                    continue 'subscribe;
                }
            };
            let Some(death) = Death::of(message) else {
                continue;
            };
            incidents += 1;
            // Each container its own task: two deaths at once are started side by side.
            starts.spawn(start(
                docker.clone(),
                death,
                format!("floor-{incidents}"),
                sink.clone(),
            ));
        }
    }
    while starts.join_next().await.is_some() {}
}

/// A target container's `die` event.
#[derive(Debug, Clone, PartialEq)]
struct Death {
    id: String,
    target: String,
    exit_code: Option<i64>,
}

impl Death {
    /// The death of a named target; `None` for an event without an id or a target label.
    fn of(message: EventMessage) -> Option<Death> {
        let actor = message.actor?;
        let attributes = actor.attributes.unwrap_or_default();
        Some(Death {
            id: actor.id?,
            target: attributes.get(LABEL_TARGET)?.clone(),
            exit_code: attributes.get("exitCode").and_then(|c| c.parse().ok()),
        })
    }

    /// What the journal's `detected` names as its signal: `die (exit 137)`.
    fn signal(&self) -> String {
        match self.exit_code {
            Some(code) => format!("die (exit {code})"),
            None => "die".to_owned(),
        }
    }
}

/// Journals the incident and calls `start` on the dead container.
async fn start(docker: Docker, death: Death, incident: String, sink: Arc<dyn Sink>) {
    sink.record(Event::Detected {
        target: death.target.clone(),
        incident: incident.clone(),
        class: "exited".to_owned(),
        signal: death.signal(),
        confidence: None,
        classified_because: None,
    });
    sink.record(Event::ActionStarted {
        target: death.target.clone(),
        incident: incident.clone(),
        runbook: FLOOR_RUNBOOK.to_owned(),
        action: "start".to_owned(),
    });
    let started = Instant::now();
    let result = docker
        .start_container(&death.id, None::<StartContainerOptions>)
        .await;
    if result.is_ok() {
        // The physical floor includes what the host needs to reach the container again.
        healer::forget_stale_neighbors(&docker, &death.id).await;
    }
    sink.record(Event::ActionFinished {
        target: death.target,
        incident,
        runbook: FLOOR_RUNBOOK.to_owned(),
        action: "start".to_owned(),
        ok: result.is_ok(),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        error: result.err().map(|e| e.to_string()),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::EventActor;

    fn die(id: Option<&str>, attributes: &[(&str, &str)]) -> EventMessage {
        EventMessage {
            action: Some("die".to_owned()),
            actor: Some(EventActor {
                id: id.map(str::to_owned),
                attributes: Some(
                    attributes
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
            }),
            ..EventMessage::default()
        }
    }

    #[test]
    fn a_targets_death_names_its_container_target_and_exit_code() {
        let death = Death::of(die(
            Some("c0ffee"),
            &[(LABEL_TARGET, "leaky-0"), ("exitCode", "137")],
        ))
        .unwrap();
        assert_eq!(
            death,
            Death {
                id: "c0ffee".into(),
                target: "leaky-0".into(),
                exit_code: Some(137),
            }
        );
        assert_eq!(death.signal(), "die (exit 137)");
        let no_code = Death::of(die(Some("c0ffee"), &[(LABEL_TARGET, "leaky-0")])).unwrap();
        assert_eq!(no_code.signal(), "die");
    }

    #[test]
    fn containers_that_are_not_named_targets_are_left_alone() {
        assert_eq!(Death::of(die(Some("c0ffee"), &[("exitCode", "0")])), None);
        assert_eq!(Death::of(die(None, &[(LABEL_TARGET, "leaky-0")])), None);
        let no_actor = EventMessage {
            actor: None,
            ..EventMessage::default()
        };
        assert_eq!(Death::of(no_actor), None);
    }
}
