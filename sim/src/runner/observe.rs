//! What a trial watches besides its faults: the live status line, the observation past the
//! load's planned end that `--observe-up-to` asks for (the load keeps running until every
//! replica has recovered or the bound passes, then goose's kill switch stops it), and the
//! settle after the load.
//!
//! "Recovered" is the prober's: `healthy_after` good probes in a row, read from each replica's
//! `watch` of consecutive good probes.

use std::time::Duration;

use futures_util::future::select_all;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::progress::Progress;

/// Returns once every replica has `healthy_after` good probes in a row at the same moment (at
/// once when they all have); pends if a prober has gone.
async fn all_recovered(consecutive_ok: &[watch::Receiver<u32>], healthy_after: u32) {
    let mut replicas = consecutive_ok.to_vec();
    loop {
        // Every value marked seen, so that `changed` waits for the next one.
        let healthy: Vec<bool> = replicas
            .iter_mut()
            .map(|rx| *rx.borrow_and_update() >= healthy_after)
            .collect();
        if healthy.into_iter().all(|h| h) {
            return;
        }
        let changes = replicas.iter_mut().map(|rx| Box::pin(rx.changed()));
        if select_all(changes).await.0.is_err() {
            return std::future::pending().await;
        }
    }
}

/// What the observation past the load's planned end saw.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Observed {
    /// Every replica was healthy when the load's planned duration ended: nothing to wait for.
    HealthyAtLoadEnd,
    /// The last outage recovered this long after the load's planned end.
    RecoveredAfter(Duration),
    /// An outage was still open when the bound passed.
    NotRecovered,
}

/// Every replica has `healthy_after` good probes in a row now.
fn all_healthy(consecutive_ok: &[watch::Receiver<u32>], healthy_after: u32) -> bool {
    consecutive_ok
        .iter()
        .all(|rx| *rx.borrow() >= healthy_after)
}

/// Waits until `load_end`, then until every replica has recovered or `bound` more has passed.
async fn observe(
    consecutive_ok: &[watch::Receiver<u32>],
    healthy_after: u32,
    load_end: Instant,
    bound: Duration,
) -> Observed {
    tokio::time::sleep_until(load_end).await;
    if all_healthy(consecutive_ok, healthy_after) {
        return Observed::HealthyAtLoadEnd;
    }
    tokio::select! {
        _ = all_recovered(consecutive_ok, healthy_after) => Observed::RecoveredAfter(load_end.elapsed()),
        _ = tokio::time::sleep_until(load_end + bound) => Observed::NotRecovered,
    }
}

/// When a trial's load started, how long it is planned to run, and how long the trial may
/// observe past that (`--observe-up-to`; zero: not at all).
#[derive(Debug, Clone, Copy)]
pub(super) struct LoadClock {
    pub started: Instant,
    pub duration: Duration,
    pub observe_up_to: Duration,
}

impl LoadClock {
    /// What the load generator is asked for: its planned duration plus the bound, so that it
    /// keeps running while the trial observes (the kill switch ends it earlier).
    pub fn run_time(&self) -> Duration {
        self.duration + self.observe_up_to
    }
}

/// How a trial observes past its load's planned end.
pub(super) struct Observation<'a> {
    pub consecutive_ok: &'a [watch::Receiver<u32>],
    pub healthy_after: u32,
    pub clock: LoadClock,
}

impl Observation<'_> {
    /// With a bound: at the load's planned end, keeps the trial going until every replica has
    /// recovered or the bound passes, then stops the load with goose's kill switch and returns.
    /// Without one (the load then ends on its own), or once `cancel` fires (the interrupt
    /// handler stops the load), never returns.
    pub async fn stop_load_once_recovered(
        &self,
        trial: u32,
        progress: &Progress,
        cancel: &CancellationToken,
    ) {
        let bound = self.clock.observe_up_to;
        if bound.is_zero() {
            return std::future::pending().await;
        }
        let load_end = self.clock.started + self.clock.duration;
        let observed = tokio::select! {
            observed = observe(self.consecutive_ok, self.healthy_after, load_end, bound) => observed,
            _ = cancel.cancelled() => return std::future::pending().await,
        };
        match observed {
            Observed::HealthyAtLoadEnd => {}
            Observed::RecoveredAfter(after) => progress.phase(format!(
                "sim: trial {trial}: recovered {:.1}s after the load's planned end; stopping the load",
                after.as_secs_f64()
            )),
            Observed::NotRecovered => progress.phase(format!(
                "sim: trial {trial}: not recovered within {bound:.0?} after the load's planned \
                 end; stopping the load"
            )),
        }
        goose::trigger_killswitch("the trial's observation ended");
    }
}

