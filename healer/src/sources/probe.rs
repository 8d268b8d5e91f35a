//! The healer's own prober: open loop, at two cadences.
//!
//! Probes leave on schedule whether or not the earlier ones have answered, each with its own
//! timeout ([`SourceSettings::probe_timeout`]), and their answers are passed on in send order:
//! one `Probe` signal and one `probe_latency_ms` sample per probe, so `probe_failures: 3` still
//! means three failed probes sent one after the other.
//!
//! The schedule has two cadences. **Idle**: one probe every [`SourceSettings::probe_interval`]
//! (200 ms). **Suspicious**: one every [`SourceSettings::suspicious_probe_interval`] (50 ms).
//! The prober turns suspicious as soon as a probe fails, answers slower than the slow
//! threshold, or is still in flight when the suspicious cadence would send the next one (so a
//! hung target is suspected long before its probe times out, and three probes are out by the
//! time the first fails); and for [`SourceSettings::suspicious_after_start`] after the
//! target's container started (a new version that fails its health is seen within a few
//! hundred milliseconds). It turns idle again after [`SourceSettings::calm_after`] good, fast
//! answers in a row, by send order, once that window has passed.
//!
//! The slow threshold is [`SourceSettings::probe_slow`] if set; else the lowest `above` of the
//! runbooks' `threshold: probe_latency_ms` triggers, so a probe the latency detector would
//! count is one that speeds probing up; else half the probe timeout.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::SourceSettings;

/// Which cadence the prober is on, from the answers so far and the target's starts.
#[derive(Debug)]
pub(crate) struct Cadence {
    idle: Duration,
    suspicious: Duration,
    slow: Duration,
    calm_after: u32,
    after_start: Duration,
    /// Suspicious at least until then: the target started recently.
    watch_until: Option<Instant>,
    /// A probe failed or was slow; cleared by `calm_after` good, fast answers in a row.
    alarmed: bool,
    calm: u32,
}

impl Cadence {
    /// Idle, with the intervals of `settings` and the slow threshold `slow`.
    pub(crate) fn new(settings: &SourceSettings, slow: Duration) -> Cadence {
        Cadence {
            idle: settings.probe_interval,
            suspicious: settings.suspicious_probe_interval,
            slow,
            calm_after: settings.calm_after,
            after_start: settings.suspicious_after_start,
            watch_until: None,
            alarmed: false,
            calm: 0,
        }
    }

    /// Whether probes go at the suspicious cadence at `now`.
    fn suspicious(&self, now: Instant) -> bool {
        self.alarmed || self.watch_until.is_some_and(|until| now < until)
    }

    /// Time between two sends at `now` (never slower while suspicious than idle).
    fn interval(&self, now: Instant) -> Duration {
        if self.suspicious(now) {
            self.suspicious.min(self.idle)
        } else {
            self.idle
        }
    }

    /// How long a probe may be in flight before the prober turns suspicious.
    fn overdue(&self) -> Duration {
        self.suspicious.min(self.idle).min(self.slow)
    }

    /// The target's container started at `at`.
    fn started(&mut self, at: Instant) {
        self.watch_until = Some(at + self.after_start);
    }

    /// The answer to the next probe in send order.
    fn answered(&mut self, ok: bool, latency: Duration) {
        if !ok || latency > self.slow {
            self.alarm();
        } else if self.alarmed {
            self.calm += 1;
            if self.calm >= self.calm_after {
                self.alarmed = false;
                self.calm = 0;
            }
        }
    }

    /// A probe is still in flight after the slow threshold.
    fn alarm(&mut self) {
        self.alarmed = true;
        self.calm = 0;
    }
}

/// One probe's answer: whether it answered 2xx in time, how long it took, and why not.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    pub(crate) ok: bool,
    pub(crate) latency: Duration,
    pub(crate) error: Option<String>,
}

