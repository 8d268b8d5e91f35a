//! Network faults without netem: a TCP proxy between the load balancer and one target replica,
//! with faults ("toxics", Toxiproxy's model) set at runtime over a small HTTP control API.
//!
//! The `sim` binary runs it inside a container as the hidden `sim target netproxy --listen
//! <port> --upstream <host:port> --control <port>`; the runner starts one per replica when a
//! scenario has network faults, and the balancer reaches each replica through its proxy.
//!
//! - [`pipe`]: the data path. Every accepted connection is piped to the upstream both ways; each
//!   chunk read is forwarded after the latency toxic's delay (per direction, as Toxiproxy's
//!   `latency` toxic does); the reset toxic closes a fraction of new connections at once with a
//!   TCP reset; the loss toxic blackholes a fraction of them (what packet loss looks like to a
//!   client of a TCP proxy: a timeout, not a reset).
//! - [`control`]: `GET /toxics` (state as JSON), `POST /toxics?latency_ms=&jitter_ms=&reset=&loss=`
//!   (sets the toxics given), `DELETE /toxics[?toxic=latency|reset|loss]` (clears one, or all).
//! - [`containers`]: the runner's side: one proxy container per replica on the run's network.

mod containers;
mod control;
mod pipe;

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

pub use containers::{alias, start, NetProxies, NetProxyError};
pub use control::Toxic;

/// The toxics in force on one proxy. All zero: the proxy passes traffic through untouched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Toxics {
    /// Delay added to every chunk forwarded, in each direction, in milliseconds.
    pub latency_ms: u64,
    /// Each chunk's delay varies uniformly by up to this much either way (never below zero).
    pub jitter_ms: u64,
    /// The fraction (0..=1) of new connections reset at once instead of being proxied, spread
    /// evenly over the connections since it was set.
    pub reset: f64,
    /// The fraction (0..=1) of new connections (of those not reset) accepted and then
    /// blackholed: read and discarded, never forwarded nor answered, until the client gives
    /// up. Spread evenly like `reset`.
    pub loss: f64,
}

/// What becomes of a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Proxy,
    Reset,
    Blackhole,
}

/// The toxics, shared by the control API and every connection: each chunk reads them afresh,
/// so a toxic set or cleared takes effect on connections already open.
#[derive(Debug, Default)]
struct State {
    toxics: Mutex<Toxics>,
    /// New connections since `reset` was last set.
    connections: AtomicU64,
    /// New connections not reset since `loss` was last set.
    loss_connections: AtomicU64,
}

impl State {
    fn toxics(&self) -> Toxics {
        // Plain values: a panic elsewhere cannot leave them half-written.
        *self
            .toxics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn update(&self, change: impl FnOnce(&mut Toxics)) -> Toxics {
        let mut toxics = self
            .toxics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (reset, loss) = (toxics.reset, toxics.loss);
        change(&mut toxics);
        if toxics.reset != reset {
            self.connections.store(0, Ordering::Relaxed);
        }
        if toxics.loss != loss {
            self.loss_connections.store(0, Ordering::Relaxed);
        }
        *toxics
    }

    /// How long to hold the chunk just read.
    fn delay(&self) -> Duration {
        let Toxics {
            latency_ms,
            jitter_ms,
            ..
        } = self.toxics();
        let ms = if jitter_ms == 0 {
            latency_ms
        } else {
            let offset = random() % (2 * jitter_ms + 1);
            (latency_ms + offset).saturating_sub(jitter_ms)
        };
        Duration::from_millis(ms)
    }

    /// What becomes of the next new connection: reset by the reset toxic's share, else
    /// blackholed by the loss toxic's share of the rest, else proxied.
    fn admit(&self) -> Verdict {
        let Toxics { reset, loss, .. } = self.toxics();
        if picked(&self.connections, reset) {
            Verdict::Reset
        } else if picked(&self.loss_connections, loss) {
            Verdict::Blackhole
        } else {
            Verdict::Proxy
        }
    }
}

/// Whether the next of the connections `counter` counts is among the `fraction` picked.
/// Connection `n` since the fraction `f` was set is picked when `floor((n+1)·f) > floor(n·f)`,
/// so exactly `f` of them are, evenly spread (all of them at 1, none at 0).
fn picked(counter: &AtomicU64, fraction: f64) -> bool {
    let n = counter.fetch_add(1, Ordering::Relaxed) as f64;
    ((n + 1.0) * fraction).floor() > (n * fraction).floor()
}

/// A pseudo-random number for jitter: std's per-process random SipHash keys (which differ for
/// every `RandomState`) over nothing.
fn random() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u8(0);
    hasher.finish()
}

/// Runs the proxy: connections accepted on `listen` go to `upstream` (resolved afresh for each
/// connection, so a replica restarted under the same name is found again); the control API
/// answers on `control`. Returns only if a listener fails.
pub async fn serve(
    listen: TcpListener,
    upstream: String,
    control: TcpListener,
) -> std::io::Result<()> {
    let state = Arc::new(State::default());
    tracing::info!(
        listen = ?listen.local_addr().ok(),
        control = ?control.local_addr().ok(),
        %upstream,
        "network proxy listening"
    );
    tokio::select! {
        result = axum::serve(control, control::router(state.clone())) => result,
        result = pipe::accept_loop(listen, upstream, state) => result,
    }
}

#[cfg(test)]
mod tests;
