//! CPU work: the hashing done by `GET /`, the busy-loop burner threads of `/chaos/cpu`, and the
//! tiny xorshift generator behind latency jitter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Mixes a small buffer `iterations` times (FNV-1a over the bytes, then a splitmix step fed
/// back into the buffer) and returns the final hash, so the work cannot be optimised away.
pub(crate) fn hash_rounds(iterations: u32, seed: u64) -> u64 {
    let mut buf = [0u8; 64];
    let mut h = seed ^ 0xcbf2_9ce4_8422_2325;
    for round in 0..iterations {
        for b in buf.iter() {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        let mixed = splitmix(h ^ u64::from(round));
        let at = (round as usize % 8) * 8;
        buf[at..at + 8].copy_from_slice(&mixed.to_le_bytes());
    }
    h
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Counts the live burner threads (`leaky_cpu_burners`).
#[derive(Default)]
pub(crate) struct Burners {
    live: Arc<AtomicU64>,
}

/// Decrements the live count when a burner thread ends, however it ends.
struct LiveGuard(Arc<AtomicU64>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Burners {
    /// Number of burner threads running now.
    pub fn live(&self) -> u64 {
        self.live.load(Ordering::Relaxed)
    }

    /// Starts `threads` OS threads that spin for `duration`. They are counted before this
    /// returns. Returns how many started (fewer if the OS refuses threads).
    pub fn start(&self, threads: u32, duration: Duration) -> u32 {
        let mut started = 0;
        for i in 0..threads {
            self.live.fetch_add(1, Ordering::Relaxed);
            let guard = LiveGuard(Arc::clone(&self.live));
            let spawned = std::thread::Builder::new()
                .name(format!("cpu-burner-{i}"))
                .spawn(move || {
                    let _guard = guard;
                    burn(duration);
                });
            match spawned {
                Ok(_) => started += 1,
                Err(err) => {
                    // The closure (and its guard) was dropped, so the count is already undone.
                    tracing::warn!(%err, "could not start a CPU burner thread");
                    break;
                }
            }
        }
        started
    }
}

/// Spins until `duration` of wall-clock time has passed.
#[expect(
    clippy::disallowed_types,
    reason = "a burner thread spins in real time on its own OS thread, outside any tokio clock"
)]
fn burn(duration: Duration) {
    let deadline = std::time::Instant::now() + duration;
    let mut h = 1u64;
    while std::time::Instant::now() < deadline {
        h = std::hint::black_box(hash_rounds(64, h));
    }
}

/// xorshift64* generator: enough randomness for jitter, no dependency.
pub(crate) struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (zero is replaced, since xorshift would stay at zero).
    pub fn new(seed: u64) -> Self {
        XorShift(if seed == 0 {
            0x2545_f491_4f6c_dd1d
        } else {
            seed
        })
    }

    /// The next pseudo-random value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A duration drawn uniformly from `0..=max`, at nanosecond resolution.
    pub fn up_to(&mut self, max: Duration) -> Duration {
        let max_nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        match max_nanos.checked_add(1) {
            Some(span) => Duration::from_nanos(self.next_u64() % span),
            None => Duration::from_nanos(self.next_u64()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_iterations_and_seed() {
        assert_eq!(hash_rounds(100, 7), hash_rounds(100, 7));
        assert_ne!(hash_rounds(100, 7), hash_rounds(101, 7));
        assert_ne!(hash_rounds(100, 7), hash_rounds(100, 8));
    }

    #[test]
    fn jitter_stays_in_range_and_varies() {
        let mut rng = XorShift::new(0);
        let max = Duration::from_millis(10);
        let draws: Vec<Duration> = (0..1000).map(|_| rng.up_to(max)).collect();
        assert!(draws.iter().all(|d| *d <= max));
        assert!(draws.iter().any(|d| *d < max / 4));
        assert!(draws.iter().any(|d| *d > max * 3 / 4));
        assert_eq!(rng.up_to(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn burners_are_counted_while_they_run() {
        let burners = Burners::default();
        assert_eq!(burners.start(2, Duration::from_millis(300)), 2);
        assert_eq!(burners.live(), 2);
        // Up to 30 s in 20 ms naps: the burners stop after 300 ms on a machine that is not starved.
        for _ in 0..1500 {
            if burners.live() == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(burners.live(), 0);
    }
}
