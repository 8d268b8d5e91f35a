//! The [`Platform`] trait: the only way the engine observes and changes the world.
//!
//! Implementations live in submodules ([`docker`]); only they may talk to a container engine.

pub mod docker;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

use crate::signal::{Signal, TargetRef};

/// An error's underlying cause, whatever the platform's client library is.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where targets run: Docker today; Swarm or Kubernetes later, without touching the engine.
pub trait Platform: Send + Sync {
    /// Every signal about targets in `scope`, as it happens, until the platform goes away.
    /// An `Err` item means the source failed; the engine stops on it. The engine checks the
    /// scope again, so a platform that cannot filter by label may pass everything.
    fn signals(&self, scope: &Scope) -> BoxStream<'static, Result<Signal, PlatformError>>;

    /// Restarts `target` (also when it has already exited), giving up after `timeout`.
    fn restart(
        &self,
        target: &TargetRef,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>>;

    /// Where this host reaches `container_port` of `target` now. Asked afresh every time,
    /// because a restart can move a published port.
    fn http_endpoint(
        &self,
        target: &TargetRef,
        container_port: u16,
    ) -> BoxFuture<'_, Result<SocketAddr, PlatformError>>;

    /// Stops `target`; stopping a stopped target succeeds. Default: unsupported.
    fn stop(
        &self,
        target: &TargetRef,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        let _ = timeout;
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

fn unsupported<'a>(
    target: &TargetRef,
    operation: &'static str,
) -> BoxFuture<'a, Result<(), PlatformError>> {
    Box::pin(std::future::ready(Err(PlatformError::Unsupported {
        target: target.name.clone(),
        operation,
    })))
}

/// Which targets the healer may touch: those carrying all of `labels`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Label name → required value.
    pub labels: BTreeMap<String, String>,
}

impl Scope {
    /// Whether `target` carries every label of the scope.
    pub fn contains(&self, target: &TargetRef) -> bool {
        self.labels
            .iter()
            .all(|(key, value)| target.labels.get(key) == Some(value))
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
    /// An operation did not finish in time.
    #[error("{operation} of {target} did not finish within {after:?}")]
    Timeout {
        target: String,
        operation: &'static str,
        after: Duration,
    },
}
