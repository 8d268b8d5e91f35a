//! A sink that keeps its events in memory: for tests, benchmarks and anything that wants to
//! look at what was recorded without a file.

use std::sync::Mutex;

use crate::{Event, Sink};

/// Collects every recorded event, in order.
#[derive(Debug, Default)]
pub struct MemorySink(Mutex<Vec<Event>>);

impl MemorySink {
    /// A copy of every event recorded so far.
    pub fn events(&self) -> Vec<Event> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Event>> {
        self.0.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}

impl Sink for MemorySink {
    fn record(&self, event: Event) {
        self.lock().push(event);
    }
}
