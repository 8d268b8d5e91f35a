//! The Docker side of the Agent API's reads: the trial's targets, one of them by name, their
//! logs, and whether a name the trial does not know is a container outside the run (only
//! looked up, to answer 403 instead of 404).

use std::collections::{BTreeMap, HashMap};

use bollard::models::{ContainerInspectResponse, ContainerSummary};
use bollard::query_parameters::{ListContainersOptionsBuilder, LogsOptionsBuilder};
use futures_util::StreamExt;
use serde::Serialize;

use super::reply::ApiError;
use super::Api;
use crate::docker::{LABEL_RUN, LABEL_TARGET, LABEL_TRIAL};

/// A target of the trial as Docker describes it now.
pub(super) struct Target {
    /// Its `sim.target` label: the name the journal and the API know it by.
    pub(super) name: String,
    pub(super) inspect: ContainerInspectResponse,
}

/// What a name in a path is.
pub(super) enum Lookup {
    Target(Box<Target>),
    /// A container that exists but does not carry the run's label.
    Outside,
    /// Neither: no container, or one of the run that is not a target of the trial.
    Unknown,
}

/// A target as `GET /v1/targets` shows it.
#[derive(Debug, Serialize)]
pub(super) struct TargetView {
    name: String,
    /// Docker's state: `running`, `exited`, `paused`, `created`, `restarting`…
    state: String,
    /// Its HEALTHCHECK's verdict, if it has one.
    health: Option<String>,
    /// Docker's restart count.
    restarts: i64,
    image: String,
    labels: BTreeMap<String, String>,
    /// Its exit code once it stopped; `null` while it runs.
    exit_code: Option<i64>,
    oom_killed: bool,
}

impl Target {
    pub(super) fn id(&self) -> &str {
        self.inspect.id.as_deref().unwrap_or_default()
    }

    /// Whether it runs (paused counts as running, as for Docker).
    pub(super) fn running(&self) -> bool {
        self.inspect
            .state
            .as_ref()
            .and_then(|state| state.running)
            .unwrap_or(false)
    }

    pub(super) fn labels(&self) -> BTreeMap<String, String> {
        self.inspect
            .config
            .as_ref()
            .and_then(|config| config.labels.clone())
            .unwrap_or_default()
            .into_iter()
            .collect()
    }

    pub(super) fn view(&self) -> TargetView {
        let state = self.inspect.state.clone().unwrap_or_default();
        let status = state.status.map(|s| s.to_string()).unwrap_or_default();
        TargetView {
            name: self.name.clone(),
            health: state
                .health
                .and_then(|health| health.status)
                .map(|status| status.to_string())
                .filter(|status| !status.is_empty() && status != "none"),
            restarts: self.inspect.restart_count.unwrap_or_default(),
            image: self
                .inspect
                .config
                .as_ref()
                .and_then(|config| config.image.clone())
                .unwrap_or_default(),
            labels: self.labels(),
            exit_code: (!self.running()).then(|| state.exit_code.unwrap_or_default()),
            oom_killed: state.oom_killed.unwrap_or(false),
            state: if status.is_empty() {
                "unknown".to_owned()
            } else {
                status
            },
        }
    }
}

/// Whether `name` can be a Docker container name or id (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`), so that
/// nothing else reaches the engine's URL.
fn docker_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn names_it(summary: &ContainerSummary, name: &str) -> bool {
    let label = summary.labels.as_ref().and_then(|l| l.get(LABEL_TARGET));
    label.is_some_and(|label| label == name)
        || summary.id.as_deref() == Some(name)
        || summary
            .names
            .iter()
            .flatten()
            .any(|docker| docker.trim_start_matches('/') == name)
}

