//! Shared state of one leaky service: its faults (set at start or through `/chaos/*`), the leak
//! store, the burner threads and the HTTP statistics.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::config::Config;
use crate::dependency::Dependency;
use crate::leak::LeakStore;
use crate::metrics::HttpStats;
use crate::work::{Burners, XorShift};

/// How often the leak-rate task leaks its next slice.
const LEAK_TICK: Duration = Duration::from_millis(50);

/// Locks a mutex, ignoring poisoning: every value guarded here stays valid mid-update.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) struct State {
    pub version: String,
    pub work_iterations: u32,
    pub fail_health: bool,
    /// The dependency being checked, if the config names one.
    dependency: Option<Arc<Dependency>>,
    pub leaks: LeakStore,
    pub burners: Burners,
    pub stats: HttpStats,
    faults: Mutex<Faults>,
    hung: AtomicBool,
    /// Why `GET /` fails until the process restarts (`/chaos/log?fail=true`), if it does.
    failing: Mutex<Option<String>>,
    rng: Mutex<XorShift>,
}

/// Faults that change at run time.
struct Faults {
    leak_bytes_per_sec: u64,
    /// Whether the leak-rate task is alive; changed only under this lock, so a rate set while
    /// the task is stopping never leaves the rate without a task.
    leak_task_running: bool,
    leak_bytes_per_request: u64,
    latency: Duration,
    latency_jitter: Duration,
}

/// What `GET /chaos` and every chaos control report.
#[derive(Debug, Serialize)]
pub(crate) struct ChaosState {
    version: String,
    leaked_bytes: u64,
    leak_bytes_per_sec: u64,
    leak_bytes_per_request: u64,
    latency_ms: u128,
    latency_jitter_ms: u128,
    cpu_burners: u64,
    fail_health: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    failing_with: Option<String>,
}

impl State {
    /// Builds the state; starts the leak-rate task if the config sets a rate, and the
    /// dependency checks if it names a dependency (both need a Tokio runtime: without one the
    /// rate is kept but nothing leaks, and the dependency stays down).
    pub fn new(config: Config) -> Arc<State> {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let state = Arc::new(State {
            version: config.version,
            work_iterations: config.work_iterations,
            fail_health: config.fail_health,
            dependency: config.dependency_url.as_deref().map(Dependency::watch),
            leaks: LeakStore::default(),
            burners: Burners::default(),
            stats: HttpStats::default(),
            faults: Mutex::new(Faults {
                leak_bytes_per_sec: 0,
                leak_task_running: false,
                leak_bytes_per_request: config.leak_bytes_per_request,
                latency: config.latency,
                latency_jitter: config.latency_jitter,
            }),
            hung: AtomicBool::new(false),
            failing: Mutex::new(None),
            rng: Mutex::new(XorShift::new(seed)),
        });
        state.set_leak_rate(config.leak_bytes_per_sec);
        state
    }

    /// Whether the dependency answered its last check; `true` without a dependency.
    pub fn dependency_up(&self) -> bool {
        self.dependency.as_ref().is_none_or(|d| d.is_up())
    }

    /// Snapshot for `GET /chaos`.
    pub fn chaos(&self) -> ChaosState {
        let faults = lock(&self.faults);
        ChaosState {
            version: self.version.clone(),
            leaked_bytes: self.leaks.bytes(),
            leak_bytes_per_sec: faults.leak_bytes_per_sec,
            leak_bytes_per_request: faults.leak_bytes_per_request,
            latency_ms: faults.latency.as_millis(),
            latency_jitter_ms: faults.latency_jitter.as_millis(),
            cpu_burners: self.burners.live(),
            fail_health: self.fail_health,
            failing_with: self.failing(),
        }
    }

