//! What a healer did beyond healing: actions on targets that were not failing (false
//! positives), and how it used the Agent API (calls, refused calls, errors). The same for every
//! strategy, from the trial's records.
//!
//! - An action (`ActionStarted`) is a **false positive** when its target had shown nothing
//!   wrong by the time it started: no fault injected into it, no failed probe sent to it (by
//!   send time), and no death of it while live. In a control scenario, which injects no fault,
//!   every action on a target that kept serving is one. An action that prevents an outage (a
//!   preemptive restart of a leaking target) is not: a fault was injected into its target. In a
//!   scenario that expects no heal (`healed: false`), every action is one (see
//!   `summary::summarize`): its fault, if any, is benign (slow but healthy).
//! - **Agent calls**: `AgentCall` records. **Refused**: those answered 403 (they named a
//!   container outside the run). **API errors**: every other answer of 400 or more (no or a
//!   wrong token, unknown target, malformed or oversized body, rate limited, a failed action).

use std::collections::HashMap;

use journal::{Event, Record};

use super::probes::Probe;
use super::At;

/// The trial's scoring counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Scoring {
    pub false_positives: u32,
    pub agent_calls: u32,
    pub refused_calls: u32,
    pub api_errors: u32,
}

/// Counts the scoring figures of the trial's `records` (in time order), given its live probes
/// and each target's first `TargetReady`.
pub(super) fn scoring(
    records: &[&Record],
    probes: &[Probe<'_>],
    ready: &HashMap<&str, At>,
) -> Scoring {
    let mut s = Scoring::default();
    for (index, r) in records.iter().enumerate() {
        match &r.event {
            Event::ActionStarted { target, .. }
                if !showed_trouble(records, probes, ready, target, index, r.t_ms) =>
            {
                s.false_positives += 1;
            }
            Event::AgentCall { status, .. } => {
                s.agent_calls += 1;
                match status {
                    403 => s.refused_calls += 1,
                    400.. => s.api_errors += 1,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    s
}

/// Whether `target` had a fault injected, a failed probe sent, or a live death before the
/// record at `index` (time `t_ms`).
fn showed_trouble(
    records: &[&Record],
    probes: &[Probe<'_>],
    ready: &HashMap<&str, At>,
    target: &str,
    index: usize,
    t_ms: f64,
) -> bool {
    let failed_probe = probes
        .iter()
        .any(|p| p.target == target && !p.ok && p.sent_ms < t_ms);
    let live_from = ready.get(target).map(|at| at.index);
    failed_probe
        || records[..index]
            .iter()
            .enumerate()
            .any(|(i, r)| match &r.event {
                Event::FaultInjected { target: t, .. } => t == target,
                Event::Docker {
                    target: t, action, ..
                } => t == target && action == "die" && live_from.is_some_and(|from| i > from),
                _ => false,
            })
}
