//! The engine's side of the advisor: evidence no runbook handles (a fault signal no `when`
//! matches, or a log line at an error level that no `log_match` counts), and matches below the
//! confidence guardrail. With an advisor, the incident waits for its answer in a task of its own
//! and comes back to [`Triage::advised`], which acts only on a runbook of the library through
//! the same path a rule-selected runbook takes; without one (or when the answer is refused) the
//! deterministic path runs: an escalation with the evidence, or the low-confidence runbook's
//! notify-only incident.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use journal::Event;
use regex::Regex;
use tokio::task::Id as TaskId;
use tokio::time::Instant;

use super::{record_suppressed, Triage};
use crate::advisor::{decide, Candidate, Consultation, Decision, Evidence};
use crate::runbook::Runbook;
use crate::signal::{SignalKind, TargetRef};
use crate::triggers::Trigger;

/// A log line with one of these words is a sign of trouble when no runbook counts it.
static ERROR_LINE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:error|fatal|panic|critical)\b").ok());
/// After unmatched evidence was escalated (or advised on without an action), more of it on
/// the same target is suppressed this long: one fault writes many lines.
pub(super) const UNMATCHED_HOLD: Duration = Duration::from_secs(30);
/// The class of an incident no runbook matched, until the advisor names one.
const UNKNOWN_CLASS: &str = "unknown";

/// The runbook a low-confidence match would run: the deterministic path when the advice is
/// not taken (it notifies only and escalates).
pub(super) struct Fallback {
    pub(super) runbook: Arc<Runbook>,
    pub(super) class: String,
    pub(super) confidence: f64,
    pub(super) reason: String,
}

/// An incident whose advice is being asked for, then the advice.
pub(super) struct Advised {
    pub(super) target: TargetRef,
    pub(super) signal: String,
    /// The fingerprint of the alert that opened it, if one did.
    pub(super) alert: Option<String>,
    pub(super) incident: String,
    pub(super) excerpt: Vec<String>,
    pub(super) fallback: Option<Fallback>,
    pub(super) consultation: Option<Consultation>,
}

