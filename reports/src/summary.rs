//! A run's summary: every trial's outcome, run-wide aggregates and the expectation verdicts.

use journal::{Event, Record};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::expect::{Expectations, Verdict};
use crate::outcome::{rate, trial_outcomes, TrialOutcome};

/// Run-wide figures. Each p50 is over the trials that have the figure, so the p50s of the MTTR
/// breakdown's phases need not add up to the MTTR p50. Percentiles use the nearest-rank method on the sorted values: the p-th
/// percentile of n values is the value of rank ⌈p/100 × n⌉ (1-based), so it is always one of the
/// measured values. `None` when no trial has the figure.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Aggregate {
    /// Trials in the journal.
    pub trials: u32,
    /// Successful trials.
    pub successful_trials: u32,
    /// `successful_trials / trials`; `None` without trials.
    #[schemars(range(min = 0, max = 1))]
    pub success_rate: Option<f64>,
    /// Trials in which users saw an outage.
    pub trials_with_outage: u32,
    /// Trials whose outage recovered.
    pub recovered_trials: u32,
    /// Median MTTR over the trials whose outage recovered.
    #[schemars(range(min = 0))]
    pub mttr_p50_ms: Option<f64>,
    /// 95th percentile MTTR over the trials whose outage recovered.
    #[schemars(range(min = 0))]
    pub mttr_p95_ms: Option<f64>,
    /// Longest MTTR over the trials whose outage recovered.
    #[schemars(range(min = 0))]
    pub mttr_max_ms: Option<f64>,
    /// Median time to detect (negative: the healer usually detected before users saw an outage).
    pub ttd_p50_ms: Option<f64>,
    /// Median time from detection to the first action.
    pub tta_p50_ms: Option<f64>,
    /// Median platform call: the first action's start to its `ActionFinished`.
    #[serde(default)]
    pub platform_call_p50_ms: Option<f64>,
    /// Median start → first good answer: that `ActionFinished` to the recovery.
    #[serde(default)]
    pub finished_to_recovered_p50_ms: Option<f64>,
    /// Median container start → recovery, over the trials with a container start.
    #[serde(default)]
    pub container_start_to_recovered_p50_ms: Option<f64>,
    /// Median confirmation: the recovery to the answer of its K-th good probe.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub confirmation_p50_ms: Option<f64>,
    /// Total downtime over all trials.
    #[schemars(range(min = 0))]
    pub downtime_ms: f64,
    /// Successful load requests over all trials.
    pub requests_ok: u64,
    /// Failed load requests over all trials.
    pub requests_failed: u64,
    /// `requests_failed / (requests_ok + requests_failed)`; `None` without any request.
    #[schemars(range(min = 0, max = 1))]
    pub error_rate: Option<f64>,
    /// Docker `oom` events over all trials.
    pub oom_kills: u32,
    /// Remediation steps finished.
    pub actions: u32,
    /// Verified heals (`Verified { ok: true }`).
    pub heals: u32,
    /// Remediations whose verification failed or was never recorded.
    #[serde(default)]
    pub unverified: u32,
    /// Incidents escalated to a human.
    pub escalations: u32,
    /// Actions on targets that had shown nothing wrong.
    #[serde(default)]
    pub false_positives: u32,
    /// Agent API calls.
    #[serde(default)]
    pub agent_calls: u32,
    /// Agent API calls refused (403: a container outside the run).
    #[serde(default)]
    pub refused_calls: u32,
    /// Agent API calls answered with any other error.
    #[serde(default)]
    pub api_errors: u32,
}

/// Everything a report needs about one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// K, the consecutive ok probes that end an outage.
    pub healthy_after: u32,
    /// The run was interrupted: a `RunEnded { interrupted: true }`, or an interrupted trial.
    pub interrupted: bool,
    pub aggregate: Aggregate,
    pub trials: Vec<TrialOutcome>,
    /// The expectations the verdicts were computed against.
    pub expect: Expectations,
    pub verdicts: Vec<Verdict>,
}

impl RunSummary {
    /// The run was not interrupted and every expectation passed.
    pub fn passed(&self) -> bool {
        !self.interrupted && self.verdicts.iter().all(|v| v.passed)
    }
}

