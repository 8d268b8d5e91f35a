//! A deliberately faulty HTTP service, the target of chaos scenarios.
//!
//! It runs as a static binary in a `FROM scratch` container (the `sim` binary's hidden
//! subcommand calls [`serve`]), so it needs nothing but a socket and `/proc/self/statm`.
//!
//! # Endpoints
//! - `GET /`: a little real CPU work (hashing), plus the per-request leak and injected latency.
//! - `GET /health`: `200 ok`; `503` when [`Config::fail_health`] is set (a bad deploy), or while
//!   the dependency of [`Config::dependency_url`] does not answer (then `GET /` answers 503 too).
//! - `GET /metrics`: Prometheus text format 0.0.4: `process_resident_memory_bytes`,
//!   `leaky_leaked_bytes`, `leaky_http_requests_total{path,code}`,
//!   `leaky_http_request_duration_seconds{path}` (histogram), `leaky_inflight_requests`,
//!   `leaky_build_info{version}`, `leaky_cpu_burners`, `leaky_dependency_up` (1 without one).
//! - `GET /chaos`: the current faults as JSON.
//! - Chaos controls (`POST`, query parameters; `200` with JSON `{done, state}`, `400` with a
//!   message for bad or unknown parameters):
//!   - `/chaos/leak?mib=N`: leak N MiB now. Leaked memory is written, so it is resident.
//!   - `/chaos/leak-rate?mib_per_sec=M`: leak M MiB/s in slices every 50 ms; 0 stops.
//!   - `/chaos/leak-per-request?bytes=B`: leak B bytes on every `GET /`; 0 stops.
//!   - `/chaos/cpu?threads=T&secs=S`: busy-loop T OS threads (1-64, default 1) for S seconds
//!     (default 10).
//!   - `/chaos/latency?ms=X&jitter_ms=Y`: delay `GET /` and `/health` by X ms plus uniform
//!     0..=Y ms;
//!     `ms=0` clears.
//!   - `/chaos/hang`: answers this request, then never answers any request again, `/health` and
//!     `/metrics` included; the process stays alive. It cannot be undone over HTTP, since
//!     nothing answers: the cure is a restart.
//!   - `/chaos/crash?code=C`: answers, then exits the process with code C (default 1) ~50 ms later.
//!   - `/chaos/log?line=TEXT&count=N&stream=stderr|stdout&fail=true`: writes TEXT (one line, at
//!     most 1,000 characters) N times (1-10000, default 1) to stderr (default) or stdout; with
//!     `fail`, `GET /` answers 503 with TEXT until the process restarts, while `/health` stays
//!     `200` (only the log tells).
//!   - `/chaos/free`: frees every leak and stops the leak rate and the per-request leak (the hook
//!     for a "clear cache" remediation); the reply carries `freed_bytes`.
//! - `POST /cache/clear`: frees what the leaks hold but leaves them running, like clearing a
//!   cache that keeps filling (the `cache-bloat` scenario's HTTP remediation).
//!
//! # Start-up
//! With `LEAKY_CRASH_ON_START_FILE=<path>` set, the service refuses to start (exit 2, via
//! [`Config::from_env`]) while that file exists and is not empty: sim's `crash-loop` fault writes
//! the file into the container, so every restart fails until the fault empties it again.

mod chaos_log;
mod config;
mod dependency;
mod handlers;
mod leak;
mod metrics;
mod params;
mod rules;
mod state;
mod work;

use std::io;

use tokio::net::TcpListener;

pub use config::{Config, ConfigError, CRASH_ON_START_VAR, DEPENDENCY_URL_VAR};

/// Serves the leaky service on `listener` until the process ends. [`Config::port`] is not used
/// here: the caller binds the listener (usually on that port).
pub async fn serve(config: Config, listener: TcpListener) -> io::Result<()> {
    tracing::info!(
        addr = ?listener.local_addr().ok(),
        version = %config.version,
        "leaky service listening"
    );
    axum::serve(listener, router(config))
        .with_graceful_shutdown(terminated())
        .await
}

/// How long requests in flight may finish after SIGTERM before the process exits anyway (a
/// slow or hung request must not hold a restart up).
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_millis(300);

/// Resolves on SIGTERM, as `docker stop`/`docker restart` send it, and arms an exit after
/// [`SHUTDOWN_GRACE`]. As PID 1 in its container the service would otherwise ignore SIGTERM,
/// and every restart would wait out Docker's grace period before a SIGKILL.
async fn terminated() {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        return std::future::pending().await;
    };
    term.recv().await;
    tracing::info!("SIGTERM: finishing requests in flight, then exiting");
    std::thread::spawn(|| {
        std::thread::sleep(SHUTDOWN_GRACE);
        std::process::exit(0);
    });
}

/// The service as a router, its state inside; for in-process use. Call it within a Tokio
/// runtime when [`Config::leak_bytes_per_sec`] is set, since the leak runs as a task.
pub fn router(config: Config) -> axum::Router {
    handlers::router(state::State::new(config))
}
