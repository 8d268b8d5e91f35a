//! One trial's figures (outage, the MTTR breakdown, downtime, heals, errors), replayed from its
//! records.
//!
//! Definitions, all computed from the trial's records (`trial == Some(n)`) up to its
//! `TrialEnded`, ordered by `t_ms`. A `Probe` record is made when the probe answered (or timed
//! out); it was *sent* `latency_ms` earlier ([`Record::probe_sent_ms`]). Probes are taken in
//! send order; a failure is dated by its send time, a recovery by its answer (see `probes`):
//!
//! - A target is *live* after its first `TargetReady`: a probe counts when it was sent after that
//!   record's time, a Docker event when it comes after it. Probes and Docker events of a target
//!   that is not live are ignored for the outage and the downtime.
//! - **Outage start**: the earliest of the send time of a failed probe (`Probe { ok: false }`) and
//!   the time of a `Docker { action: "die" }`, among live targets (a tie goes to the death). That
//!   target is the outage's target.
//! - **Recovered**: the earliest answer among the first K consecutive ok probes of the outage's
//!   target, in send order, among the probes sent after the outage start (K = `healthy_after`, at
//!   least 1): when the target first served again. A probe that timed out is recorded late, but it
//!   sits in send order where it was sent, so it does not delay a recovery that probes sent after
//!   it saw; a good probe sent while the container was down and held until it served counts from
//!   its answer, not from its send.
//! - **Confirmed**: when the K-th of those good probes answered: the latest answer time (record
//!   `t_ms`) of the K. **Confirmation** = confirmed − recovered.
//! - **MTTR** = recovered − outage start.
//! - **Detection**: the first `Detected` after the trial's first `FaultInjected` (or the first of
//!   the trial when no fault was injected). **TTD** (detect) = detection − outage start; it is
//!   negative when the healer detected before users saw an outage, and `detected_before_outage`
//!   is then set.
//! - **Action**: the first `ActionStarted` after the detection. **TTA** (act) = action − detection.
//! - **Platform call** = that action's `ActionFinished` (same target, incident and action) − the
//!   action. **Finished → recovered** (start → first good answer) = recovered − that
//!   `ActionFinished`. When all four exist, TTD + TTA + platform call + finished → recovered =
//!   MTTR. **Container start → recovered** = recovered − the first `Docker { action: "start" }` of
//!   the outage's target between the action and the recovery, when there is one.
//! - **Fault → outage** = outage start − first fault; **action → recovered** = recovered − action.
//! - **Downtime**: the time covered by failing probe spans: per target, from a failed probe's send
//!   time to the answer of the target's next ok probe; a span still open at the trial's end runs
//!   to the send time of the target's last probe. Spans of different targets are merged, so
//!   overlapping failures count once.
//! - **Heals**: verified remediations (`Verified { ok: true }`); **actions**: `ActionFinished`
//!   records; **unverified**: failed verifications plus incidents that started an action but
//!   recorded no verification (see `remediation`). In a trial with an outage, each unverified
//!   remediation is explained in `failure_reason` when the outage never recovered, else in `notes`:
//!   it does not by itself make a trial fail.
//! - **False positives**, **agent calls**, **refused** and **API errors**: see `scoring`.
//! - A trial without an outage, or whose outage recovered, is successful unless it was interrupted
//!   (`TrialEnded { interrupted: true }`, or no `TrialEnded` at all: the run was cut off).

mod probes;
mod remediation;
mod scoring;

pub(crate) use remediation::verification_outcome;

use std::collections::HashMap;

use journal::{Event, Record};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What started a trial's outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutageCause {
    /// The independent prober saw a failed request.
    ProbeFailed,
    /// Docker reported the target's container died.
    ContainerDied,
}

