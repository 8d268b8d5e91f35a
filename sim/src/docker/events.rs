//! Recording the Docker engine's events for a run's containers into the journal, independently
//! of the healer (the healer watches its own stream; the record must not depend on it).

use std::collections::HashMap;
use std::sync::Arc;

use bollard::query_parameters::EventsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;
use journal::{Event, Sink};

use super::{LABEL_RUN, LABEL_TARGET};

/// Appends an `Event::Docker` for every `oom`, `die`, `start`, `kill` and `health_status` event
/// of the run's containers until the stream ends or the future is dropped.
pub async fn record_docker_events(docker: Docker, run_id: String, sink: Arc<dyn Sink>) {
    let filters = HashMap::from([
        ("type", vec!["container".to_owned()]),
        (
            "event",
            ["oom", "die", "start", "kill", "health_status"]
                .map(str::to_owned)
                .to_vec(),
        ),
        ("label", vec![format!("{LABEL_RUN}={run_id}")]),
    ]);
    let options = EventsOptionsBuilder::new().filters(&filters).build();
    let mut events = docker.events(Some(options));
    while let Some(item) = events.next().await {
        let message = match item {
            Ok(message) => message,
            Err(e) => {
                tracing::warn!("docker event stream failed: {e}");
                break;
            }
        };
        let attributes = message
            .actor
            .and_then(|actor| actor.attributes)
            .unwrap_or_default();
        let target = attributes
            .get(LABEL_TARGET)
            .cloned()
            .unwrap_or_else(|| "unknown".to_owned());
        sink.record(Event::Docker {
            target,
            action: message.action.unwrap_or_default(),
            exit_code: attributes.get("exitCode").and_then(|c| c.parse().ok()),
        });
    }
}
