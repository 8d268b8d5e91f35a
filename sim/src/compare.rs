//! `sim compare`: one scenario under several healing strategies, interleaved (A B A B …: one
//! trial per strategy per round, so drift on the machine hits every strategy alike), each
//! trial observed up to the same bound past its load (`--observe-up-to`). Each trial
//! is a run of its own under `<out>/<scenario>/compare-<stamp>/<strategy>/`; the comparison is
//! computed from their journals.

use std::path::PathBuf;
use std::sync::Arc;

use reports::compare::{observe_up_to_ms, trial_lengths_ms, Comparison, StrategyTrials};
use tokio_util::sync::CancellationToken;

use crate::runner::{self, RunError, RunOptions};
use crate::scenario::Plan;
use crate::strategy::Strategy;

/// How `sim compare` was asked to run.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// The runs root: the comparison goes in `<out>/<scenario>/compare-<stamp>/`.
    pub out: PathBuf,
    pub strategies: Vec<Arc<dyn Strategy>>,
    /// Trials per strategy.
    pub trials: u32,
    /// Show a live status line on a terminal.
    pub progress: bool,
    /// How long each trial may observe past its load's planned end (`--observe-up-to`).
    pub observe_up_to: std::time::Duration,
}

/// A finished (or interrupted) comparison.
#[derive(Debug)]
pub struct CompareOutcome {
    /// `<out>/<scenario>/compare-<stamp>/`.
    pub dir: PathBuf,
    pub comparison: Comparison,
    /// `compare.html` in `dir`.
    pub html: PathBuf,
    pub interrupted: bool,
}

/// Runs `plan` `options.trials` times under each strategy, interleaved, and compares them.
pub async fn compare(
    plan: Plan,
    options: &CompareOptions,
    cancel: CancellationToken,
) -> Result<CompareOutcome, RunError> {
    let dir = options.out.join(&plan.name).join(format!(
        "compare-{}",
        runner::timestamp(runner::unix_ms() / 1000)
    ));
    std::fs::create_dir_all(&dir).map_err(|source| RunError::Output {
        path: dir.clone(),
        source,
    })?;
    let mut results: Vec<StrategyTrials> = options
        .strategies
        .iter()
        .map(|s| StrategyTrials {
            strategy: s.name().to_owned(),
            trials: Vec::new(),
            trial_lengths_ms: Vec::new(),
            observe_up_to_ms: None,
        })
        .collect();
    let mut single = plan.clone();
    single.trials = 1;
    // Every strategy of a round meets the same randomised fault times.
    let base_seed = runner::fresh_seed();
    'rounds: for round in 1..=options.trials.max(1) {
        for (strategy, result) in options.strategies.iter().zip(&mut results) {
            if cancel.is_cancelled() {
                break 'rounds;
            }
            let run_options = RunOptions {
                out: dir.join(strategy.name()),
                progress: options.progress,
                strategy: strategy.clone(),
                seed: Some(base_seed.wrapping_add(u64::from(round))),
                observe_up_to: options.observe_up_to,
            };
            let outcome = runner::run(single.clone(), &run_options, cancel.clone()).await?;
            let records = journal::read_journal(&outcome.dir.join(reports::JOURNAL_FILE))?;
            result.trial_lengths_ms.extend(trial_lengths_ms(&records));
            result.observe_up_to_ms = observe_up_to_ms(&records);
            result
                .trials
                .extend(outcome.summary.trials.into_iter().map(|mut trial| {
                    trial.trial = round;
                    trial
                }));
        }
    }
    let comparison = Comparison::new(&plan.name, &results);
    let html = comparison.write(&dir).map_err(|source| RunError::Output {
        path: dir.clone(),
        source,
    })?;
    Ok(CompareOutcome {
        dir,
        comparison,
        html,
        interrupted: cancel.is_cancelled(),
    })
}