    /// Sets the continuous leak rate (0 stops it), starting the leak task when needed.
    pub fn set_leak_rate(self: &Arc<Self>, bytes_per_sec: u64) {
        let mut faults = lock(&self.faults);
        faults.leak_bytes_per_sec = bytes_per_sec;
        if bytes_per_sec == 0 || faults.leak_task_running {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                faults.leak_task_running = true;
                runtime.spawn(leak_at_rate(Arc::downgrade(self)));
            }
            Err(_) => tracing::warn!("no Tokio runtime: the leak rate cannot start"),
        }
    }

    pub fn set_leak_per_request(&self, bytes: u64) {
        lock(&self.faults).leak_bytes_per_request = bytes;
    }

    /// Leaks the per-request amount, if any. Done under the faults lock (as is every leak
    /// and [`State::free_all`]), so nothing leaks after a free that stopped the leaks.
    pub fn leak_for_request(&self) {
        let faults = lock(&self.faults);
        self.leaks.leak(faults.leak_bytes_per_request);
    }

    pub fn set_latency(&self, latency: Duration, jitter: Duration) {
        let mut faults = lock(&self.faults);
        faults.latency = latency;
        faults.latency_jitter = jitter;
    }

    /// The delay for one `GET /`: the fixed latency plus a uniform draw from the jitter.
    pub fn injected_delay(&self) -> Duration {
        let (latency, jitter) = {
            let faults = lock(&self.faults);
            (faults.latency, faults.latency_jitter)
        };
        if jitter.is_zero() {
            return latency;
        }
        latency + lock(&self.rng).up_to(jitter)
    }

    /// Frees every leak and stops the leak rate and the per-request leak; returns bytes freed.
    pub fn free_all(&self) -> u64 {
        let mut faults = lock(&self.faults);
        faults.leak_bytes_per_sec = 0;
        faults.leak_bytes_per_request = 0;
        self.leaks.free()
    }

    /// From now on, no request is answered.
    pub fn hang(&self) {
        self.hung.store(true, Ordering::Relaxed);
    }

    pub fn is_hung(&self) -> bool {
        self.hung.load(Ordering::Relaxed)
    }

    /// From now on, `GET /` answers 503 with `reason` (until the process restarts).
    pub fn fail_requests(&self, reason: String) {
        *lock(&self.failing) = Some(reason);
    }

    /// Why `GET /` fails, if it does.
    pub fn failing(&self) -> Option<String> {
        lock(&self.failing).clone()
    }
}

/// Leaks at the current rate every [`LEAK_TICK`] until the rate is 0 or the state is gone.
/// The amount follows the time really elapsed, carrying fractions of a byte between ticks.
async fn leak_at_rate(state: Weak<State>) {
    let mut ticks = tokio::time::interval(LEAK_TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = Instant::now();
    let mut carry: u128 = 0;
    loop {
        ticks.tick().await;
        let Some(state) = state.upgrade() else { return };
        let mut faults = lock(&state.faults);
        if faults.leak_bytes_per_sec == 0 {
            faults.leak_task_running = false;
            return;
        }
        let now = Instant::now();
        let owed = u128::from(faults.leak_bytes_per_sec) * (now - last).as_nanos() + carry;
        last = now;
        carry = owed % 1_000_000_000;
        state
            .leaks
            .leak(u64::try_from(owed / 1_000_000_000).unwrap_or(u64::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::MIB;

    fn state() -> Arc<State> {
        State::new(Config::default())
    }

    #[tokio::test(start_paused = true)]
    async fn leak_rate_follows_time_and_stops_at_zero() {
        let state = state();
        state.set_leak_rate(MIB);
        tokio::time::sleep(Duration::from_millis(1010)).await;
        let after_one_second = state.leaks.bytes();
        assert!(
            (MIB * 95 / 100..=MIB * 105 / 100).contains(&after_one_second),
            "{after_one_second}"
        );
        state.set_leak_rate(0);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!lock(&state.faults).leak_task_running);
        let stopped = state.leaks.bytes();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(state.leaks.bytes(), stopped);
        // A new rate starts a new task.
        state.set_leak_rate(MIB);
        tokio::time::sleep(Duration::from_millis(510)).await;
        assert!(state.leaks.bytes() >= stopped + MIB * 45 / 100);
    }

    #[tokio::test(start_paused = true)]
    async fn free_all_stops_every_leak() {
        let state = state();
        state.set_leak_rate(MIB);
        state.set_leak_per_request(100);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let freed = state.free_all();
        assert!(freed >= MIB * 45 / 100, "{freed}");
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(state.leaks.bytes(), 0);
        assert_eq!(state.chaos().leak_bytes_per_request, 0);
        state.leak_for_request();
        assert_eq!(state.leaks.bytes(), 0);
        assert_eq!(state.chaos().leak_bytes_per_sec, 0);
    }

    #[tokio::test]
    async fn delay_is_at_least_the_fixed_latency_and_within_jitter() {
        let state = state();
        state.set_latency(Duration::from_millis(100), Duration::from_millis(50));
        for _ in 0..200 {
            let delay = state.injected_delay();
            assert!(delay >= Duration::from_millis(100) && delay <= Duration::from_millis(150));
        }
        state.set_latency(Duration::ZERO, Duration::ZERO);
        assert_eq!(state.injected_delay(), Duration::ZERO);
    }
}
