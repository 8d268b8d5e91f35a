//! A scenario's expectations, and their verdicts against a run's figures.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fmt::{limit_secs, percent, secs};
use crate::summary::Aggregate;
use crate::TrialOutcome;

/// What a scenario expects of every run. `None` means "not checked".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Expectations {
    /// Every outage must end (recovered, by the K-good-probes rule) within this time of its start,
    /// in milliseconds.
    #[serde(
        default,
        with = "opt_duration_ms",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "f64", range(min = 0))]
    pub recovered_within: Option<Duration>,
    /// Failed requests / all requests over the whole run must stay at or below this fraction (0..=1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub max_error_rate: Option<f64>,
    /// Successful trials / all trials must be at least this fraction (0..=1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub min_success_rate: Option<f64>,
    /// OOM kills over the whole run must stay at or below this (0: heal before the kernel must).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_oom_kills: Option<u32>,
    /// Every trial must escalate exactly this many times (a guardrail that stops a loop and
    /// hands over to a human once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalations: Option<u32>,
    /// `true`: every trial has a verified heal (`Verified { ok: true }`: proof the runbook acted
    /// and its own check saw the target healthy, not that the fault went away by itself). `false`: the healer took no action in any trial (a fault
    /// its runbooks must leave alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healed: Option<bool>,
    /// Every trial's load p99 latency must stay at or below this: for faults that slow users
    /// down rather than fail their requests. In milliseconds.
    #[serde(
        default,
        with = "opt_duration_ms",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "f64", range(min = 0))]
    pub max_p99_latency: Option<Duration>,
}

/// One expectation checked against a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Verdict {
    /// The expectation, e.g. `recovered_within 10s`.
    pub expectation: String,
    /// The run met the expectation.
    pub passed: bool,
    /// The measured value and why it passed or failed.
    pub detail: String,
}

impl Expectations {
    /// A verdict for each expectation that is set, in field order. In an interrupted run every
    /// verdict fails with the detail `run interrupted`: its figures are incomplete.
    ///
    /// - `recovered_within`: every trial with an outage recovered, with an MTTR at or below the
    ///   limit (a never-recovered trial fails it; a run without outages passes it).
    /// - `max_error_rate`: run-wide failed / all requests at or below the limit (no requests fails).
    /// - `min_success_rate`: successful / all trials at or above the limit (no trials fails).
    /// - `max_oom_kills`: run-wide OOM kills at or below the limit.
    /// - `escalations`: every trial escalated exactly this many times (no trials fails).
    /// - `healed`: every trial has at least one verified heal (`true`; the detail names each trial
    ///   without one) or no action at all (`false`); no trials fails.
    /// - `max_p99_latency`: every trial's load p99 at or below the limit (a trial without load
    ///   results fails it).
    pub fn evaluate(
        &self,
        trials: &[TrialOutcome],
        aggregate: &Aggregate,
        interrupted: bool,
    ) -> Vec<Verdict> {
        let mut verdicts = Vec::new();
        if let Some(limit) = self.recovered_within {
            let label = format!("recovered_within {}", limit_secs(limit.as_secs_f64()));
            verdicts.push(recovered_within(label, limit, trials));
        }
        if let Some(limit) = self.max_error_rate {
            verdicts.push(max_error_rate(limit, aggregate));
        }
        if let Some(limit) = self.min_success_rate {
            verdicts.push(min_success_rate(limit, trials, aggregate));
        }
        if let Some(limit) = self.max_oom_kills {
            verdicts.push(Verdict {
                expectation: format!("max_oom_kills {limit}"),
                passed: aggregate.oom_kills <= limit,
                detail: format!(
                    "{} OOM kill(s) over {} trial(s) {} {limit}",
                    aggregate.oom_kills,
                    aggregate.trials,
                    if aggregate.oom_kills <= limit {
                        "<="
                    } else {
                        ">"
                    }
                ),
            });
        }
        if let Some(wanted) = self.escalations {
            verdicts.push(escalations(wanted, trials));
        }
        if let Some(wanted) = self.healed {
            verdicts.push(healed(wanted, trials));
        }
        if let Some(limit) = self.max_p99_latency {
            verdicts.push(max_p99_latency(limit, trials));
        }
        if interrupted {
            for verdict in &mut verdicts {
                verdict.passed = false;
                verdict.detail = "run interrupted".to_owned();
            }
        }
        verdicts
    }
}