/// The figures of one trial. Times are milliseconds: `*_at_ms` on the journal's clock, the others
/// durations between two of those instants. `None` means the figure does not exist for this trial
/// (no outage, no detection, never recovered…), never zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TrialOutcome {
    /// The trial number (1-based).
    #[schemars(range(min = 1))]
    pub trial: u32,
    /// Outage recovered (or none at all) and the trial was not interrupted.
    pub success: bool,
    /// Why the trial failed, when it did.
    pub failure_reason: Option<String>,
    /// What a successful trial's figures do not say: each unverified remediation of a trial whose
    /// outage recovered.
    #[serde(default)]
    pub notes: Vec<String>,
    /// The trial was interrupted or cut off.
    pub interrupted: bool,
    /// Users saw an outage (a failed probe or a container death).
    pub outage: bool,
    /// The target the outage concerned.
    pub outage_target: Option<String>,
    /// What started the outage.
    pub outage_cause: Option<OutageCause>,
    /// The trial's first fault injection, on the journal's clock.
    pub fault_at_ms: Option<f64>,
    /// The outage's start: the send time of the first failed probe or a container's death,
    /// whichever came first.
    pub outage_start_ms: Option<f64>,
    /// The healer's first detection after the fault.
    pub detected_at_ms: Option<f64>,
    /// The healer's first action after that detection.
    pub action_started_at_ms: Option<f64>,
    /// That action's `ActionFinished`.
    #[serde(default)]
    pub action_finished_at_ms: Option<f64>,
    /// The outage target's first container start between the action and the recovery.
    #[serde(default)]
    pub container_started_at_ms: Option<f64>,
    /// The earliest answer among the first run of K ok probes (in send order) after the outage
    /// start.
    pub recovered_at_ms: Option<f64>,
    /// When the K-th probe of that run answered.
    #[serde(default)]
    pub confirmed_at_ms: Option<f64>,
    /// Outage start − fault.
    pub fault_to_outage_ms: Option<f64>,
    /// When the alerting pipeline says its first alert after the fault started firing
    /// (Alertmanager's `startsAt`, on the journal's clock). `None` without an alerting pipeline.
    #[serde(default)]
    pub alert_firing_at_ms: Option<f64>,
    /// When that alert's webhook reached the healer.
    #[serde(default)]
    pub alert_received_at_ms: Option<f64>,
    /// Alert firing − fault: what the rule (scrape interval, `for:`) costs.
    #[serde(default)]
    pub fault_to_firing_ms: Option<f64>,
    /// Webhook received − alert firing: what Alertmanager's routing (group_wait) costs.
    #[serde(default)]
    pub firing_to_webhook_ms: Option<f64>,
    /// Action − webhook received.
    #[serde(default)]
    pub webhook_to_action_ms: Option<f64>,
    /// Detect: detection − outage start; negative when the healer was first.
    pub ttd_ms: Option<f64>,
    /// `ttd_ms` is negative: the healer detected before users saw the outage.
    pub detected_before_outage: bool,
    /// Act: action − detection.
    pub tta_ms: Option<f64>,
    /// Platform call: action finished − action started.
    #[serde(default)]
    pub platform_call_ms: Option<f64>,
    /// Start → first good answer: recovered − action finished.
    #[serde(default)]
    pub finished_to_recovered_ms: Option<f64>,
    /// Recovered − container started.
    #[serde(default)]
    pub container_start_to_recovered_ms: Option<f64>,
    /// Confirmed − recovered: what the K−1 further good probes cost.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub confirmation_ms: Option<f64>,
    /// Recovered − action.
    pub action_to_recovered_ms: Option<f64>,
    /// MTTR: recovered − outage start.
    #[schemars(range(min = 0))]
    pub mttr_ms: Option<f64>,
    /// Total time covered by failing probe spans.
    #[schemars(range(min = 0))]
    pub downtime_ms: f64,
    /// Successful load requests (from the trial's `Load` events).
    pub requests_ok: u64,
    /// Failed load requests.
    pub requests_failed: u64,
    /// `requests_failed / (requests_ok + requests_failed)`; `None` without any request.
    #[schemars(range(min = 0, max = 1))]
    pub error_rate: Option<f64>,
    /// Docker `oom` events.
    pub oom_kills: u32,
    /// Remediation steps finished (`ActionFinished`).
    pub actions: u32,
    /// Verified heals (`Verified { ok: true }`).
    pub heals: u32,
    /// Remediations whose verification failed, or that recorded none before the trial ended.
    #[serde(default)]
    pub unverified: u32,
    /// Incidents escalated to a human.
    pub escalations: u32,
    /// Actions on a target that had shown nothing wrong: no fault injected into it, no failed
    /// probe, no death (see `scoring`).
    #[serde(default)]
    pub false_positives: u32,
    /// Calls to the Agent API (an external strategy's agent).
    #[serde(default)]
    pub agent_calls: u32,
    /// Agent API calls refused (403): they named a container outside the run.
    #[serde(default)]
    pub refused_calls: u32,
    /// Agent API calls answered with any other error (400 or more).
    #[serde(default)]
    pub api_errors: u32,
    /// The 99th percentile latency of the trial's load, in ms, from its `load` record: what
    /// users felt of a fault that slows rather than fails. `None` without load results.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub load_p99_ms: Option<f64>,
}

