//! What sim itself observed of the trial's targets, for the Agent API to show: each target's
//! latest probe results and resource sample, and the alerts firing now. A [`Tap`] sink keeps
//! [`Observed`] up to date from the very events the journal records, so an agent sees what the
//! report later counts, never a second measurement.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use journal::{Event, Sink};
use serde::Serialize;

/// Probe results kept per target, newest last.
pub const PROBES_KEPT: usize = 20;

/// One of sim's probes of a target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeView {
    /// When it answered (or gave up), Unix milliseconds.
    pub at_unix_ms: u64,
    pub ok: bool,
    pub status: Option<u16>,
    pub latency_ms: f64,
    pub error: Option<String>,
}

/// A target's latest resource sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleView {
    pub at_unix_ms: u64,
    pub memory_bytes: u64,
    pub memory_limit_bytes: Option<u64>,
    /// CPU since the sample before, in % of one core.
    pub cpu_percent: Option<f64>,
    /// Time the CPU quota held it back since the sample before.
    pub throttled_ms: Option<f64>,
}

/// An alert firing now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertView {
    pub name: String,
    /// The target its labels name.
    pub target: String,
    pub fingerprint: String,
    /// When the pipeline says it started firing, Unix milliseconds.
    pub starts_at_unix_ms: Option<u64>,
}

/// The latest of what sim observed, per target.
#[derive(Debug, Default)]
pub struct Observed(Mutex<State>);

#[derive(Debug, Default)]
struct State {
    probes: HashMap<String, VecDeque<ProbeView>>,
    samples: HashMap<String, SampleView>,
    /// By fingerprint, so a repeated notification is one alert.
    alerts: BTreeMap<String, AlertView>,
}

impl Observed {
    /// Forgets everything: a new trial's targets start unobserved (alerts still firing stay).
    pub fn new_trial(&self) {
        let mut state = self.lock();
        state.probes.clear();
        state.samples.clear();
    }

    /// `target`'s latest probe results, oldest first.
    pub fn probes(&self, target: &str) -> Vec<ProbeView> {
        let state = self.lock();
        state
            .probes
            .get(target)
            .map(|p| p.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// `target`'s latest resource sample.
    pub fn sample(&self, target: &str) -> Option<SampleView> {
        self.lock().samples.get(target).cloned()
    }

    /// The alerts firing now, by fingerprint.
    pub fn alerts(&self) -> Vec<AlertView> {
        self.lock().alerts.values().cloned().collect()
    }

    /// Takes in one recorded event.
    fn see(&self, event: &Event) {
        let at_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut state = self.lock();
        match event {
            Event::Probe {
                target,
                ok,
                status,
                latency_ms,
                error,
            } => {
                let kept = state.probes.entry(target.clone()).or_default();
                if kept.len() == PROBES_KEPT {
                    kept.pop_front();
                }
                kept.push_back(ProbeView {
                    at_unix_ms,
                    ok: *ok,
                    status: *status,
                    latency_ms: *latency_ms,
                    error: error.clone(),
                });
            }
            Event::ResourceSample {
                target,
                memory_bytes,
                memory_limit_bytes,
                cpu_percent,
                throttled_ms,
                ..
            } => {
                let sample = SampleView {
                    at_unix_ms,
                    memory_bytes: *memory_bytes,
                    memory_limit_bytes: *memory_limit_bytes,
                    cpu_percent: *cpu_percent,
                    throttled_ms: *throttled_ms,
                };
                state.samples.insert(target.clone(), sample);
            }
            Event::Alert {
                name,
                target,
                firing,
                fingerprint,
                starts_at_unix_ms,
            } => {
                if *firing {
                    let alert = AlertView {
                        name: name.clone(),
                        target: target.clone(),
                        fingerprint: fingerprint.clone(),
                        starts_at_unix_ms: *starts_at_unix_ms,
                    };
                    state.alerts.insert(fingerprint.clone(), alert);
                } else {
                    state.alerts.remove(fingerprint);
                }
            }
            _ => {}
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A sink that shows every event to [`Observed`], then records it in `inner`.
pub struct Tap {
    pub inner: Arc<dyn Sink>,
    pub observed: Arc<Observed>,
}

impl Sink for Tap {
    fn record(&self, event: Event) {
        self.observed.see(&event);
        self.inner.record(event);
    }
}

#[cfg(test)]
mod tests {
    use journal::MemorySink;

    use super::*;

    fn probe(target: &str, ok: bool, latency_ms: f64) -> Event {
        Event::Probe {
            target: target.into(),
            ok,
            status: ok.then_some(200),
            latency_ms,
            error: (!ok).then(|| "connection refused".into()),
        }
    }

    fn alert(fingerprint: &str, firing: bool) -> Event {
        Event::Alert {
            name: "LeakyDown".into(),
            target: "leaky-0".into(),
            firing,
            fingerprint: fingerprint.into(),
            starts_at_unix_ms: Some(1),
        }
    }

    #[test]
    fn the_tap_keeps_the_latest_probes_sample_and_firing_alerts_and_records_everything() {
        let observed = Arc::new(Observed::default());
        let memory = Arc::new(MemorySink::default());
        let tap = Tap {
            inner: memory.clone(),
            observed: observed.clone(),
        };
        for i in 0..PROBES_KEPT + 5 {
            tap.record(probe("leaky-0", i % 2 == 0, i as f64));
        }
        tap.record(probe("leaky-1", false, 1.0));
        for memory_bytes in [10, 20] {
            tap.record(Event::ResourceSample {
                target: "leaky-0".into(),
                memory_bytes,
                memory_limit_bytes: Some(64),
                cpu_percent: None,
                throttled_ms: None,
                source: "cgroup".into(),
            });
        }
        for event in [
            alert("a", true),
            alert("b", true),
            alert("a", true),
            alert("b", false),
        ] {
            tap.record(event);
        }
        assert_eq!(memory.events().len(), PROBES_KEPT + 5 + 1 + 2 + 4);

        let probes = observed.probes("leaky-0");
        assert_eq!(probes.len(), PROBES_KEPT);
        assert_eq!(probes.first().unwrap().latency_ms, 5.0, "oldest dropped");
        assert_eq!(probes.last().unwrap().latency_ms, (PROBES_KEPT + 4) as f64);
        assert_eq!(observed.probes("leaky-1").len(), 1);
        assert!(observed.probes("nobody").is_empty());
        assert_eq!(observed.sample("leaky-0").unwrap().memory_bytes, 20);
        let firing: Vec<String> = observed
            .alerts()
            .into_iter()
            .map(|a| a.fingerprint)
            .collect();
        assert_eq!(firing, ["a"]);

        observed.new_trial();
        assert!(observed.probes("leaky-0").is_empty());
        assert_eq!(observed.sample("leaky-0"), None);
        assert_eq!(
            observed.alerts().len(),
            1,
            "an alert outlives the trial it fired in"
        );
    }
}
