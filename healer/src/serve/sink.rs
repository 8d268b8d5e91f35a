//! Where the daemon's decisions go: the audit file (or the log), counted for `/metrics`.

use std::sync::Arc;

use journal::{Event, Sink};

use super::App;

/// Records each event to the log at info level, as one JSON object (no `--audit` file).
pub(crate) struct LogSink;

impl Sink for LogSink {
    fn record(&self, event: Event) {
        match serde_json::to_string(&event) {
            Ok(json) => tracing::info!(target: "healer::audit", "{json}"),
            Err(e) => tracing::warn!("cannot render an audit event: {e}"),
        }
    }
}

/// Counts each event by its name in the app's metrics, then hands it to `inner`.
pub(crate) struct Counting {
    pub(crate) inner: Arc<dyn Sink>,
    pub(crate) app: App,
}

impl Sink for Counting {
    fn record(&self, event: Event) {
        let name = serde_json::to_value(&event)
            .ok()
            .and_then(|value| value.get("event")?.as_str().map(str::to_owned));
        if let Some(name) = name {
            self.app.metrics().decision(&name);
        }
        self.inner.record(event);
    }
}
