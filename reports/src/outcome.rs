//! One trial's figures (outage, detect → act → recovered, downtime, errors), replayed from its records.
//!
//! Definitions, all computed from the trial's records (`trial == Some(n)`), ordered by `t_ms`:
//!
//! - A target is *live* after its first `TargetReady`; probes and Docker events of a target that
//!   is not live yet are ignored for the outage and the downtime.
//! - **Outage start**: the earliest failed probe (`Probe { ok: false }`) or `Docker { action: "die" }`
//!   of any live target. That target is the outage's target.
//! - **Recovered**: the first run of K consecutive ok probes of the outage's target after the
//!   outage start (K = `healthy_after`, at least 1). The recovery instant is the time of the
//!   FIRST probe of that run, so it is not inflated by K probe intervals; the K−1 probes after it
//!   only confirm it.
//! - **MTTR** = recovered − outage start.
//! - **Detection**: the first `Detected` after the trial's first `FaultInjected` (or the first of
//!   the trial when no fault was injected). **TTD** = detection − outage start; it is negative when
//!   the healer detected before users saw an outage, and `detected_before_outage` is then set.
//! - **Action**: the first `ActionStarted` after the detection. **TTA** = action − detection.
//! - **Fault → outage** = outage start − first fault; **action → recovered** = recovered − action.
//! - **Downtime**: the time covered by failing probe spans. A span runs from the first failed probe
//!   to the target's next ok probe; a span still open at the trial's end runs to the target's last
//!   probe. Spans of different targets are merged, so overlapping failures count once.
//! - A trial without an outage, or whose outage recovered, is successful unless it was interrupted
//!   (`TrialEnded { interrupted: true }`, or no `TrialEnded` at all: the run was cut off).

use std::collections::{BTreeMap, HashMap};

use journal::{Event, Record};
use serde::{Deserialize, Serialize};

/// What started a trial's outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrialOutcome {
    /// The trial number (1-based).
    pub trial: u32,
    /// Outage recovered (or none at all) and the trial was not interrupted.
    pub success: bool,
    /// Why the trial failed, when it did.
    pub failure_reason: Option<String>,
    /// The trial was interrupted or cut off.
    pub interrupted: bool,
    /// Users saw an outage (a failed probe or a container death).
    pub outage: bool,
    /// The target the outage concerned.
    pub outage_target: Option<String>,
    /// What started the outage.
    pub outage_cause: Option<OutageCause>,
    /// The trial's first fault injection.
    pub fault_at_ms: Option<f64>,
    /// The outage's start.
    pub outage_start_ms: Option<f64>,
    /// The healer's first detection after the fault.
    pub detected_at_ms: Option<f64>,
    /// The healer's first action after that detection.
    pub action_started_at_ms: Option<f64>,
    /// The first probe of the first run of K ok probes after the outage start.
    pub recovered_at_ms: Option<f64>,
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
    /// Detection − outage start; negative when the healer was first.
    pub ttd_ms: Option<f64>,
    /// `ttd_ms` is negative: the healer detected before users saw the outage.
    pub detected_before_outage: bool,
    /// Action − detection.
    pub tta_ms: Option<f64>,
    /// Recovered − action.
    pub action_to_recovered_ms: Option<f64>,
    /// Recovered − outage start.
    pub mttr_ms: Option<f64>,
    /// Total time covered by failing probe spans.
    pub downtime_ms: f64,
    /// Successful load requests (from the trial's `Load` events).
    pub requests_ok: u64,
    /// Failed load requests.
    pub requests_failed: u64,
    /// `requests_failed / (requests_ok + requests_failed)`; `None` without any request.
    pub error_rate: Option<f64>,
    /// Docker `oom` events.
    pub oom_kills: u32,
    /// Remediation steps finished (`ActionFinished`).
    pub actions: u32,
    /// Remediation steps finished successfully.
    pub heals: u32,
    /// Incidents escalated to a human.
    pub escalations: u32,
    /// The 99th percentile latency of the trial's load, in ms, from its `load` record: what
    /// users felt of a fault that slows rather than fails. `None` without load results.
    #[serde(default)]
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
            let mut own: Vec<&Record> = records.iter().filter(|r| r.trial == Some(trial)).collect();
            // Stable: records with the same time keep their journal order.
            own.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
            // The trial ends at its `TrialEnded`: what follows (its containers being removed,
            // with their `die` events) is teardown, not an outage.
            if let Some(end) = own
                .iter()
                .position(|r| matches!(r.event, Event::TrialEnded { .. }))
            {
                own.truncate(end + 1);
            }
            outcome(trial, &own, healthy_after.max(1))
        })
        .collect()
}

/// A moment of the trial: the record's index in the sorted trial and its time.
#[derive(Clone, Copy)]
struct At {
    index: usize,
    t_ms: f64,
}

