//! sim: a chaos simulator and self-healing test harness.
//!
//! `sim run <scenario>` starts target containers on a private Docker network, drives HTTP load
//! at them, injects faults on a schedule, lets the embedded healer (the `healer` crate) act, and
//! records everything in a journal from which the `reports` crate computes MTTR and verdicts.
//! `main.rs` only calls [`cli::main`].

pub mod agent;
pub mod alerting;
pub mod balancer;
pub mod cli;
pub mod compare;
pub mod compose;
pub mod docker;
pub mod exit;
pub mod faults;
pub mod healthcheck;
pub mod interrupt;
pub mod load;
pub mod monitoring;
pub mod netproxy;
pub mod prober;
pub mod progress;
pub mod runner;
pub mod scenario;
pub mod strategy;
pub mod swarm;
