//! The one fake platform of the crate's unit tests: stats that grow on every sample, probes
//! sent to one loopback address (or to none: no port published), and every target at
//! [`ADDRESS`] on its network; each target's logs are the lines [`Fake::log_lines`] gives, then
//! silence. Signal streams come from the feeds a test opens ([`Fake::feed`]), one per call of
//! `signals`, then none (an empty stream); the targets listed and found are the test's.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use futures_util::future::{self, BoxFuture};
use futures_util::stream::{self, BoxStream};
use futures_util::{FutureExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::platform::{Platform, PlatformError, Scope, Stats};
use crate::signal::{Signal, TargetRef};

/// Stats grow by 10 MiB of memory and 0.5 s of CPU per sample, against a 100 MiB limit;
/// without an endpoint no port is published, so every probe fails at once.
#[derive(Default)]
pub(crate) struct Fake {
    pub(crate) samples: AtomicU64,
    /// Where probes go; `None`: not published.
    pub(crate) endpoint: Option<SocketAddr>,
    /// The lines every target's log has.
    pub(crate) log_lines: Vec<String>,
    /// The signal streams still to give, oldest first (see [`Fake::feed`]).
    pub(crate) feeds: Mutex<VecDeque<mpsc::UnboundedReceiver<Signaled>>>,
    /// When each call of `signals` was made.
    pub(crate) signals_asked: Mutex<Vec<Instant>>,
    /// What `targets` lists, once it has failed `targets_failing` more times.
    pub(crate) running: Mutex<Vec<TargetRef>>,
    pub(crate) targets_failing: AtomicU32,
    /// What `find_target` finds by name (running or stopped).
    pub(crate) existing: Vec<TargetRef>,
    /// The name of the target of every stats sample, in order.
    pub(crate) sampled: Mutex<Vec<String>>,
}

/// One item of a signal stream.
pub(crate) type Signaled = Result<Signal, PlatformError>;

impl Fake {
    /// Opens the signal stream a later call of `signals` gives (the first unused one, in the
    /// order opened); it ends when the sender is dropped.
    pub(crate) fn feed(&self) -> mpsc::UnboundedSender<Signaled> {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.feeds).push_back(rx);
        tx
    }
}

/// Locks `mutex`, poisoned or not (a test that panicked holding it already failed).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

pub(crate) const MIB: u64 = 1024 * 1024;
/// Every target's address on its network.
pub(crate) const ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5));

impl Platform for Fake {
    fn signals(&self, _scope: &Scope) -> BoxStream<'static, Result<Signal, PlatformError>> {
        lock(&self.signals_asked).push(Instant::now());
        match lock(&self.feeds).pop_front() {
            Some(rx) => stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            })
            .boxed(),
            None => stream::empty().boxed(),
        }
    }

    fn targets(&self, _scope: &Scope) -> BoxFuture<'_, Result<Vec<TargetRef>, PlatformError>> {
        let failing = self
            .targets_failing
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let listed = if failing {
            Err(PlatformError::Inspect {
                target: "the targets in scope".to_owned(),
                source: "connection refused".into(),
            })
        } else {
            Ok(lock(&self.running).clone())
        };
        future::ready(listed).boxed()
    }

    fn find_target(
        &self,
        _scope: &Scope,
        name: &str,
    ) -> BoxFuture<'_, Result<Option<TargetRef>, PlatformError>> {
        let found = self.existing.iter().find(|target| target.name == name);
        future::ready(Ok(found.cloned())).boxed()
    }

    fn logs(&self, _: &TargetRef) -> BoxStream<'static, Result<String, PlatformError>> {
        stream::iter(self.log_lines.clone().into_iter().map(Ok))
            .chain(stream::pending())
            .boxed()
    }

    fn restart(
        &self,
        _: &TargetRef,
        _: Duration,
        _: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        future::ready(Ok(())).boxed()
    }

    fn http_endpoint(
        &self,
        target: &TargetRef,
        port: u16,
    ) -> BoxFuture<'_, Result<SocketAddr, PlatformError>> {
        let endpoint = self.endpoint.ok_or(PlatformError::PortNotPublished {
            target: target.name.clone(),
            port,
        });
        future::ready(endpoint).boxed()
    }

    fn addresses(&self, _: &TargetRef) -> BoxFuture<'_, Result<Vec<IpAddr>, PlatformError>> {
        future::ready(Ok(vec![ADDRESS])).boxed()
    }

    fn stats(&self, target: &TargetRef) -> BoxFuture<'_, Result<Stats, PlatformError>> {
        lock(&self.sampled).push(target.name.clone());
        let n = self.samples.fetch_add(1, Ordering::SeqCst) + 1;
        future::ready(Ok(Stats {
            memory_bytes: 10 * MIB * n,
            memory_limit_bytes: Some(100 * MIB),
            cpu_total_ns: 500_000_000 * n,
            cpu_periods: 10 * n,
            cpu_throttled_periods: 4 * n,
        }))
        .boxed()
    }
}