fn outcome(trial: u32, records: &[&Record], healthy_after: u32) -> TrialOutcome {
    let ready = ready_indices(records);
    let live = |index: usize, target: &str| ready.get(target).is_some_and(|&r| index > r);
    let at = |index: usize| At {
        index,
        t_ms: records[index].t_ms,
    };

    let outage = records
        .iter()
        .enumerate()
        .find_map(|(i, r)| match &r.event {
            Event::Probe {
                target, ok: false, ..
            } if live(i, target) => Some((at(i), target.clone(), OutageCause::ProbeFailed)),
            Event::Docker { target, action, .. } if action == "die" && live(i, target) => {
                Some((at(i), target.clone(), OutageCause::ContainerDied))
            }
            _ => None,
        });
    let recovered = outage
        .as_ref()
        .and_then(|(start, target, _)| recovery(records, *start, target, healthy_after));

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

    let outage_start = outage.as_ref().map(|(start, _, _)| start.t_ms);
    let recovered_at = recovered.map(|r| r.t_ms);
    let diff = |to: Option<f64>, from: Option<f64>| Some(to? - from?);
    let ttd_ms = diff(detected.map(|d| d.t_ms), outage_start);

    let counts = Counts::of(records);
    let (interrupted, end_ms) = trial_end(records);
    let mut reasons = Vec::new();
    if let (Some(start), None) = (outage_start, recovered_at) {
        reasons.push(format!(
            "never recovered within the trial ({:.1} s after outage start)",
            (end_ms - start) / 1000.0
        ));
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
        interrupted: interrupted != Interrupted::No,
        outage: outage.is_some(),
        outage_target: outage.as_ref().map(|(_, target, _)| target.clone()),
        outage_cause: outage.as_ref().map(|(_, _, cause)| *cause),
        fault_at_ms: fault.map(|f| f.t_ms),
        outage_start_ms: outage_start,
        detected_at_ms: detected.map(|d| d.t_ms),
        action_started_at_ms: action.map(|a| a.t_ms),
        recovered_at_ms: recovered_at,
        fault_to_outage_ms: diff(outage_start, fault.map(|f| f.t_ms)),
        alert_firing_at_ms: firing_ms,
        alert_received_at_ms: webhook_ms,
        fault_to_firing_ms: diff(firing_ms, fault.map(|f| f.t_ms)),
        firing_to_webhook_ms: diff(webhook_ms, firing_ms),
        webhook_to_action_ms: diff(action.map(|a| a.t_ms), webhook_ms),
        ttd_ms,
        detected_before_outage: ttd_ms.is_some_and(|ttd| ttd < 0.0),
        tta_ms: diff(action.map(|a| a.t_ms), detected.map(|d| d.t_ms)),
        action_to_recovered_ms: diff(recovered_at, action.map(|a| a.t_ms)),
        mttr_ms: diff(recovered_at, outage_start),
        downtime_ms: downtime_ms(records, &live),
        requests_ok: counts.requests_ok,
        requests_failed: counts.requests_failed,
        error_rate: rate(counts.requests_failed, counts.requests_ok),
        oom_kills: counts.oom_kills,
        actions: counts.actions,
        heals: counts.heals,
        escalations: counts.escalations,
        load_p99_ms: counts.load_p99_ms,
    }
}

/// Index of each target's first `TargetReady`.
fn ready_indices<'a>(records: &[&'a Record]) -> HashMap<&'a str, usize> {
    let mut ready = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if let Event::TargetReady { target } = &r.event {
            ready.entry(target.as_str()).or_insert(i);
        }
    }
    ready
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

/// The first probe of the first run of `k` consecutive ok probes of `target` after `start`.
fn recovery(records: &[&Record], start: At, target: &str, k: u32) -> Option<At> {
    let mut run: Option<(At, u32)> = None;
    for (index, r) in records.iter().enumerate().skip(start.index + 1) {
        let Event::Probe { target: t, ok, .. } = &r.event else {
            continue;
        };
        if t != target {
            continue;
        }
        if !ok {
            run = None;
            continue;
        }
        let (first, count) = run.unwrap_or((
            At {
                index,
                t_ms: r.t_ms,
            },
            0,
        ));
        if count + 1 >= k {
            return Some(first);
        }
        run = Some((first, count + 1));
    }
    None
}

/// Time covered by failing probe spans of live targets, overlapping spans merged.
fn downtime_ms(records: &[&Record], live: &impl Fn(usize, &str) -> bool) -> f64 {
    let mut probes: BTreeMap<&str, Vec<(f64, bool)>> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        if let Event::Probe { target, ok, .. } = &r.event {
            if live(i, target) {
                probes.entry(target).or_default().push((r.t_ms, *ok));
            }
        }
    }
    let mut spans = Vec::new();
    for series in probes.values() {
        let mut open: Option<f64> = None;
        for &(t, ok) in series {
            match (open, ok) {
                (None, false) => open = Some(t),
                (Some(from), true) => {
                    spans.push((from, t));
                    open = None;
                }
                _ => {}
            }
        }
        if let (Some(from), Some(&(last, _))) = (open, series.last()) {
            spans.push((from, last));
        }
    }
    merged_length(spans)
}

/// Total length of the union of `spans`.
fn merged_length(mut spans: Vec<(f64, f64)>) -> f64 {
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    let mut current: Option<(f64, f64)> = None;
    for (from, to) in spans {
        current = match current {
            Some((f, t)) if from <= t => Some((f, t.max(to))),
            Some((f, t)) => {
                total += t - f;
                Some((from, to))
            }
            None => Some((from, to)),
        };
    }
    total + current.map_or(0.0, |(f, t)| t - f)
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
    heals: u32,
    escalations: u32,
    load_p99_ms: Option<f64>,
}

impl Counts {
    fn of(records: &[&Record]) -> Counts {
        let mut c = Counts::default();
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
                Event::Docker { action, .. } if action == "oom" => c.oom_kills += 1,
                Event::ActionFinished { ok, .. } => {
                    c.actions += 1;
                    c.heals += u32::from(*ok);
                }
                Event::Escalated { .. } => c.escalations += 1,
                _ => {}
            }
        }
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
    fn overlapping_spans_count_once() {
        assert_eq!(
            merged_length(vec![(10.0, 20.0), (0.0, 5.0), (15.0, 30.0), (30.0, 31.0)]),
            26.0
        );
        assert_eq!(merged_length(Vec::new()), 0.0);
    }

    #[test]
    fn rate_needs_requests() {
        assert_eq!(rate(0, 0), None);
        assert_eq!(rate(1, 3), Some(0.25));
    }
}
