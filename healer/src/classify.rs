//! Classification: what kind of incident a detection most likely is, and how sure the healer is.
//!
//! The evidence (the trigger that fired, the signal, the target's recent history) suggests a
//! class with a confidence:
//!
//! | evidence | class | confidence |
//! |---|---|---|
//! | an `oom` event | `oom` | 0.95 |
//! | 3+ deaths within 60 s | `crash_loop` | 0.85 |
//! | a rising memory trend | `memory_leak` | 0.8 |
//! | memory above a threshold, or anomalous | `memory_leak` | 0.6 |
//! | CPU metric | `cpu_saturation` | 0.75 |
//! | latency metric (`probe_latency_ms`, `*_p95`, `*latency*`, `*duration*`) | `latency` | 0.7 |
//! | probe failures or unhealthy within 2 min of a new container's first start (also one created under a removed one's name) | `bad_deploy` | 0.7 |
//! | probe failures or unhealthy, the container running | `hang` | 0.7 |
//! | probe failures, the container not running | `crash_loop` | 0.5 |
//! | an alert, a single death, or anything else | the runbook's class | 1.0 |
//!
//! The incident's class is the chosen runbook's; its confidence is the runbook's own
//! `confidence` times the evidence's when the evidence agrees with that class (the same class,
//! or a narrower one: evidence of `crash_loop` agrees with a `crash` runbook), and times
//! (1 − the evidence's) when it points to another class (the reason then names that class).

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::runbook::Runbook;
use crate::signal::SignalKind;
use crate::triggers::Trigger;

/// Deaths within this window make a crash loop.
const CRASH_LOOP_WINDOW: Duration = Duration::from_secs(60);
const CRASH_LOOP_DEATHS: usize = 3;
/// Failing this soon after a new container's first start looks like a bad deploy.
const BAD_DEPLOY_WINDOW: Duration = Duration::from_secs(120);

/// What the engine remembers of a target's life, for classification.
#[derive(Debug, Default)]
pub(crate) struct History {
    /// Whether the target runs, when a `start` or `die` was seen.
    pub(crate) running: Option<bool>,
    /// When the healer first saw this container start (a new container: a deploy); `None` for
    /// targets already running when the healer started.
    pub(crate) first_start: Option<Instant>,
    /// Recent deaths, oldest first.
    pub(crate) deaths: VecDeque<Instant>,
}

impl History {
    /// Remembers what `kind` says about the target's life.
    pub(crate) fn observe(&mut self, kind: &SignalKind, at: Instant) {
        match kind {
            SignalKind::Started => {
                // A container that was seen dying or running before is not new.
                if self.running.is_none() && self.deaths.is_empty() {
                    self.first_start = Some(at);
                }
                self.running = Some(true);
            }
            SignalKind::Died { .. } => {
                self.running = Some(false);
                self.deaths.push_back(at);
                while self
                    .deaths
                    .front()
                    .is_some_and(|death| at.duration_since(*death) > CRASH_LOOP_WINDOW)
                {
                    self.deaths.pop_front();
                }
            }
            // Gone: a container started under its name later is a new one (a deploy), whose
            // first start and deaths are its own.
            SignalKind::Removed => *self = History::default(),
            _ => {}
        }
    }
}

/// What a trigger's firing is evidence of ([`crate::triggers::TriggerKind::symptom`]), which
/// with the signal and the target's history suggests a class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Symptom<'a> {
    /// The kernel OOM-killed the target.
    Oom,
    /// The healer's own probes fail.
    FailedProbes,
    /// The container's health check says unhealthy.
    Unhealthy,
    /// The metric is rising steadily.
    Rising(&'a str),
    /// The metric is high.
    High(&'a str),
    /// Nothing beyond the signal itself.
    Other,
}

/// A detection's class and confidence, and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Classification {
    pub(crate) class: String,
    pub(crate) confidence: f64,
    pub(crate) reason: String,
}

