//! Load over time: every request the load generator completes is counted into short windows
//! (ok, failed, latency p50/p99/max) that are journalled while the trial runs, and into the
//! trial's totals.
//!
//! Latency is measured from each request's *intended* send time. Each user sends on its own
//! schedule (one request every `users / max_rps`); a user blocked on a stalled request misses
//! the slots it should have sent in, and each missed slot is counted as a latency sample of
//! "answered − slot" (the correction wrk2 and HdrHistogram's `record_correct` make), so a stall
//! shows as latency, not as requests that were never made. Without `max_rps` there is no
//! schedule and latency is measured from the actual send.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hdrhistogram::Histogram;
use journal::{Event, Sink};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long a journalled load window is.
pub const WINDOW: Duration = Duration::from_millis(250);

/// Latencies are recorded in microseconds, up to this (longer ones are clamped).
const MAX_LATENCY_US: u64 = 600_000_000;

/// Shared by every user of one attack and by the task that journals the windows.
#[derive(Debug)]
pub struct LoadRecorder {
    /// Each user's time between intended sends; `None` without a request rate.
    cadence: Option<Duration>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Each user's next intended send, by goose user index.
    next_send: Vec<Option<Instant>>,
    window: Tally,
    total: Tally,
}

/// Counts and latencies of a set of requests.
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    ok: u64,
    failed: u64,
    latency_us: Histogram<u64>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            ok: 0,
            failed: 0,
            // Three significant digits over 1 µs ..= 10 min: always constructible.
            latency_us: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
                .unwrap_or_else(|_| unreachable!("constant histogram bounds are valid")),
        }
    }

    fn add_latency(&mut self, latency: Duration) {
        let us = (latency.as_micros() as u64).clamp(1, MAX_LATENCY_US);
        self.latency_us.saturating_record(us);
    }

    fn quantile_ms(&self, q: f64) -> Option<f64> {
        (!self.latency_us.is_empty()).then(|| self.latency_us.value_at_quantile(q) as f64 / 1000.0)
    }

    /// This tally as a `LoadWindow` event covering `window`.
    fn window_event(&self, window: Duration) -> Event {
        Event::LoadWindow {
            window_ms: window.as_secs_f64() * 1000.0,
            ok: self.ok,
            failed: self.failed,
            p50_ms: self.quantile_ms(0.50),
            p99_ms: self.quantile_ms(0.99),
            max_ms: (!self.latency_us.is_empty()).then(|| self.latency_us.max() as f64 / 1000.0),
        }
    }

    /// This tally as the trial's `Load` event, over `elapsed`.
    fn load_event(&self, elapsed: Duration) -> Event {
        let seconds = elapsed.as_secs_f64().max(1e-3);
        Event::Load {
            requests_ok: self.ok,
            requests_failed: self.failed,
            rps: (self.ok + self.failed) as f64 / seconds,
            p50_ms: self.quantile_ms(0.50).unwrap_or(0.0),
            p95_ms: self.quantile_ms(0.95).unwrap_or(0.0),
            p99_ms: self.quantile_ms(0.99).unwrap_or(0.0),
            max_ms: self.latency_us.max() as f64 / 1000.0,
        }
    }
}

impl LoadRecorder {
    /// A recorder for `users` users sharing `max_rps` requests per second (if any).
    pub fn new(users: usize, max_rps: Option<usize>) -> Arc<LoadRecorder> {
        let cadence = max_rps
            .filter(|rps| *rps > 0)
            .map(|rps| Duration::from_secs_f64(users.max(1) as f64 / rps as f64));
        Arc::new(LoadRecorder {
            cadence,
            state: Mutex::new(State {
                next_send: vec![None; users.max(1)],
                window: Tally::new(),
                total: Tally::new(),
            }),
        })
    }

    /// When user `user` should send its next request: its next slot, or now for its first.
    pub fn intended_send(&self, user: usize) -> Instant {
        let now = Instant::now();
        let mut state = self.lock();
        match state.next_send.get(user).copied().flatten() {
            Some(slot) if self.cadence.is_some() => slot,
            _ => {
                if let Some(entry) = state.next_send.get_mut(user) {
                    *entry = Some(now);
                }
                now
            }
        }
    }

    /// Records a request of `user` intended for `intended` that ended at `answered`, and the
    /// slots it made the user miss; schedules the user's next request.
    pub fn record(&self, user: usize, intended: Instant, answered: Instant, ok: bool) {
        let mut state = self.lock();
        let State {
            next_send,
            window,
            total,
        } = &mut *state;
        for tally in [&mut *window, &mut *total] {
            if ok {
                tally.ok += 1;
            } else {
                tally.failed += 1;
            }
            tally.add_latency(answered.saturating_duration_since(intended));
        }
        let Some(cadence) = self.cadence else { return };
        let mut slot = intended + cadence;
        while slot < answered {
            // A slot the user was blocked through: it would have waited until `answered`.
            for tally in [&mut *window, &mut *total] {
                tally.add_latency(answered - slot);
            }
            slot += cadence;
        }
        if let Some(entry) = next_send.get_mut(user) {
            *entry = Some(slot);
        }
    }