/// Keeps the live status line current: trial, load time (then the time observed past the
/// load's planned end), each replica's health.
pub(super) async fn show_status(
    progress: Progress,
    (trial, trials): (u32, u32),
    clock: LoadClock,
    replicas: Vec<(String, watch::Receiver<u32>)>,
    cancel: CancellationToken,
) {
    let mut ticks = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let health: Vec<String> = replicas
            .iter()
            .map(|(name, ok)| {
                let state = if *ok.borrow() > 0 { "up" } else { "DOWN" };
                format!("{name} {state}")
            })
            .collect();
        let elapsed = clock.started.elapsed();
        let phase = match elapsed.checked_sub(clock.duration) {
            Some(past) if !clock.observe_up_to.is_zero() => format!(
                "observing {:.1}s/{:.0}s past the load",
                past.as_secs_f64(),
                clock.observe_up_to.as_secs_f64()
            ),
            _ => format!(
                "load {:.1}s/{:.0}s",
                elapsed.as_secs_f64(),
                clock.duration.as_secs_f64()
            ),
        };
        progress.status(format!(
            "trial {trial}/{trials} · {phase} · {}",
            health.join(", ")
        ));
    }
}

/// After the load: give replicas that are not yet recovered (`healthy_after` good probes in a
/// row) up to `settle` to come back, so a late recovery is measured rather than cut off.
pub(super) async fn settle(
    consecutive_ok: &[watch::Receiver<u32>],
    healthy_after: u32,
    settle: Duration,
    cancel: &CancellationToken,
) {
    tokio::select! {
        _ = all_recovered(consecutive_ok, healthy_after) => {}
        _ = tokio::time::sleep(settle) => {}
        _ = cancel.cancelled() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: u32 = 3;
    const LOAD: Duration = Duration::from_secs(10);
    const BOUND: Duration = Duration::from_secs(60);

    /// Sets a replica's count of good probes in a row at `at` after the start.
    fn at(tx: &watch::Sender<u32>, at: Duration, n: u32) {
        let tx = tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(at).await;
            tx.send_replace(n);
        });
    }

    #[tokio::test(start_paused = true)]
    async fn healthy_replicas_end_the_observation_at_the_loads_planned_end() {
        let (_tx, rx) = watch::channel(K);
        let start = Instant::now();
        let observed = observe(&[rx], K, start + LOAD, BOUND).await;
        assert_eq!(observed, Observed::HealthyAtLoadEnd);
        assert_eq!(start.elapsed(), LOAD);
    }

    #[tokio::test(start_paused = true)]
    async fn the_observation_lasts_until_every_replica_has_recovered() {
        let (a, rx_a) = watch::channel(K);
        let (b, rx_b) = watch::channel(K);
        let start = Instant::now();
        // a is down from 4s and back (K good probes) at 25s; b goes down at 20s, back at 30s;
        // a falling again at 31s, after both were healthy together, does not matter.
        at(&a, Duration::from_secs(4), 0);
        at(&a, Duration::from_secs(25), K);
        at(&b, Duration::from_secs(20), 0);
        at(&b, Duration::from_secs(29), K - 1);
        at(&b, Duration::from_secs(30), K);
        at(&a, Duration::from_secs(31), 0);
        let observed = observe(&[rx_a, rx_b], K, start + LOAD, BOUND).await;
        assert_eq!(observed, Observed::RecoveredAfter(Duration::from_secs(20)));
        assert_eq!(start.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn an_outage_that_never_ends_holds_the_observation_for_the_whole_bound() {
        let (tx, rx) = watch::channel(K);
        let start = Instant::now();
        at(&tx, Duration::from_secs(3), 0);
        at(&tx, Duration::from_secs(40), 1);
        let observed = observe(&[rx], K, start + LOAD, BOUND).await;
        assert_eq!(observed, Observed::NotRecovered);
        assert_eq!(start.elapsed(), LOAD + BOUND);
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_bound_the_load_ends_on_its_own() {
        let (_tx, rx) = watch::channel(0);
        let observation = Observation {
            consecutive_ok: &[rx],
            healthy_after: K,
            clock: LoadClock {
                started: Instant::now(),
                duration: LOAD,
                observe_up_to: Duration::ZERO,
            },
        };
        let cancel = CancellationToken::new();
        let progress = Progress::new(false);
        let stop = observation.stop_load_once_recovered(1, &progress, &cancel);
        let waited = tokio::time::timeout(Duration::from_secs(3600), stop).await;
        assert!(waited.is_err(), "returned without a bound");
    }

    #[test]
    fn the_load_is_asked_to_run_through_the_observation() {
        let clock = LoadClock {
            started: Instant::now(),
            duration: LOAD,
            observe_up_to: BOUND,
        };
        assert_eq!(clock.run_time(), Duration::from_secs(70));
    }

    #[tokio::test(start_paused = true)]
    async fn settle_waits_for_every_replica_up_to_its_limit() {
        let (tx, rx) = watch::channel(0);
        let cancel = CancellationToken::new();
        let start = Instant::now();
        at(&tx, Duration::from_secs(2), K);
        let replicas = [rx];
        settle(&replicas, K, Duration::from_secs(5), &cancel).await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        tx.send_replace(0);
        settle(&replicas, K, Duration::from_secs(5), &cancel).await;
        assert_eq!(start.elapsed(), Duration::from_secs(7));
    }
}