fn recovered_within(expectation: String, limit: Duration, trials: &[TrialOutcome]) -> Verdict {
    let limit_ms = limit.as_secs_f64() * 1000.0;
    let limit_text = limit_secs(limit.as_secs_f64());
    let outages: Vec<&TrialOutcome> = trials.iter().filter(|t| t.outage).collect();
    let problems: Vec<String> = outages
        .iter()
        .filter_map(|t| match t.mttr_ms {
            None => Some(format!("trial {} never recovered", t.trial)),
            Some(mttr) if mttr > limit_ms => Some(format!(
                "trial {} MTTR {} > {limit_text}",
                t.trial,
                secs(mttr)
            )),
            Some(_) => None,
        })
        .collect();
    let (passed, detail) = if trials.is_empty() {
        (false, "no trials were recorded".to_owned())
    } else if outages.is_empty() {
        (
            true,
            format!("no outage in {} trial(s): nothing to recover", trials.len()),
        )
    } else if problems.is_empty() {
        let max = outages
            .iter()
            .filter_map(|t| t.mttr_ms)
            .fold(f64::MIN, f64::max);
        (
            true,
            format!(
                "max MTTR {} over {} outage(s) <= {limit_text}",
                secs(max),
                outages.len()
            ),
        )
    } else {
        (false, problems.join("; "))
    };
    Verdict {
        expectation,
        passed,
        detail,
    }
}

fn max_error_rate(limit: f64, aggregate: &Aggregate) -> Verdict {
    let expectation = format!("max_error_rate {}", percent(limit));
    let (passed, detail) = match aggregate.error_rate {
        None => (
            false,
            "no requests were recorded (no load results in the journal)".to_owned(),
        ),
        Some(rate) => {
            let passed = rate <= limit;
            (
                passed,
                format!(
                    "error rate {} ({} failed of {} requests) {} {}",
                    percent(rate),
                    aggregate.requests_failed,
                    aggregate
                        .requests_ok
                        .saturating_add(aggregate.requests_failed),
                    if passed { "<=" } else { ">" },
                    percent(limit)
                ),
            )
        }
    };
    Verdict {
        expectation,
        passed,
        detail,
    }
}

fn escalations(wanted: u32, trials: &[TrialOutcome]) -> Verdict {
    let off: Vec<String> = trials
        .iter()
        .filter(|t| t.escalations != wanted)
        .map(|t| format!("trial {} escalated {} time(s)", t.trial, t.escalations))
        .collect();
    let (passed, detail) = if trials.is_empty() {
        (false, "no trials were recorded".to_owned())
    } else if off.is_empty() {
        (
            true,
            format!("every trial escalated exactly {wanted} time(s)"),
        )
    } else {
        (
            false,
            format!("{}; expected exactly {wanted}", off.join("; ")),
        )
    };
    Verdict {
        expectation: format!("escalations {wanted}"),
        passed,
        detail,
    }
}

fn healed(wanted: bool, trials: &[TrialOutcome]) -> Verdict {
    let off: Vec<String> = trials
        .iter()
        .filter_map(|t| match (wanted, t.heals, t.actions + t.unverified) {
            (true, 0, 0) => Some(format!(
                "trial {}: no verified heal (the healer took no action)",
                t.trial
            )),
            (true, 0, _) => Some(format!(
                "trial {}: no verified heal ({} action(s), {} unverified remediation(s))",
                t.trial, t.actions, t.unverified
            )),
            (false, _, 1..) => Some(format!(
                "trial {}: the healer took {} action(s)",
                t.trial, t.actions
            )),
            _ => None,
        })
        .collect();
    let (passed, detail) = if trials.is_empty() {
        (false, "no trials were recorded".to_owned())
    } else if !off.is_empty() {
        (false, off.join("; "))
    } else if wanted {
        let heals: u32 = trials.iter().map(|t| t.heals).sum();
        (
            true,
            format!("{heals} verified heal(s) over {} trial(s)", trials.len()),
        )
    } else {
        (
            true,
            format!("no action in {} trial(s), as wanted", trials.len()),
        )
    };
    Verdict {
        expectation: format!("healed {wanted}"),
        passed,
        detail,
    }
}

fn max_p99_latency(limit: Duration, trials: &[TrialOutcome]) -> Verdict {
    let limit_ms = limit.as_secs_f64() * 1000.0;
    let limit_text = limit_secs(limit.as_secs_f64());
    let off: Vec<String> = trials
        .iter()
        .filter_map(|t| match t.load_p99_ms {
            None => Some(format!("trial {}: no load results", t.trial)),
            Some(p99) if p99 > limit_ms => Some(format!(
                "trial {} p99 {} > {limit_text}",
                t.trial,
                secs(p99)
            )),
            Some(_) => None,
        })
        .collect();
    let (passed, detail) = if trials.is_empty() {
        (false, "no trials were recorded".to_owned())
    } else if off.is_empty() {
        let max = trials
            .iter()
            .filter_map(|t| t.load_p99_ms)
            .fold(f64::MIN, f64::max);
        (
            true,
            format!(
                "max p99 {} over {} trial(s) <= {limit_text}",
                secs(max),
                trials.len()
            ),
        )
    } else {
        (false, off.join("; "))
    };
    Verdict {
        expectation: format!("max_p99_latency {limit_text}"),
        passed,
        detail,
    }
}

