//! One whole run: its journal and output directory, the resources every trial shares, the
//! trials in a task of their own, the cleanup, and the reports computed from the journal.

use std::sync::Arc;
use std::time::Duration;

use journal::{Event, Journal, RunSetup, Sink};
use reports::RunInfo;
use tokio_util::sync::CancellationToken;

use super::setup::{prepare, target_image};
use super::swarm::SwarmRun;
use super::trial::run_trials;
use super::{RunContext, RunError, RunOptions, RunOutcome};
use crate::docker::{self, RunResources};
use crate::faults::Injector;
use crate::progress::{Narrator, Progress};
use crate::scenario::Plan;
use crate::{agent, alerting};

/// Runs `plan` and returns its figures. Cleans up whatever happens.
pub async fn run(
    mut plan: Plan,
    options: &RunOptions,
    cancel: CancellationToken,
) -> Result<RunOutcome, RunError> {
    if plan.swarm.is_some() && !options.strategy.heals_swarm() {
        return Err(RunError::NotForSwarm {
            strategy: options.strategy.name(),
        });
    }
    let runbooks = options.strategy.runbooks(&plan)?;
    let docker = docker::connect().await?;
    let progress = Progress::new(options.progress);
    // A compose project's images, the target's among them, are had in `prepare`.
    let image = match plan.compose {
        Some(_) => None,
        None => Some(target_image(&docker, &plan.target.image, &progress).await?),
    };

    let run_id = new_run_id();
    let started_unix_ms = unix_ms();
    let dir = options
        .out
        .join(&plan.name)
        .join(format!("{}-{run_id}", timestamp(started_unix_ms / 1000)));
    std::fs::create_dir_all(&dir).map_err(|source| RunError::Output {
        path: dir.clone(),
        source,
    })?;
    let journal = Arc::new(Journal::create(&dir.join("journal.jsonl"))?);
    let timing = options.strategy.alerting(&mut plan, &dir)?;
    let randomised = plan.faults.iter().any(|f| f.at_latest.is_some());
    let seed = options.seed.unwrap_or_else(fresh_seed);
    journal.record(Event::RunStarted {
        run_id: run_id.clone(),
        scenario: plan.name.clone(),
        trials: plan.trials,
        sim_version: env!("CARGO_PKG_VERSION").to_owned(),
        strategy: Some(options.strategy.name().to_owned()),
        seed: randomised.then_some(seed),
        setup: Some(run_setup(&plan, options)?),
    });
    if randomised {
        progress.phase(format!(
            "sim: fault times drawn with seed {seed} (replay with --seed {seed})"
        ));
    }
    progress.phase(format!(
        "sim: run {run_id} of {} ({} trial(s), strategy {}); journal {}",
        plan.name,
        plan.trials,
        options.strategy.name(),
        journal.path().display()
    ));

    let resources = RunResources::create(docker.clone(), &run_id).await?;
    let prepared = match prepare(&resources, &plan, image, &*options.strategy, &progress).await {
        Ok(prepared) => prepared,
        Err(e) => {
            let _ = resources.cleanup().await;
            return Err(e);
        }
    };
    let observed = Arc::new(agent::Observed::default());
    let narrator: Arc<dyn Sink> = Arc::new(agent::Tap {
        inner: Arc::new(Narrator {
            journal: journal.clone(),
            progress: progress.clone(),
        }),
        observed: observed.clone(),
    });
    let alerts = match alerting::start(&resources, &plan, timing, narrator.clone(), &progress).await
    {
        Ok(alerts) => alerts,
        Err(e) => {
            let _ = resources.cleanup().await;
            return Err(e.into());
        }
    };
    let images = (prepared.image.as_str(), prepared.next_image.as_deref());
    let swarm = match SwarmRun::form(&plan, &run_id, &docker, images, &progress).await {
        Ok(swarm) => swarm,
        Err(e) => {
            let _ = resources.cleanup().await;
            return Err(e);
        }
    };
    let events = tokio::spawn(docker::record_docker_events(
        docker.clone(),
        run_id.clone(),
        narrator.clone(),
    ));
    let context = Arc::new(RunContext {
        injector: Injector::new(docker).with_net_proxies(prepared.net_proxies),
        plan,
        runbooks,
        resources: resources.clone(),
        image: prepared.image,
        compose_images: prepared.compose_images,
        balancer: prepared.balancer,
        alerts,
        journal: journal.clone(),
        narrator,
        observed,
        progress: progress.clone(),
        cancel: cancel.clone(),
        strategy: options.strategy.clone(),
        seed,
        observe_up_to: options.observe_up_to,
        swarm,
    });
    let trials = tokio::spawn(run_trials(context.clone()));
    let trials_result = match trials.await {
        Ok(result) => result,
        Err(join_error) => Err(RunError::Panicked(join_error.to_string())),
    };

    // Give the event recorder a moment to write the last `die` events, then stop it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    events.abort();
    let removed = match &context.swarm {
        Some(swarm) => swarm.shutdown().await,
        None => Ok(()),
    };
    let cleanup = resources.cleanup().await;
    let interrupted = cancel.is_cancelled();
    journal.set_trial(None);
    journal.record(Event::RunEnded { interrupted });
    progress.finish();
    trials_result?;
    removed?;
    cleanup?;

    let records = journal::read_journal(journal.path())?;
    let summary = reports::summarize(
        &records,
        context.plan.target.health.healthy_after,
        &context.plan.expect,
    );
    let info = RunInfo {
        run_id,
        scenario: context.plan.name.clone(),
        journal: journal.path().to_owned(),
        started_unix_ms,
        interrupted,
    };
    let output_error = |source| RunError::Output {
        path: dir.clone(),
        source,
    };
    let paths = reports::write_reports(&dir, &records, &summary, &info).map_err(output_error)?;
    // The history index across runs; a run whose index cannot be written still succeeded.
    let index = reports::History::load(&options.out).and_then(|history| history.write_index());
    if let Err(e) = &index {
        tracing::warn!(
            "cannot update the history index in {}: {e}",
            options.out.display()
        );
    }
    Ok(RunOutcome {
        dir,
        summary,
        interrupted,
        paths,
        index: index.ok(),
    })
}