/// The outcome of every trial in `records`, in trial order. `healthy_after` is K, the number of
/// consecutive ok probes that ends an outage (0 is treated as 1).
pub fn trial_outcomes(records: &[Record], healthy_after: u32) -> Vec<TrialOutcome> {
    let mut trials: Vec<u32> = records.iter().filter_map(|r| r.trial).collect();
    trials.sort_unstable();
    trials.dedup();
    trials
        .into_iter()
        .map(|trial| {
            let own = trial_records(records, trial);
            outcome(trial, until_ended(&own), healthy_after.max(1))
        })
        .collect()
}

/// The records of `trial` in time order; records with the same time keep their journal order.
pub(crate) fn trial_records(records: &[Record], trial: u32) -> Vec<&Record> {
    let mut own: Vec<&Record> = records.iter().filter(|r| r.trial == Some(trial)).collect();
    own.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
    own
}

/// The trial's records (in time order) up to its `TrialEnded`: what follows (its containers
/// being removed, with their `die` events) is teardown, not an outage.
fn until_ended<'r, 'a>(own: &'r [&'a Record]) -> &'r [&'a Record] {
    own.iter()
        .position(|r| matches!(r.event, Event::TrialEnded { .. }))
        .map_or(own, |end| &own[..=end])
}

/// The failing probe spans of a trial's records (in time order), in journal milliseconds, as its
/// downtime counts them: per live target, from a failed probe's send to the first good answer
/// after it. Spans of different targets may overlap.
pub(crate) fn down_spans(own: &[&Record]) -> Vec<(f64, f64)> {
    let own = until_ended(own);
    probes::down_spans(&probes::live_probes(own, &ready_ms(&ready_at(own))))
}

/// A moment of the trial: the record's index in the sorted trial and its time.
#[derive(Clone, Copy)]
struct At {
    index: usize,
    t_ms: f64,
}