/// Summarizes the run recorded in `records`: each trial's outcome, the aggregates and a verdict
/// for each expectation that is set. Under `healed: false` (a control scenario) every action of
/// a trial is one of its false positives. A missing `RunEnded` alone does not make the run interrupted,
/// so a runner may summarize before recording it.
pub fn summarize(records: &[Record], healthy_after: u32, expect: &Expectations) -> RunSummary {
    let mut trials = trial_outcomes(records, healthy_after);
    if expect.healed == Some(false) {
        // A control scenario: nothing there needs healing, so every action is a false positive,
        // even one on a target a (benign) fault was injected into.
        for trial in &mut trials {
            trial.false_positives = trial.false_positives.max(trial.actions);
        }
    }
    let interrupted = trials.iter().any(|t| t.interrupted)
        || records
            .iter()
            .any(|r| matches!(r.event, Event::RunEnded { interrupted: true }));
    let aggregate = aggregate(&trials);
    let verdicts = expect.evaluate(&trials, &aggregate, interrupted);
    RunSummary {
        healthy_after,
        interrupted,
        aggregate,
        trials,
        expect: expect.clone(),
        verdicts,
    }
}

fn aggregate(trials: &[TrialOutcome]) -> Aggregate {
    let count = |f: fn(&TrialOutcome) -> bool| trials.iter().filter(|t| f(t)).count() as u32;
    let sum = |f: fn(&TrialOutcome) -> u32| trials.iter().map(f).sum::<u32>();
    let values = |f: fn(&TrialOutcome) -> Option<f64>| trials.iter().filter_map(f).collect();
    let mttr: Vec<f64> = values(|t| t.mttr_ms);
    let requests_ok = trials
        .iter()
        .map(|t| t.requests_ok)
        .fold(0, u64::saturating_add);
    let requests_failed = trials
        .iter()
        .map(|t| t.requests_failed)
        .fold(0, u64::saturating_add);
    let successful_trials = count(|t| t.success);
    Aggregate {
        trials: trials.len() as u32,
        successful_trials,
        success_rate: (!trials.is_empty())
            .then(|| f64::from(successful_trials) / trials.len() as f64),
        trials_with_outage: count(|t| t.outage),
        recovered_trials: count(|t| t.recovered_at_ms.is_some()),
        mttr_p50_ms: percentile(mttr.clone(), 50.0),
        mttr_p95_ms: percentile(mttr.clone(), 95.0),
        mttr_max_ms: percentile(mttr, 100.0),
        ttd_p50_ms: percentile(values(|t| t.ttd_ms), 50.0),
        tta_p50_ms: percentile(values(|t| t.tta_ms), 50.0),
        platform_call_p50_ms: percentile(values(|t| t.platform_call_ms), 50.0),
        finished_to_recovered_p50_ms: percentile(values(|t| t.finished_to_recovered_ms), 50.0),
        container_start_to_recovered_p50_ms: percentile(
            values(|t| t.container_start_to_recovered_ms),
            50.0,
        ),
        confirmation_p50_ms: percentile(values(|t| t.confirmation_ms), 50.0),
        downtime_ms: trials.iter().map(|t| t.downtime_ms).sum(),
        requests_ok,
        requests_failed,
        error_rate: rate(requests_failed, requests_ok),
        oom_kills: sum(|t| t.oom_kills),
        actions: sum(|t| t.actions),
        heals: sum(|t| t.heals),
        unverified: sum(|t| t.unverified),
        escalations: sum(|t| t.escalations),
        false_positives: sum(|t| t.false_positives),
        agent_calls: sum(|t| t.agent_calls),
        refused_calls: sum(|t| t.refused_calls),
        api_errors: sum(|t| t.api_errors),
    }
}

/// Nearest-rank percentile: the value of rank ⌈p/100 × n⌉ (at least 1) in the sorted values.
pub fn percentile(mut values: Vec<f64>, p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = (p / 100.0 * values.len() as f64).ceil() as usize;
    values.get(rank.clamp(1, values.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank() {
        let v = vec![4.0, 1.0, 3.0, 2.0];
        assert_eq!(percentile(v.clone(), 50.0), Some(2.0));
        assert_eq!(percentile(v.clone(), 95.0), Some(4.0));
        assert_eq!(percentile(v.clone(), 100.0), Some(4.0));
        assert_eq!(percentile(v, 0.0), Some(1.0));
        assert_eq!(percentile(vec![7.0], 50.0), Some(7.0));
        assert_eq!(percentile(Vec::new(), 50.0), None);
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(twenty, 95.0), Some(19.0));
    }
}