/// What the run's figures depend on, for `run_started`: K, the prober's settings, the
/// expectations, the strategy's settings, the observation bound and the scenario file's text.
fn run_setup(plan: &Plan, options: &RunOptions) -> Result<RunSetup, RunError> {
    let scenario_text =
        std::fs::read_to_string(&plan.source).map_err(|source| RunError::Output {
            path: plan.source.clone(),
            source,
        })?;
    let health = &plan.target.health;
    Ok(RunSetup {
        healthy_after: health.healthy_after,
        probe_interval_ms: health.interval.as_secs_f64() * 1000.0,
        probe_timeout_ms: health.timeout.as_secs_f64() * 1000.0,
        expect: serde_json::to_value(&plan.expect).unwrap_or_default(),
        strategy_settings: options.strategy.settings(),
        observe_up_to_ms: (!options.observe_up_to.is_zero())
            .then_some(options.observe_up_to.as_secs_f64() * 1000.0),
        scenario_text,
    })
}

/// A seed nobody chose: the clock's nanoseconds mixed with the process id.
pub(crate) fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 40)
}

/// A short random run id (8 hex digits) from the OS-seeded hasher.
fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(unix_ms() as u128 ^ u128::from(std::process::id()));
    format!("{:08x}", hasher.finish() as u32)
}

pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `20261122T051200Z` for a Unix time in seconds (UTC): [`reports::utc`] without separators.
pub(crate) fn timestamp(unix_secs: u64) -> String {
    reports::utc(unix_secs.saturating_mul(1000)).replace(['-', ':'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_and_sortable() {
        assert_eq!(timestamp(0), "19700101T000000Z");
        assert_eq!(timestamp(951_782_400), "20000229T000000Z");
        assert_eq!(timestamp(1_795_325_520), "20261122T053200Z");
    }

    #[test]
    fn run_ids_are_eight_hex_digits_and_differ() {
        let a = new_run_id();
        assert_eq!(a.len(), 8);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, new_run_id());
    }
}