fn outcome(trial: u32, records: &[&Record], healthy_after: u32) -> TrialOutcome {
    let ready = ready_at(records);
    let probes = probes::live_probes(records, &ready_ms(&ready));
    let outage = outage_start(records, &ready, &probes);
    let recovery = outage
        .as_ref()
        .and_then(|(start, target, _)| probes::recovery(&probes, target, *start, healthy_after));

    let fault = first_after(records, None, |e| matches!(e, Event::FaultInjected { .. }));
    let alert = first_after(records, fault, |e| {
        matches!(e, Event::Alert { firing: true, .. })
    });
    let webhook_ms = alert.map(|a| a.t_ms);
    // The pipeline's own firing time (`startsAt`), placed on the journal's clock through the
    // record's wall-clock time.
    let firing_ms = alert.and_then(|a| match records[a.index].event {
        Event::Alert {
            starts_at_unix_ms: Some(starts),
            ..
        } => Some(a.t_ms - (records[a.index].unix_ms as f64 - starts as f64)),
        _ => None,
    });
    let detected = first_after(records, fault, |e| matches!(e, Event::Detected { .. }));
    let action = detected.and_then(|d| {
        first_after(records, Some(d), |e| {
            matches!(e, Event::ActionStarted { .. })
        })
    });
    let finished = action.and_then(|a| finished_of(records, a));

    let outage_start = outage.as_ref().map(|(start, _, _)| *start);
    let recovered_at = recovery.map(|r| r.recovered_ms);
    let container_started = match (action, &outage, recovered_at) {
        (Some(a), Some((_, target, _)), Some(recovered)) => {
            container_start(records, a, target, recovered)
        }
        _ => None,
    };
    let diff = |to: Option<f64>, from: Option<f64>| Some(to? - from?);
    let ttd_ms = diff(detected.map(|d| d.t_ms), outage_start);

    let counts = Counts::of(records);
    let scoring = scoring::scoring(records, &probes, &ready);
    let verification = remediation::verification(records);
    let (interrupted, end_ms) = trial_end(records);
    let mut reasons = Vec::new();
    let mut notes = Vec::new();
    if let Some(start) = outage_start {
        if recovered_at.is_none() {
            reasons.push(format!(
                "never recovered within the trial ({:.1} s after outage start)",
                (end_ms - start) / 1000.0
            ));
            reasons.extend(verification.notes);
        } else {
            notes = verification.notes;
        }
    }
    match interrupted {
        Interrupted::No => {}
        Interrupted::Yes => reasons.push("trial interrupted".to_owned()),
        Interrupted::CutOff => {
            reasons.push("trial has no trial_ended record (the run was cut off)".to_owned())
        }
    }

    TrialOutcome {
        trial,
        success: reasons.is_empty(),
        failure_reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
        notes,
        interrupted: interrupted != Interrupted::No,
        outage: outage.is_some(),
        outage_target: outage.as_ref().map(|(_, target, _)| (*target).to_owned()),
        outage_cause: outage.as_ref().map(|(_, _, cause)| *cause),
        fault_at_ms: fault.map(|f| f.t_ms),
        outage_start_ms: outage_start,
        detected_at_ms: detected.map(|d| d.t_ms),
        action_started_at_ms: action.map(|a| a.t_ms),
        action_finished_at_ms: finished,
        container_started_at_ms: container_started,
        recovered_at_ms: recovered_at,
        confirmed_at_ms: recovery.map(|r| r.confirmed_ms),
        fault_to_outage_ms: diff(outage_start, fault.map(|f| f.t_ms)),
        alert_firing_at_ms: firing_ms,
        alert_received_at_ms: webhook_ms,
        fault_to_firing_ms: diff(firing_ms, fault.map(|f| f.t_ms)),
        firing_to_webhook_ms: diff(webhook_ms, firing_ms),
        webhook_to_action_ms: diff(action.map(|a| a.t_ms), webhook_ms),
        ttd_ms,
        detected_before_outage: ttd_ms.is_some_and(|ttd| ttd < 0.0),
        tta_ms: diff(action.map(|a| a.t_ms), detected.map(|d| d.t_ms)),
        platform_call_ms: diff(finished, action.map(|a| a.t_ms)),
        finished_to_recovered_ms: diff(recovered_at, finished),
        container_start_to_recovered_ms: diff(recovered_at, container_started),
        confirmation_ms: recovery.map(|r| r.confirmed_ms - r.recovered_ms),
        action_to_recovered_ms: diff(recovered_at, action.map(|a| a.t_ms)),
        mttr_ms: diff(recovered_at, outage_start),
        downtime_ms: probes::merged_length(probes::down_spans(&probes)),
        requests_ok: counts.requests_ok,
        requests_failed: counts.requests_failed,
        error_rate: rate(counts.requests_failed, counts.requests_ok),
        oom_kills: counts.oom_kills,
        actions: counts.actions,
        heals: verification.heals,
        unverified: verification.unverified,
        escalations: counts.escalations,
        false_positives: scoring.false_positives,
        agent_calls: scoring.agent_calls,
        refused_calls: scoring.refused_calls,
        api_errors: scoring.api_errors,
        load_p99_ms: counts.load_p99_ms,
    }
}

/// Each target's first `TargetReady`.
fn ready_at<'a>(records: &[&'a Record]) -> HashMap<&'a str, At> {
    let mut ready = HashMap::new();
    for (index, r) in records.iter().enumerate() {
        if let Event::TargetReady { target } = &r.event {
            ready.entry(target.as_str()).or_insert(At {
                index,
                t_ms: r.t_ms,
            });
        }
    }
    ready
}

/// Each target's first `TargetReady` time.
fn ready_ms<'a>(ready: &HashMap<&'a str, At>) -> HashMap<&'a str, f64> {
    ready.iter().map(|(&t, at)| (t, at.t_ms)).collect()
}

