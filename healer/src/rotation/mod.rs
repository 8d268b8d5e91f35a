//! A load balancer's rotation: the `drain` step takes a target out of it before a planned
//! action (a preemptive restart), so no user request meets the restart, and the incident puts
//! it back once it ends (after verification, whatever its outcome: the balancer's own health
//! checks keep a broken server out).
//!
//! The balancer names its servers by address; the platform gives the target's addresses
//! ([`crate::Platform::addresses`]). [`Haproxy`] is the implementation, over HAProxy's runtime
//! API.

mod haproxy;

use std::net::IpAddr;
use std::time::Duration;

use futures_util::future::BoxFuture;

pub use haproxy::Haproxy;

/// Takes servers out of a balancer's rotation and puts them back.
pub trait Rotation: Send + Sync {
    /// Stops new requests going to the servers at `addresses` and waits, at most `wait`, for
    /// those in flight to finish. No server at them is no error (the target is not behind
    /// this balancer: nothing to drain); `Err` when the balancer cannot be reached or refuses.
    fn drain<'a>(
        &'a self,
        addresses: &'a [IpAddr],
        wait: Duration,
    ) -> BoxFuture<'a, Result<Drained, String>>;

    /// Puts the `drained` servers back in rotation.
    fn restore<'a>(&'a self, drained: &'a Drained) -> BoxFuture<'a, Result<(), String>>;
}

/// Servers a [`Rotation::drain`] took out, and how that went.
#[derive(Debug, Clone, PartialEq)]
pub struct Drained {
    /// The balancer's names for them, in the rotation's backend (`leaky-0-1`).
    pub servers: Vec<String>,
    /// Requests still in flight on them when the drain stopped waiting (0: all finished).
    pub in_flight: u64,
}
