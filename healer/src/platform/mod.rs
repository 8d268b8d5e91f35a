//! The [`Platform`] trait: the only way the engine observes and changes the world.
//!
//! Implementations live in submodules ([`docker`]: one Docker engine's containers; [`swarm`]:
//! a Docker Swarm's services); only they may talk to a container engine.

#[cfg(feature = "docker")]
pub mod docker;
#[cfg(test)]
pub(crate) mod fake;
#[cfg(feature = "docker")]
pub mod swarm;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;

use crate::signal::{Signal, TargetRef};

/// An error's underlying cause, whatever the platform's client library is.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where targets run: Docker today; Swarm or Kubernetes later, without touching the engine.
pub trait Platform: Send + Sync {
    /// Every signal about targets in `scope`, as it happens. A stream that ends means the
    /// platform has no more signals: the engine finishes its open incidents and stops. An
    /// `Err(PlatformError::Connect)` means the platform went away for now (a daemon restart):
    /// the engine records `SourceLost`, calls `signals` again with backoff until a new stream
    /// and [`Platform::targets`] answer, then resyncs (see `engine/resync`). Any other `Err`
    /// means the source failed for good; the engine stops on it. A platform whose stream ends
    /// only when it goes away (Docker's) yields a `Connect` error instead of ending. The engine
    /// checks the scope again, so a platform that cannot filter by label may pass everything.
    fn signals(&self, scope: &Scope) -> BoxStream<'static, Result<Signal, PlatformError>>;

    /// The lines `target` writes to stdout and stderr, each once, as it writes them: first those
    /// of its current run (since it last started), then on through its restarts, until it is
    /// removed. The healer cuts long lines itself. Default: unsupported (one `Err`).
    fn logs(&self, target: &TargetRef) -> BoxStream<'static, Result<String, PlatformError>> {
        let error = PlatformError::Unsupported {
            target: target.name.clone(),
            operation: "follow the logs of",
        };
        futures_util::stream::once(std::future::ready(Err(error))).boxed()
    }

    /// Restarts `target`, giving up after `timeout`. A target that does not run (it exited,
    /// or was created and never started) is only started. One that runs is stopped first,
    /// with `grace` (see [`Platform::stop`]), and started once it no longer runs.
    fn restart(
        &self,
        target: &TargetRef,
        grace: Duration,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>>;

    /// Where this host reaches `container_port` of `target` now: a port it publishes on this
    /// host, else its own address on a network this host is on. Asked afresh every time,
    /// because a restart can move a published port or change the address.
    fn http_endpoint(
        &self,
        target: &TargetRef,
        container_port: u16,
    ) -> BoxFuture<'_, Result<SocketAddr, PlatformError>>;

    /// Stops `target`: its stop signal (SIGTERM unless it names another), then SIGKILL once
    /// `grace` has passed; with a zero `grace`, SIGKILL at once (a hung or paused process cannot
    /// handle SIGTERM, so waiting for it only delays the restart). Gives up after `timeout`.
    /// Stopping a stopped target succeeds. Default: unsupported.
    fn stop(
        &self,
        target: &TargetRef,
        grace: Duration,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        let _ = (grace, timeout);
        unsupported(target, "stop")
    }

    /// Sends the Unix signal `signal` (`SIGHUP`…) to the target's main process. Default:
    /// unsupported.
    fn send_signal(
        &self,
        target: &TargetRef,
        signal: &str,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        let _ = (signal, timeout);
        unsupported(target, "signal")
    }

    /// Resumes a paused `target`: its processes go on where they were frozen, with their
    /// state. A target that is not paused is an error. Gives up after `timeout`. Default:
    /// unsupported.
    fn unpause(
        &self,
        target: &TargetRef,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        let _ = timeout;
        unsupported(target, "unpause")
    }

    /// Removes `target` and creates it again from the same configuration (image, command,
    /// environment, labels, limits, ports, name), then starts it. Gives the new target (a new
    /// id). Default: unsupported.
    fn recreate(
        &self,
        target: &TargetRef,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<TargetRef, PlatformError>> {
        let _ = timeout;
        unsupported_with(target, "recreate")
    }

    /// Recreates `target` from its previous image. Where the previous image comes from is the
    /// platform's rule (Docker: the label [`PREVIOUS_IMAGE_LABEL`]); without one, an error.
    /// Default: unsupported.
    fn rollback(
        &self,
        target: &TargetRef,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<TargetRef, PlatformError>> {
        let _ = timeout;
        unsupported_with(target, "roll back")
    }

    /// Changes the number of replicas of `target` (see [`Scale`]); gives how many run after.
    /// Default: unsupported.
    fn scale(
        &self,
        target: &TargetRef,
        scale: Scale,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<u32, PlatformError>> {
        let _ = (scale, timeout);
        unsupported_with(target, "scale")
    }

    /// Changes `target`'s memory and/or CPU limits in place. Default: unsupported.
    fn update_limits(
        &self,
        target: &TargetRef,
        limits: Limits,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        let _ = (limits, timeout);
        unsupported(target, "update the limits of")
    }

    /// The targets in `scope` running now, so the healer can start probing and sampling them.
    /// Default: none (the healer then learns targets from their `start` signals).
    fn targets(&self, scope: &Scope) -> BoxFuture<'_, Result<Vec<TargetRef>, PlatformError>> {
        let _ = scope;
        Box::pin(std::future::ready(Ok(Vec::new())))
    }

    /// The addresses `target` has on its networks, as a load balancer in front of it knows
    /// it. Default: unsupported.
    fn addresses(&self, target: &TargetRef) -> BoxFuture<'_, Result<Vec<IpAddr>, PlatformError>> {
        unsupported_with(target, "list the addresses of")
    }

    /// One sample of `target`'s resource usage. Default: unsupported.
    fn stats(&self, target: &TargetRef) -> BoxFuture<'_, Result<Stats, PlatformError>> {
        Box::pin(std::future::ready(Err(PlatformError::Unsupported {
            target: target.name.clone(),
            operation: "sample stats of",
        })))
    }

    /// The target in `scope` called `name` (its `healer.name` label, else the container name),
    /// if there is one; used to resolve alerts to targets. Default: none is found.
    fn find_target(
        &self,
        scope: &Scope,
        name: &str,
    ) -> BoxFuture<'_, Result<Option<TargetRef>, PlatformError>> {
        let _ = (scope, name);
        Box::pin(std::future::ready(Ok(None)))
    }
}

