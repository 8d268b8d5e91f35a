//! `--strategy autoheal`: docker-autoheal's behaviour. Every target gets a Docker HEALTHCHECK
//! running `sim target probe` (see `healthcheck`), and a poller (`docker::autoheal`) restarts
//! the trial's containers Docker marks `unhealthy`.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{secs, Strategy, Trial};
use crate::docker::{self, HealthCheck, TargetSpec};

/// docker-autoheal: a Docker HEALTHCHECK every `interval` (`retries` failures make the container
/// `unhealthy`) and a poller restarting unhealthy containers every `poll`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Autoheal {
    pub interval: Duration,
    pub retries: u32,
    pub poll: Duration,
}

impl Autoheal {
    /// docker-autoheal at its defaults: Docker's HEALTHCHECK defaults (30s interval, 3 retries)
    /// and autoheal's 5s poll.
    pub const DEFAULTS: Autoheal = Autoheal {
        interval: Duration::from_secs(30),
        retries: 3,
        poll: Duration::from_secs(5),
    };
}

impl Strategy for Autoheal {
    fn name(&self) -> &'static str {
        "autoheal"
    }

    fn settings(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("interval".to_owned(), secs(self.interval)),
            ("retries".to_owned(), self.retries.to_string()),
            ("poll".to_owned(), secs(self.poll)),
        ])
    }

    /// Docker judges the target's health: `sim target probe` at its health path.
    fn shape_target(&self, spec: &mut TargetSpec) {
        spec.healthcheck = Some(HealthCheck {
            test: [
                "CMD",
                &program_in_image(),
                "target",
                "probe",
                &format!("http://127.0.0.1:{}{}", spec.port, spec.health_path),
            ]
            .map(str::to_owned)
            .to_vec(),
            interval: self.interval,
            // Docker's default; `sim target probe` gives up after 2s anyway.
            timeout: Duration::from_secs(30),
            retries: self.retries,
        });
    }

    fn heal(&self, trial: &Trial<'_>, cancel: CancellationToken) -> Option<JoinHandle<()>> {
        Some(tokio::spawn(docker::autoheal(
            trial.docker.clone(),
            trial.label_filters(),
            self.poll,
            trial.narrator.clone(),
            cancel,
        )))
    }
}

/// Where this binary sits in the built-in target's image (`/sim`): the health check runs
/// `sim target probe` there.
fn program_in_image() -> String {
    let name = std::env::current_exe()
        .ok()
        .and_then(|path| path.file_name().map(|n| n.to_string_lossy().into_owned()));
    format!("/{}", name.unwrap_or_else(|| "sim".to_owned()))
}