/// Classifies a detection of `runbook` through `trigger` on the signal `kind`.
pub(crate) fn classify(
    runbook: &Runbook,
    trigger: &Trigger,
    kind: &SignalKind,
    history: &History,
    at: Instant,
) -> Classification {
    let class = runbook.class.clone();
    let Some((suggested, evidence, why)) = evidence(trigger, kind, history, at) else {
        return Classification {
            class,
            confidence: runbook.confidence,
            reason: format!(
                "class {} as the runbook says (confidence {:.2})",
                runbook.class, runbook.confidence
            ),
        };
    };
    let agrees = suggested == runbook.class
        || suggested
            .strip_prefix(runbook.class.as_str())
            .is_some_and(|rest| rest.starts_with('_'));
    if agrees {
        Classification {
            confidence: runbook.confidence * evidence,
            reason: format!("{why}: {suggested} ({evidence:.2})"),
            class,
        }
    } else {
        Classification {
            confidence: runbook.confidence * (1.0 - evidence),
            reason: format!(
                "{why}: rather {suggested} ({evidence:.2}) than the runbook's {}",
                runbook.class
            ),
            class,
        }
    }
}

/// The class the evidence suggests, how strongly, and what the evidence is.
fn evidence(
    trigger: &Trigger,
    kind: &SignalKind,
    history: &History,
    at: Instant,
) -> Option<(&'static str, f64, String)> {
    let recent_deploy = history
        .first_start
        .is_some_and(|start| at.duration_since(start) <= BAD_DEPLOY_WINDOW);
    let deaths = history
        .deaths
        .iter()
        .filter(|death| at.duration_since(**death) <= CRASH_LOOP_WINDOW)
        .count();
    Some(match (trigger.symptom(), kind) {
        (_, SignalKind::Oom) | (Symptom::Oom, _) => {
            ("oom", 0.95, "the kernel OOM-killed the target".to_owned())
        }
        (_, SignalKind::Died { .. }) if deaths >= CRASH_LOOP_DEATHS => (
            "crash_loop",
            0.85,
            format!("{deaths} deaths within {CRASH_LOOP_WINDOW:?}"),
        ),
        (Symptom::FailedProbes | Symptom::Unhealthy, _) if recent_deploy => (
            "bad_deploy",
            0.7,
            format!("failing within {BAD_DEPLOY_WINDOW:?} of a new container's first start"),
        ),
        (Symptom::FailedProbes, _) if history.running == Some(false) => (
            "crash_loop",
            0.5,
            "probes fail and the target is not running".to_owned(),
        ),
        (Symptom::FailedProbes | Symptom::Unhealthy, _) => (
            "hang",
            0.7,
            "the target does not answer and was not seen dying".to_owned(),
        ),
        (Symptom::Rising(metric), _) if metric.starts_with("memory") => {
            ("memory_leak", 0.8, format!("{metric} is rising steadily"))
        }
        (Symptom::High(metric), _) if metric.starts_with("memory") => {
            ("memory_leak", 0.6, format!("{metric} is high"))
        }
        (Symptom::High(metric) | Symptom::Rising(metric), _) if metric.starts_with("cpu") => {
            ("cpu_saturation", 0.75, format!("{metric} is high"))
        }
        (Symptom::High(metric) | Symptom::Rising(metric), _) if is_latency(metric) => {
            ("latency", 0.7, format!("{metric} is high"))
        }
        _ => return None,
    })
}

