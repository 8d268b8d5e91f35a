//! The containerised monitoring stack: Prometheus and Alertmanager on a run's network, with
//! generated configuration, the scenario's own rule files, and Alertmanager's webhook delivered
//! to a receiver on the network's gateway (where the embedded healer listens).
//!
//! Order of use for a runner: [`resolve_stack_images`] once per run; per trial a
//! [`WebhookReceiver`] bound to [`RunResources::gateway_ip`](crate::docker::RunResources::gateway_ip),
//! then [`start_stack`] with the trial's targets; the run's cleanup removes the containers by
//! label, or [`MonitoringStack::remove`] earlier.

mod config;
mod receiver;
mod rules;
mod stack;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use config::{
    duration as config_duration, ScrapeJob, ScrapeTarget, Timing, ALERTMANAGER_PORT,
    PROMETHEUS_PORT,
};
pub use receiver::{Delivery, WebhookReceiver, WEBHOOK_PATH};
pub use rules::{check_rule_files, find_promtool};
pub use stack::{
    alertmanager_image_choice, prometheus_image_choice, resolve_stack_images, start_stack,
    MonitoringStack, Service, StackImages, StackSpec, ALERTMANAGER_ROLE, PROMETHEUS_ROLE,
    PULL_TIMEOUT,
};

/// Starting or feeding the monitoring stack failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MonitoringError {
    #[error(transparent)]
    Image(#[from] crate::docker::ImageError),
    #[error("docker: {0}")]
    Docker(#[from] bollard::errors::Error),
    #[error("cannot read rule file {path}: {source}")]
    ReadRules {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("rule file {path} is invalid:\n{detail}")]
    InvalidRules { path: PathBuf, detail: String },
    #[error("cannot run {promtool} to check rule files: {source}")]
    Promtool {
        promtool: PathBuf,
        source: std::io::Error,
    },
    #[error("{role} exited with code {code} before it was ready; its log ends with:\n{log}")]
    Exited {
        role: String,
        code: i64,
        log: String,
    },
    #[error("{role} was not ready at {url} after {timeout:?}; its log ends with:\n{log}")]
    NotReady {
        role: String,
        url: String,
        timeout: Duration,
        log: String,
    },
    #[error("cannot serve the alert webhook on {addr}: {source}")]
    Receiver {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP client: {detail}")]
    Http { detail: String },
}