fn min_success_rate(limit: f64, trials: &[TrialOutcome], aggregate: &Aggregate) -> Verdict {
    let expectation = format!("min_success_rate {}", percent(limit));
    let (passed, detail) = match aggregate.success_rate {
        None => (false, "no trials were recorded".to_owned()),
        Some(rate) => {
            let passed = rate >= limit;
            let mut detail = format!(
                "{} of {} trials successful ({}) {} {}",
                aggregate.successful_trials,
                aggregate.trials,
                percent(rate),
                if passed { ">=" } else { "<" },
                percent(limit)
            );
            for t in trials {
                if let Some(reason) = &t.failure_reason {
                    detail.push_str(&format!("; trial {}: {reason}", t.trial));
                }
            }
            (passed, detail)
        }
    };
    Verdict {
        expectation,
        passed,
        detail,
    }
}

mod opt_duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    // A negative, infinite or NaN number of milliseconds is a deserialization error, not a panic.

    pub fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_some(&(d.as_secs_f64() * 1000.0)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(d)?
            .map(|ms| Duration::try_from_secs_f64(ms / 1000.0).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(trial: u32, actions: u32, heals: u32) -> TrialOutcome {
        TrialOutcome {
            trial,
            actions,
            heals,
            unverified: u32::from(actions > 0 && heals == 0),
            ..TrialOutcome::default()
        }
    }

    #[test]
    fn healed_true_wants_a_verified_heal_in_every_trial() {
        let expect = Expectations {
            healed: Some(true),
            ..Expectations::default()
        };
        let verdict = |trials: &[TrialOutcome]| {
            expect
                .evaluate(trials, &Aggregate::default(), false)
                .remove(0)
        };
        let ok = verdict(&[trial(1, 1, 1), trial(2, 2, 1)]);
        assert!(ok.passed, "{ok:?}");
        assert_eq!(ok.expectation, "healed true");
        let missed = verdict(&[trial(1, 1, 1), trial(2, 0, 0), trial(3, 2, 0)]);
        assert!(!missed.passed);
        assert_eq!(
            missed.detail,
            "trial 2: no verified heal (the healer took no action); \
             trial 3: no verified heal (2 action(s), 1 unverified remediation(s))"
        );
        assert!(!verdict(&[]).passed, "no trials proves nothing");
    }

    #[test]
    fn healed_false_wants_no_action_at_all() {
        let expect = Expectations {
            healed: Some(false),
            ..Expectations::default()
        };
        let verdict = |trials: &[TrialOutcome]| {
            expect
                .evaluate(trials, &Aggregate::default(), false)
                .remove(0)
        };
        assert!(verdict(&[trial(1, 0, 0)]).passed);
        let acted = verdict(&[trial(1, 0, 0), trial(2, 1, 0)]);
        assert!(!acted.passed);
        assert_eq!(acted.detail, "trial 2: the healer took 1 action(s)");
    }

    #[test]
    fn max_p99_latency_holds_every_trial_to_the_limit() {
        let expect = Expectations {
            max_p99_latency: Some(Duration::from_millis(500)),
            ..Expectations::default()
        };
        let with_p99 = |trial: u32, p99: Option<f64>| TrialOutcome {
            trial,
            load_p99_ms: p99,
            ..TrialOutcome::default()
        };
        let verdict = |trials: &[TrialOutcome]| {
            expect
                .evaluate(trials, &Aggregate::default(), false)
                .remove(0)
        };
        let ok = verdict(&[with_p99(1, Some(120.0)), with_p99(2, Some(500.0))]);
        assert!(ok.passed, "{ok:?}");
        assert_eq!(ok.expectation, "max_p99_latency 0.5s");
        let slow = verdict(&[
            with_p99(1, Some(120.0)),
            with_p99(2, Some(812.0)),
            with_p99(3, None),
        ]);
        assert!(!slow.passed);
        assert_eq!(
            slow.detail,
            "trial 2 p99 0.812s > 0.5s; trial 3: no load results"
        );
    }

    #[test]
    fn recovered_within_reads_milliseconds_and_rejects_negative_ones() {
        let e: Expectations = serde_json::from_str(r#"{"recovered_within": 1500}"#).unwrap();
        assert_eq!(e.recovered_within, Some(Duration::from_millis(1500)));
        let err = serde_json::from_str::<Expectations>(r#"{"recovered_within": -1}"#).unwrap_err();
        assert!(err.to_string().contains("negative"), "{err}");
    }
}