fn is_latency(metric: &str) -> bool {
    metric == crate::sources::PROBE_LATENCY_METRIC
        || ["_p50", "_p95", "_p99"]
            .iter()
            .any(|suffix| metric.ends_with(suffix))
        || metric.contains("latency")
        || metric.contains("duration")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn runbook(class: &str, when: &str) -> (Runbook, Trigger) {
        let yaml = format!(
            "name: r\nclass: {class}\nwhen: [{when}]\nsteps: [{{action: restart, timeout: 1s}}]\n\
             verify: {{http_path: /health, within: 1s}}\ncooldown: 0s\nmax_actions: 1\nwindow: 1m\n"
        );
        let runbook = Runbook::parse(&yaml, Path::new("test")).unwrap();
        let trigger = runbook.when[0].clone();
        (runbook, trigger)
    }

    fn check(class: &str, when: &str, kind: SignalKind, history: &History, want: (&str, f64)) {
        let (runbook, trigger) = runbook(class, when);
        let got = classify(&runbook, &trigger, &kind, history, Instant::now());
        assert_eq!(
            (got.class.as_str(), (got.confidence * 100.0).round() / 100.0),
            want,
            "{}",
            got.reason
        );
    }

    fn probe_failed() -> SignalKind {
        SignalKind::Probe {
            ok: false,
            latency: Duration::ZERO,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn evidence_that_agrees_with_the_runbook_gives_its_confidence() {
        let none = History::default();
        check(
            "oom",
            "{docker_event: oom}",
            SignalKind::Oom,
            &none,
            ("oom", 0.95),
        );
        let trend = "{trend: memory_percent, reaches: 95, within: 30s}";
        let sample = SignalKind::Metric {
            name: "memory_percent".into(),
            value: 80.0,
        };
        check(
            "memory_leak",
            trend,
            sample.clone(),
            &none,
            ("memory_leak", 0.8),
        );
        let cpu = "{threshold: cpu_percent, above: 90, for: 10s}";
        check(
            "cpu_saturation",
            cpu,
            sample,
            &none,
            ("cpu_saturation", 0.75),
        );
        let mut running = History::default();
        running.observe(&SignalKind::Started, Instant::now());
        tokio::time::advance(BAD_DEPLOY_WINDOW * 2).await;
        check(
            "hang",
            "{probe_failures: 3}",
            probe_failed(),
            &running,
            ("hang", 0.7),
        );
        // Alerts carry no evidence of their own: the runbook's word stands.
        let alert = SignalKind::Alert(crate::signal::Alert {
            name: "Down".into(),
            firing: true,
            labels: Default::default(),
            fingerprint: "f".into(),
        });
        check(
            "dependency_down",
            "{alert: Down}",
            alert,
            &none,
            ("dependency_down", 1.0),
        );
    }

    #[tokio::test(start_paused = true)]
    async fn history_tells_hangs_from_bad_deploys_and_crash_loops() {
        let mut fresh = History::default();
        fresh.observe(&SignalKind::Started, Instant::now());
        tokio::time::advance(Duration::from_secs(10)).await;
        // Probe failures right after a new container started: the hang runbook is less sure.
        check(
            "hang",
            "{probe_failures: 3}",
            probe_failed(),
            &fresh,
            ("hang", 0.3),
        );
        check(
            "bad_deploy",
            "{probe_failures: 3}",
            probe_failed(),
            &fresh,
            ("bad_deploy", 0.7),
        );

        let mut looping = History::default();
        let first = Instant::now();
        for _ in 0..3 {
            looping.observe(&SignalKind::Started, Instant::now());
            looping.observe(&SignalKind::Died { exit_code: Some(1) }, Instant::now());
            tokio::time::advance(Duration::from_secs(5)).await;
        }
        let died = SignalKind::Died { exit_code: Some(1) };
        check(
            "crash_loop",
            "{docker_event: die}",
            died.clone(),
            &looping,
            ("crash_loop", 0.85),
        );
        // A restarted container is not a new deploy.
        assert_eq!(looping.first_start, Some(first));
        // One removed and created again under its name (a deploy) is.
        let mut deployed = History::default();
        deployed.observe(&SignalKind::Started, Instant::now());
        deployed.observe(
            &SignalKind::Died {
                exit_code: Some(137),
            },
            Instant::now(),
        );
        deployed.observe(&SignalKind::Removed, Instant::now());
        tokio::time::advance(Duration::from_secs(1)).await;
        deployed.observe(&SignalKind::Started, Instant::now());
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(deployed.deaths.is_empty());
        check(
            "bad_deploy",
            "{probe_failures: 3}",
            probe_failed(),
            &deployed,
            ("bad_deploy", 0.7),
        );
        // A `crash` runbook agrees with crash-loop evidence.
        check(
            "crash",
            "{docker_event: die}",
            died.clone(),
            &looping,
            ("crash", 0.85),
        );
        // A single death is no evidence either way.
        let mut once = History::default();
        once.observe(&died, Instant::now());
        check(
            "crash_loop",
            "{docker_event: die}",
            died,
            &once,
            ("crash_loop", 1.0),
        );
        // Deaths older than the window are forgotten.
        tokio::time::advance(CRASH_LOOP_WINDOW * 2).await;
        looping.observe(&SignalKind::Died { exit_code: Some(1) }, Instant::now());
        assert_eq!(looping.deaths.len(), 1);
    }
}