impl Api {
    /// The trial's target containers, running or not.
    async fn summaries(&self) -> Result<Vec<ContainerSummary>, ApiError> {
        let filters = HashMap::from([(
            "label",
            vec![
                format!("{LABEL_RUN}={}", self.run_id),
                format!("{LABEL_TRIAL}={}", self.trial),
                LABEL_TARGET.to_owned(),
            ],
        )]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        self.docker
            .list_containers(Some(options))
            .await
            .map_err(|e| ApiError::docker("list the trial's containers", e))
    }

    /// Inspects a trial target; `None` when it went away in the meantime.
    async fn inspect(&self, summary: &ContainerSummary) -> Result<Option<Target>, ApiError> {
        let (Some(id), Some(name)) = (
            summary.id.as_deref(),
            summary.labels.as_ref().and_then(|l| l.get(LABEL_TARGET)),
        ) else {
            return Ok(None);
        };
        match self.docker.inspect_container(id, None).await {
            Ok(inspect) => Ok(Some(Target {
                name: name.clone(),
                inspect,
            })),
            Err(error) if not_found(&error) => Ok(None),
            Err(error) => Err(ApiError::docker(&format!("inspect {name}"), error)),
        }
    }

    /// The trial's targets, by name.
    pub(super) async fn targets(&self) -> Result<Vec<Target>, ApiError> {
        let mut targets = Vec::new();
        for summary in self.summaries().await? {
            targets.extend(self.inspect(&summary).await?);
        }
        targets.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(targets)
    }

    /// What `name` is: a trial target (by its target name, Docker name, id or id prefix), a
    /// container outside the run, or unknown.
    pub(super) async fn find(&self, name: &str) -> Result<Lookup, ApiError> {
        if !docker_name(name) {
            return Ok(Lookup::Unknown);
        }
        let summaries = self.summaries().await?;
        if let Some(summary) = summaries.iter().find(|s| names_it(s, name)) {
            return self.lookup(summary).await;
        }
        // Docker also knows containers by an id prefix: a trial target's short id is fine.
        match self.docker.inspect_container(name, None).await {
            Ok(other) => {
                let labels = other.config.and_then(|c| c.labels).unwrap_or_default();
                if labels.get(LABEL_RUN) != Some(&self.run_id) {
                    return Ok(Lookup::Outside);
                }
                match summaries
                    .iter()
                    .find(|s| s.id.is_some() && s.id == other.id)
                {
                    Some(summary) => self.lookup(summary).await,
                    None => Ok(Lookup::Unknown),
                }
            }
            Err(error) if not_found(&error) => Ok(Lookup::Unknown),
            Err(error) => Err(ApiError::docker(&format!("look up {name}"), error)),
        }
    }

    async fn lookup(&self, summary: &ContainerSummary) -> Result<Lookup, ApiError> {
        Ok(match self.inspect(summary).await? {
            Some(target) => Lookup::Target(Box::new(target)),
            None => Lookup::Unknown,
        })
    }

    /// The last `lines` lines of `target`'s stdout and stderr.
    pub(super) async fn logs(
        &self,
        target: &Target,
        lines: usize,
    ) -> Result<Vec<String>, ApiError> {
        let options = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .tail(&lines.to_string())
            .build();
        let mut stream = self.docker.logs(target.id(), Some(options));
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ApiError::docker("read the logs", e))?;
            bytes.extend_from_slice(&chunk.into_bytes());
        }
        let text = String::from_utf8_lossy(&bytes);
        let all: Vec<&str> = text.lines().collect();
        let from = all.len().saturating_sub(lines);
        Ok(all[from..].iter().map(|line| (*line).to_owned()).collect())
    }
}

/// Docker's "no such container".
fn not_found(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_docker_names_reach_the_engine() {
        for good in ["leaky-0", "sim-r1-t1-leaky-0", "4f2a9c", "a_b.c"] {
            assert!(docker_name(good), "{good}");
        }
        for bad in ["", "../containers", "-x", "a/b", "a?b", "a b", ".hidden"] {
            assert!(!docker_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_target_is_named_by_its_label_its_docker_name_or_its_id() {
        let summary = ContainerSummary {
            id: Some("c0ffee".to_owned()),
            names: Some(vec!["/sim-r1-t1-leaky-0".to_owned()]),
            labels: Some(HashMap::from([(
                LABEL_TARGET.to_owned(),
                "leaky-0".to_owned(),
            )])),
            ..Default::default()
        };
        for name in ["leaky-0", "sim-r1-t1-leaky-0", "c0ffee"] {
            assert!(names_it(&summary, name), "{name}");
        }
        assert!(!names_it(&summary, "leaky-1"));
    }
}