fn unsupported_with<'a, T: Send + 'a>(
    target: &TargetRef,
    operation: &'static str,
) -> BoxFuture<'a, Result<T, PlatformError>> {
    Box::pin(std::future::ready(Err(PlatformError::Unsupported {
        target: target.name.clone(),
        operation,
    })))
}

fn unsupported<'a>(
    target: &TargetRef,
    operation: &'static str,
) -> BoxFuture<'a, Result<(), PlatformError>> {
    Box::pin(std::future::ready(Err(PlatformError::Unsupported {
        target: target.name.clone(),
        operation,
    })))
}

/// An action on `target` failed because of `source`.
#[cfg(feature = "docker")]
fn action_error(target: &TargetRef, operation: &'static str, source: BoxError) -> PlatformError {
    PlatformError::Action {
        target: target.name.clone(),
        operation,
        source,
    }
}

/// Runs a platform operation with a time limit.
#[cfg(feature = "docker")]
async fn timed_platform<T>(
    target: &TargetRef,
    operation: &'static str,
    timeout: Duration,
    call: impl std::future::Future<Output = Result<T, PlatformError>>,
) -> Result<T, PlatformError> {
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or_else(|_| {
            Err(PlatformError::Timeout {
                target: target.name.clone(),
                operation,
                after: timeout,
            })
        })
}

/// The target label naming the image to roll back to. Whoever deploys a new image sets it to
/// the image that ran before (e.g. `sim-leaky:1` when deploying `sim-leaky:2`); a rollback
/// recreates the target from it and moves the bad image to [`ROLLED_BACK_FROM_LABEL`].
pub const PREVIOUS_IMAGE_LABEL: &str = "healer.previous-image";
/// Set by a rollback on the recreated target: the image it rolled back from.
pub const ROLLED_BACK_FROM_LABEL: &str = "healer.rolled-back-from";

/// How to change a target's number of replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Exactly this many (the original counts as one; it is never removed).
    To(u32),
    /// This many more (positive) or fewer (negative), never fewer than one.
    By(i32),
}