/// The outage's start, target and cause: the earliest failed probe (by send time) or death of a
/// live target; a death wins a tie.
fn outage_start<'a>(
    records: &[&'a Record],
    ready: &HashMap<&str, At>,
    probes: &[probes::Probe<'a>],
) -> Option<(f64, &'a str, OutageCause)> {
    let failed = probes
        .iter()
        .find(|p| !p.ok)
        .map(|p| (p.sent_ms, p.target, OutageCause::ProbeFailed));
    let died = records
        .iter()
        .enumerate()
        .find_map(|(i, r)| match &r.event {
            Event::Docker { target, action, .. }
                if action == "die" && ready.get(target.as_str()).is_some_and(|at| i > at.index) =>
            {
                Some((r.t_ms, target.as_str(), OutageCause::ContainerDied))
            }
            _ => None,
        });
    match (failed, died) {
        (Some(f), Some(d)) => Some(if f.0 < d.0 { f } else { d }),
        (f, d) => f.or(d),
    }
}

/// The first record after `after` (or from the start) whose event matches.
fn first_after(
    records: &[&Record],
    after: Option<At>,
    wanted: impl Fn(&Event) -> bool,
) -> Option<At> {
    let from = after.map_or(0, |a| a.index + 1);
    records
        .iter()
        .enumerate()
        .skip(from)
        .find(|(_, r)| wanted(&r.event))
        .map(|(index, r)| At {
            index,
            t_ms: r.t_ms,
        })
}

/// When the `ActionStarted` at `started` finished: the first later `ActionFinished` of the same
/// target, incident and action.
fn finished_of(records: &[&Record], started: At) -> Option<f64> {
    let Event::ActionStarted {
        target,
        incident,
        action,
        ..
    } = &records[started.index].event
    else {
        return None;
    };
    first_after(records, Some(started), |e| {
        matches!(e, Event::ActionFinished { target: t, incident: i, action: a, .. }
            if t == target && i == incident && a == action)
    })
    .map(|f| f.t_ms)
}

/// The first `Docker { action: "start" }` of `target` after `action` and at or before `until`.
fn container_start(records: &[&Record], action: At, target: &str, until: f64) -> Option<f64> {
    records
        .iter()
        .skip(action.index + 1)
        .take_while(|r| r.t_ms <= until)
        .find(|r| {
            matches!(&r.event, Event::Docker { target: t, action, .. }
                if t == target && action == "start")
        })
        .map(|r| r.t_ms)
}

/// `failed / (ok + failed)`, `None` without any request.
pub(crate) fn rate(failed: u64, ok: u64) -> Option<f64> {
    let total = ok.saturating_add(failed);
    (total > 0).then(|| failed as f64 / total as f64)
}

#[derive(Default)]
struct Counts {
    requests_ok: u64,
    requests_failed: u64,
    oom_kills: u32,
    actions: u32,
    escalations: u32,
    load_p99_ms: Option<f64>,
}

impl Counts {
    fn of(records: &[&Record]) -> Counts {
        let mut c = Counts::default();
        // The kernel may report several `oom` events for one kill (one per cgroup OOM event):
        // an OOM kill is a container's death after an `oom`, or an `oom` the trial ended on.
        let mut oom_pending: Vec<&str> = Vec::new();
        for r in records {
            match &r.event {
                Event::Load {
                    requests_ok,
                    requests_failed,
                    p99_ms,
                    ..
                } => {
                    c.requests_ok = c.requests_ok.saturating_add(*requests_ok);
                    c.requests_failed = c.requests_failed.saturating_add(*requests_failed);
                    c.load_p99_ms = Some(c.load_p99_ms.map_or(*p99_ms, |p| p.max(*p99_ms)));
                }
                Event::Docker { action, target, .. } => match action.as_str() {
                    "oom" if !oom_pending.contains(&target.as_str()) => oom_pending.push(target),
                    "die" => {
                        let pending = oom_pending.len();
                        oom_pending.retain(|t| *t != target.as_str());
                        c.oom_kills += (pending - oom_pending.len()) as u32;
                    }
                    _ => {}
                },
                Event::ActionFinished { .. } => c.actions += 1,
                Event::Escalated { .. } => c.escalations += 1,
                _ => {}
            }
        }
        c.oom_kills += oom_pending.len() as u32;
        c
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Interrupted {
    No,
    Yes,
    CutOff,
}

/// Whether the trial was interrupted, and when it ended (its `TrialEnded`, else its last record).
fn trial_end(records: &[&Record]) -> (Interrupted, f64) {
    let last = records.last().map_or(0.0, |r| r.t_ms);
    records
        .iter()
        .find_map(|r| match r.event {
            Event::TrialEnded { interrupted } => Some((
                if interrupted {
                    Interrupted::Yes
                } else {
                    Interrupted::No
                },
                r.t_ms,
            )),
            _ => None,
        })
        .unwrap_or((Interrupted::CutOff, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_needs_requests() {
        assert_eq!(rate(0, 0), None);
        assert_eq!(rate(1, 3), Some(0.25));
    }
}