    /// Takes the current window's tally, starting a new window.
    pub(crate) fn take_window(&self) -> Tally {
        std::mem::replace(&mut self.lock().window, Tally::new())
    }

    /// The trial's `Load` event, over `elapsed` of load.
    pub fn load_event(&self, elapsed: Duration) -> Event {
        self.lock().total.load_event(elapsed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Counting cannot leave the state half-updated in a way that matters; keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Journals a `LoadWindow` every [`WINDOW`] until `done` fires, then the last partial window.
pub async fn journal_windows(
    recorder: Arc<LoadRecorder>,
    sink: Arc<dyn Sink>,
    done: CancellationToken,
) {
    let mut ticks = tokio::time::interval_at(Instant::now() + WINDOW, WINDOW);
    let mut window_start = Instant::now();
    loop {
        let finished = tokio::select! {
            _ = done.cancelled() => true,
            _ = ticks.tick() => false,
        };
        let now = Instant::now();
        let tally = recorder.take_window();
        sink.record(tally.window_event(now - window_start));
        window_start = now;
        if finished {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_request_counts_the_slots_it_blocked_as_latency() {
        // 2 users at 100 rps: each user sends every 20 ms.
        let recorder = LoadRecorder::new(2, Some(100));
        let t0 = recorder.intended_send(0);
        assert_eq!(t0, Instant::now());
        // One request stalls for 1 s: 49 slots missed, one real request, all failed once.
        recorder.record(0, t0, t0 + ms(1000), false);
        let tally = recorder.take_window();
        assert_eq!((tally.ok, tally.failed), (0, 1));
        assert_eq!(tally.latency_us.len(), 50);
        assert!((tally.quantile_ms(1.0).unwrap() - 1000.0).abs() < 1.0);
        // The median missed slot waited about half the stall.
        assert!((tally.quantile_ms(0.5).unwrap() - 500.0).abs() < 25.0);
        // The next request is intended for the first slot after the answer, not a burst.
        assert_eq!(recorder.intended_send(0), t0 + ms(1000));
    }

    #[tokio::test(start_paused = true)]
    async fn an_on_time_request_is_one_sample_and_schedules_the_next_slot() {
        let recorder = LoadRecorder::new(2, Some(100));
        let t0 = recorder.intended_send(1);
        recorder.record(1, t0, t0 + ms(3), true);
        assert_eq!(recorder.intended_send(1), t0 + ms(20));
        let tally = recorder.take_window();
        assert_eq!((tally.ok, tally.failed, tally.latency_us.len()), (1, 0, 1));
        assert!((tally.quantile_ms(0.5).unwrap() - 3.0).abs() < 0.01);
        // The window was taken: the next one starts empty, the total keeps everything.
        assert_eq!(recorder.take_window().latency_us.len(), 0);
        let Event::Load { requests_ok, .. } = recorder.load_event(ms(1000)) else {
            panic!("not a load event");
        };
        assert_eq!(requests_ok, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_rate_latency_is_from_the_actual_send() {
        let recorder = LoadRecorder::new(1, None);
        let t0 = recorder.intended_send(0);
        recorder.record(0, t0, t0 + ms(1000), true);
        assert_eq!(recorder.take_window().latency_us.len(), 1);
        tokio::time::advance(ms(5)).await;
        assert_eq!(recorder.intended_send(0), Instant::now());
    }

    #[tokio::test(start_paused = true)]
    async fn windows_are_journalled_while_load_runs_and_once_more_at_the_end() {
        let recorder = LoadRecorder::new(1, Some(10));
        let sink = Arc::new(journal::MemorySink::default());
        let done = CancellationToken::new();
        let task = tokio::spawn(journal_windows(
            recorder.clone(),
            sink.clone(),
            done.clone(),
        ));
        let t0 = recorder.intended_send(0);
        recorder.record(0, t0, t0 + ms(5), true);
        tokio::time::sleep(ms(600)).await;
        done.cancel();
        task.await.unwrap();
        let windows = sink.events();
        assert_eq!(windows.len(), 3, "{windows:?}");
        let Event::LoadWindow { ok, window_ms, .. } = &windows[0] else {
            panic!("not a window: {:?}", windows[0]);
        };
        assert_eq!((*ok, *window_ms), (1, 250.0));
        let Event::LoadWindow {
            ok,
            p50_ms,
            window_ms,
            ..
        } = &windows[2]
        else {
            panic!("not a window");
        };
        assert_eq!((*ok, *p50_ms), (0, None));
        assert!((*window_ms - 100.0).abs() < 1.0);
    }
}