impl Scale {
    /// The replica count wanted when `now` run, at least 1.
    pub fn wanted(self, now: u32) -> u32 {
        match self {
            Scale::To(n) => n.max(1),
            Scale::By(by) => now.saturating_add_signed(by).max(1),
        }
    }
}

/// New resource limits; `None` leaves a limit as it is.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Limits {
    /// Memory limit in bytes.
    pub memory_bytes: Option<u64>,
    /// CPU limit, in CPUs (1.5 = one and a half cores).
    pub cpus: Option<f64>,
}

/// One sample of a target's resource usage, as the platform counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Memory in use, without the reclaimable page cache.
    pub memory_bytes: u64,
    /// The memory limit, when the platform knows one.
    pub memory_limit_bytes: Option<u64>,
    /// CPU time used since the target started, in nanoseconds (a counter: CPU % needs two samples).
    pub cpu_total_ns: u64,
    /// Scheduler periods (100 ms each by default) the target ran in under a CPU limit: a counter.
    pub cpu_periods: u64,
    /// Of those, the periods in which it used up its quota and was held back: a counter.
    pub cpu_throttled_periods: u64,
}

/// Which targets the healer may touch: those carrying all of `labels`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Label name → required value; [`ANY_VALUE`] requires only that the label is there.
    pub labels: BTreeMap<String, String>,
}

/// A scope value that any value of the label matches: `healer.previous-image: "*"` selects
/// the targets that have the label at all.
pub const ANY_VALUE: &str = "*";

impl Scope {
    /// Whether `target` carries every label of the scope (with the value required, if any).
    pub fn contains(&self, target: &TargetRef) -> bool {
        self.labels.iter().all(|(key, value)| {
            target
                .labels
                .get(key)
                .is_some_and(|found| value == ANY_VALUE || found == value)
        })
    }
}

/// A platform operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// The platform cannot be reached at all.
    #[error("cannot connect to the platform: {source}")]
    Connect { source: BoxError },
    /// The platform's stream of signals failed.
    #[error("the platform's signal stream failed: {source}")]
    Signals { source: BoxError },
    /// Restarting a target failed.
    #[error("cannot restart {target}: {source}")]
    Restart { target: String, source: BoxError },
    /// An action on a target failed.
    #[error("cannot {operation} {target}: {source}")]
    Action {
        target: String,
        operation: &'static str,
        source: BoxError,
    },
    /// This platform cannot do that.
    #[error("this platform cannot {operation} {target}")]
    Unsupported {
        target: String,
        operation: &'static str,
    },
    /// Looking up a target's state failed.
    #[error("cannot inspect {target}: {source}")]
    Inspect { target: String, source: BoxError },
    /// The target does not publish the port on this host.
    #[error("{target} does not publish port {port}/tcp on this host")]
    PortNotPublished { target: String, port: u16 },
    /// The target publishes no host port for the port, and this host is on none of its
    /// networks; `tried` says what was looked at.
    #[error("{target} cannot be reached on port {port}/tcp from this host: {tried}")]
    Unreachable {
        target: String,
        port: u16,
        tried: String,
    },
    /// An operation did not finish in time.
    #[error("{operation} of {target} did not finish within {after:?}")]
    Timeout {
        target: String,
        operation: &'static str,
        after: Duration,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_requires_every_label_with_its_value_or_any_value_for_a_star() {
        let target = |labels: &[(&str, &str)]| TargetRef {
            id: "c1".to_owned(),
            name: "leaky-0".to_owned(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        let scope = |labels: &[(&str, &str)]| Scope {
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        let deployed = target(&[("app", "shop"), (PREVIOUS_IMAGE_LABEL, "sim-leaky:1")]);
        let original = target(&[("app", "shop")]);
        let rollbackable = scope(&[("app", "shop"), (PREVIOUS_IMAGE_LABEL, ANY_VALUE)]);
        assert!(rollbackable.contains(&deployed));
        assert!(!rollbackable.contains(&original), "no label, no match");
        assert!(scope(&[("app", "shop")]).contains(&original));
        assert!(!scope(&[("app", "blog")]).contains(&original));
        assert!(scope(&[]).contains(&original));
    }
}
