//! The one fake platform of the crate's unit tests: stats that grow on every sample, probes
//! sent to one loopback address (or to none: no port published), and every target at
//! [`ADDRESS`] on its network; each target's logs are the lines [`Fake::log_lines`] gives, then
//! silence.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::{self, BoxFuture};
use futures_util::stream::{self, BoxStream};
use futures_util::{FutureExt, StreamExt};

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
}

pub(crate) const MIB: u64 = 1024 * 1024;
/// Every target's address on its network.
pub(crate) const ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5));

impl Platform for Fake {
    fn signals(&self, _scope: &Scope) -> BoxStream<'static, Result<Signal, PlatformError>> {
        stream::empty().boxed()
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

    fn stats(&self, _: &TargetRef) -> BoxFuture<'_, Result<Stats, PlatformError>> {
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