impl Triage<'_> {
    /// Whether `kind` is a log line at an error level that no runbook's `log_match` counts (in
    /// `when` or `fallback`).
    pub(super) fn unmatched_log(&self, kind: &SignalKind) -> bool {
        let SignalKind::Log { line } = kind else {
            return false;
        };
        let counted = self
            .healer
            .runbooks
            .iter()
            .flat_map(|runbook| runbook.triggers())
            .any(|trigger| matches!(trigger, Trigger::LogMatch(m) if m.matches_line(line)));
        !counted
            && ERROR_LINE
                .as_ref()
                .is_some_and(|pattern| pattern.is_match(line))
    }

    /// Evidence no runbook handles, about a target with no open incident: suppressed in a
    /// cooldown or hold, else an incident of class `unknown` for the advisor, or escalated with
    /// the excerpt when there is none. A fault signal without an advisor stays suppressed, as
    /// it always was.
    pub(super) fn on_unmatched(&mut self, target: TargetRef, kind: &SignalKind, at: Instant) {
        let sink = Arc::clone(&self.healer.sink);
        let suppress = |reason: String| record_suppressed(&*sink, &target.name, kind, reason);
        let state = self.targets.entry(target.name.clone()).or_default();
        if let Some(open) = &state.open {
            return suppress(format!("incident already open ({open})"));
        }
        if self.healer.advisor.is_none() && kind.is_fault() {
            return suppress(format!("no runbook handles {kind}"));
        }
        if let Some(until) = state.cooldown_until.filter(|until| at < *until) {
            return suppress(format!(
                "cooldown ({:?} left of {:?})",
                until - at,
                state.cooldown
            ));
        }
        if let Some(until) = state.unmatched_until.filter(|until| at < *until) {
            return suppress(format!(
                "no runbook handles {kind}; evidence of this target already escalated ({:?} left of {UNMATCHED_HOLD:?})",
                until - at
            ));
        }
        let incident = format!("{}-{UNKNOWN_CLASS}-{}", target.name, self.next_incident);
        self.next_incident += 1;
        tracing::info!(%incident, %kind, "incident detected; no runbook matches");
        sink.record(Event::Detected {
            target: target.name.clone(),
            incident: incident.clone(),
            class: UNKNOWN_CLASS.to_owned(),
            signal: kind.to_string(),
            confidence: None,
            classified_because: Some("no runbook's `when` matches".to_owned()),
        });
        let excerpt = state.logs.excerpt();
        if !excerpt.is_empty() {
            sink.record(Event::LogExcerpt {
                target: target.name.clone(),
                incident: incident.clone(),
                lines: excerpt.clone(),
            });
        }
        let alert = match kind {
            SignalKind::Alert(alert) => Some(alert.fingerprint.clone()),
            _ => None,
        };
        let advised = Advised {
            target,
            signal: kind.to_string(),
            alert,
            incident,
            excerpt,
            fallback: None,
            consultation: None,
        };
        self.ask(advised);
    }

    /// Asks the advisor about `advised` in a task of its own (the target's incident stays
    /// open meanwhile); without an advisor, decides at once.
    pub(super) fn ask(&mut self, mut advised: Advised) {
        let Some(advisor) = self.healer.advisor.clone() else {
            return self.advised(advised);
        };
        let state = self.targets.entry(advised.target.name.clone()).or_default();
        state.open = Some(advised.incident.clone());
        let runbooks = self.healer.runbooks.clone();
        let client = self.client.clone();
        let key = advised.target.name.clone();
        let handle = self.advising.spawn(async move {
            let candidates: Vec<Candidate> = advised
                .fallback
                .iter()
                .map(|f| Candidate {
                    runbook: f.runbook.name.clone(),
                    class: f.class.clone(),
                    confidence: f.confidence,
                    reason: f.reason.clone(),
                })
                .collect();
            let why = if candidates.is_empty() {
                "no runbook's `when` matches this evidence"
            } else {
                "the matching runbook's classification is below the confidence the healer needs"
            };
            let evidence = Evidence {
                target: &advised.target.name,
                signal: &advised.signal,
                why,
                candidates: &candidates,
                runbooks: &runbooks,
                excerpt: &advised.excerpt,
            };
            advised.consultation = Some(advisor.consult(&client, &evidence).await);
            advised
        });
        self.advising_targets.insert(handle.id(), key);
    }

    /// An advising task ended: act on the answer if [`decide`] and the action limit allow it,
    /// else take the deterministic path; record the consultation.
    pub(super) fn advice_done(&mut self, done: Result<(TaskId, Advised), tokio::task::JoinError>) {
        match done {
            Ok((task, advised)) => {
                self.advising_targets.remove(&task);
                self.advised(advised);
            }
            Err(error) => {
                tracing::error!(%error, "advising task failed");
                if let Some(key) = self.advising_targets.remove(&error.id()) {
                    if let Some(state) = self.targets.get_mut(&key) {
                        state.open = None;
                    }
                }
            }
        }
    }

    fn advised(&mut self, advised: Advised) {
        let Advised {
            target,
            signal,
            alert,
            incident,
            excerpt,
            fallback,
            consultation,
        } = advised;
        let now = Instant::now();
        let sink = Arc::clone(&self.healer.sink);
        let state = self.targets.entry(target.name.clone()).or_default();
        state.open = None;
        let (decision, chosen) = match (&consultation, &self.healer.advisor) {
            (Some(consultation), Some(advisor)) => match &consultation.outcome {
                Ok(answer) => {
                    let needed = advisor
                        .min_confidence
                        .max(self.healer.guardrails.min_confidence);
                    let decision = decide(answer, &self.healer.runbooks, &target, needed);
                    (decision, Some(answer))
                }
                Err(error) => (
                    Decision::Escalate(format!("the advisor gave no usable answer: {error}")),
                    None,
                ),
            },
            _ => (
                Decision::Escalate("no advisor is configured".to_owned()),
                None,
            ),
        };
        // The action limit of the chosen runbook, as for a rule-selected one.
        let decision = match decision {
            Decision::Act(runbook) => {
                while state
                    .remediations
                    .front()
                    .is_some_and(|started| now.duration_since(*started) >= runbook.window)
                {
                    state.remediations.pop_front();
                }
                if state.remediations.len() >= runbook.max_actions.get() as usize {
                    Decision::Escalate(format!(
                        "max_actions of runbook {} reached: {} remediations within {:?}; not acting",
                        runbook.name, runbook.max_actions, runbook.window
                    ))
                } else {
                    Decision::Act(runbook)
                }
            }
            escalate => escalate,
        };
        if let (Some(consultation), Some(advisor)) = (&consultation, &self.healer.advisor) {
            let (decided, reason) = match &decision {
                Decision::Act(runbook) => (
                    "acted",
                    format!(
                        "runbook {} is in the library and applies to {}; handed to the incident \
                         under the healer's guardrails",
                        runbook.name, target.name
                    ),
                ),
                Decision::Escalate(reason) => ("escalated", reason.clone()),
            };
            tracing::info!(%incident, decision = decided, %reason, "advisor consulted");
            sink.record(Event::AdvisorConsulted {
                target: target.name.clone(),
                incident: incident.clone(),
                model: advisor.model.clone(),
                latency_ms: crate::incident::millis(consultation.latency),
                answer: consultation.audit(),
                decision: decided.to_owned(),
                reason,
            });
        }
        match (decision, chosen) {
            (Decision::Act(runbook), Some(answer)) => {
                sink.record(Event::RunbookSelected {
                    target: target.name.clone(),
                    incident: incident.clone(),
                    runbook: runbook.name.clone(),
                    reason: format!(
                        "the advisor's pick: class {} with confidence {:.2}: {}",
                        answer.class, answer.confidence, answer.rationale
                    ),
                });
                let (class, confidence) = (answer.class.clone(), answer.confidence);
                self.start(super::Start {
                    target,
                    alert,
                    incident,
                    runbook,
                    class,
                    confidence,
                    excerpt,
                    at: now,
                });
            }
            (decision, _) => {
                let reason = match decision {
                    Decision::Escalate(reason) => reason,
                    Decision::Act(_) => "the advisor's answer was lost".to_owned(),
                };
                match fallback {
                    Some(fallback) => {
                        sink.record(Event::RunbookSelected {
                            target: target.name.clone(),
                            incident: incident.clone(),
                            runbook: fallback.runbook.name.clone(),
                            reason: format!("{}; advice not taken ({reason})", fallback.reason),
                        });
                        self.start(super::Start {
                            target,
                            alert,
                            incident,
                            runbook: fallback.runbook,
                            class: fallback.class,
                            confidence: fallback.confidence,
                            excerpt,
                            at: now,
                        });
                    }
                    None => {
                        let reason = format!("no runbook handles {signal}; {reason}");
                        tracing::warn!(%incident, %reason, "escalated");
                        sink.record(Event::Escalated {
                            target: target.name.clone(),
                            incident,
                            reason,
                        });
                        if let Some(state) = self.targets.get_mut(&target.name) {
                            state.unmatched_until = Some(now + UNMATCHED_HOLD);
                        }
                    }
                }
            }
        }
    }
}