/// A probe without its time limit: `Ok` for a 2xx answer, else why not.
pub(crate) type Probe = BoxFuture<'static, Result<(), String>>;

/// Sends probes on the [`Cadence`] and hands their answers out in send order.
pub(crate) struct Prober<F> {
    cadence: Cadence,
    timeout: Duration,
    /// Notified on each start of the target.
    starts: Arc<Notify>,
    send: F,
    last_sent: Option<Instant>,
    /// Unreleased probes in send order: when each left, and its answer once it came.
    queue: VecDeque<(Instant, Option<Answer>)>,
    /// Send index of the front of `queue`.
    released: usize,
    sent: usize,
    in_flight: FuturesUnordered<BoxFuture<'static, (usize, Answer)>>,
    max_in_flight: usize,
}

impl<F: FnMut() -> Probe> Prober<F> {
    /// A prober that sends a probe with `send`, gives each `timeout`, and turns suspicious for
    /// a while whenever `starts` is notified.
    pub(crate) fn new(cadence: Cadence, timeout: Duration, starts: Arc<Notify>, send: F) -> Self {
        // As many as the suspicious cadence sends within one timeout, and one more: the
        // oldest gives up at about the instant the next is due. The cap only holds sends back
        // when the runtime fell behind.
        let fastest = cadence.suspicious.min(cadence.idle);
        let per_timeout = timeout.as_nanos() / fastest.as_nanos().max(1);
        let max_in_flight = usize::try_from(per_timeout).unwrap_or(usize::MAX).max(1) + 1;
        Prober {
            cadence,
            timeout,
            starts,
            send,
            last_sent: None,
            queue: VecDeque::new(),
            released: 0,
            sent: 0,
            in_flight: FuturesUnordered::new(),
            max_in_flight,
        }
    }

    /// The answer to the next probe in send order, sending probes on schedule meanwhile.
    pub(crate) async fn next(&mut self) -> Answer {
        loop {
            if let Some(answer) = self.queue.front_mut().and_then(|(_, answer)| answer.take()) {
                self.queue.pop_front();
                self.released += 1;
                self.cadence.answered(answer.ok, answer.latency);
                return answer;
            }
            let now = Instant::now();
            let interval = self.cadence.interval(now);
            let due = self.last_sent.map_or(now, |last| last + interval);
            // The oldest probe without an answer turns the prober suspicious once the
            // suspicious cadence would have sent the next (or it is slow, if that is sooner).
            let overdue = match self.queue.front() {
                Some((sent, None)) if !self.cadence.alarmed => Some(*sent + self.cadence.overdue()),
                _ => None,
            };
            tokio::select! {
                biased;
                Some((index, answer)) = self.in_flight.next() => {
                    if let Some(slot) = self.queue.get_mut(index - self.released) {
                        slot.1 = Some(answer);
                    }
                }
                () = self.starts.notified() => self.cadence.started(Instant::now()),
                () = sleep_until(overdue) => self.cadence.alarm(),
                () = tokio::time::sleep_until(due), if self.in_flight.len() < self.max_in_flight => {
                    let now = Instant::now();
                    // On schedule, unless far behind it: then from now, without a burst.
                    let at = if now.duration_since(due) < interval { due } else { now };
                    self.last_sent = Some(at);
                    self.queue.push_back((now, None));
                    let index = self.sent;
                    self.sent += 1;
                    let probe = timed(self.timeout, (self.send)());
                    self.in_flight.push(async move { (index, probe.await) }.boxed());
                }
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Runs `probe` for at most `timeout`; the answer with its latency.
async fn timed(timeout: Duration, probe: Probe) -> Answer {
    let started = Instant::now();
    let result = tokio::time::timeout(timeout, probe)
        .await
        .unwrap_or_else(|_| Err(format!("probe timed out after {timeout:?}")));
    Answer {
        ok: result.is_ok(),
        latency: started.elapsed(),
        error: result.err(),
    }
}

#[cfg(test)]
mod tests;
