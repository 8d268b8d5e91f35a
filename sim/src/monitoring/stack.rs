//! Starting Prometheus and Alertmanager on a run's network: their images, their generated
//! configuration and the scenario's rule files written into the containers before they start,
//! and a bounded wait for `/-/ready`.

use std::path::PathBuf;
use std::time::Duration;

use tokio::time::Instant;

use super::config::{
    alertmanager_yml, prometheus_yml, targets_json, targets_path, ScrapeJob, Timing,
    ALERTMANAGER_CONFIG, ALERTMANAGER_PORT, PROMETHEUS_CONFIG, PROMETHEUS_PORT,
};
use super::rules::{blame_rule_file, check_rule_files, read_rule_files, RuleFile};
use super::MonitoringError;
use crate::docker::{
    resolve_image, ImageChoice, ResolvedImage, RunResources, ServiceSpec, TargetContainer,
    LABEL_TARGET,
};

/// Service names: the containers are `sim-<run>-<name>`, reachable as `<name>` on the run
/// network and labelled `sim.target=<name>`.
pub const PROMETHEUS_ROLE: &str = "prometheus";
pub const ALERTMANAGER_ROLE: &str = "alertmanager";

/// Writable storage (a tmpfs) of both containers. Not `/prometheus`: in a host-program image
/// that path is the program itself.
const STORAGE: &str = "/sim-data";

/// How long a pull of an official image may take before the host program is used instead.
pub const PULL_TIMEOUT: Duration = Duration::from_secs(5);

/// Where Prometheus's image comes from: `prom/prometheus` if present or pullable, else the host's
/// `/usr/bin/prometheus` (Debian package `prometheus`) with its web UI assets.
pub fn prometheus_image_choice() -> ImageChoice {
    ImageChoice {
        official: "prom/prometheus:latest".to_owned(),
        host_program: PathBuf::from("/usr/bin/prometheus"),
        repository: "sim-prometheus".to_owned(),
        extra_paths: debian_prometheus_ui(),
        install_hint: "apt-get install prometheus".to_owned(),
    }
}

/// Debian's classic web UI (served under `/classic/`): its templates and static files, which are
/// symlinks into `/usr/share/javascript`. All of `moment-timezone` but the one script the UI loads
/// would add 200 MB of time-zone data.
fn debian_prometheus_ui() -> Vec<PathBuf> {
    const WEB: &str = "/usr/share/prometheus/web";
    let mut paths = vec![PathBuf::from(format!("{WEB}/templates"))];
    let static_dirs = [
        "bootstrap4",
        "css",
        "d3",
        "eonasdan-bootstrap-datetimepicker",
        "img",
        "jquery",
        "jquery-hotkeys",
        "js",
        "moment",
        "moment-timezone/moment-timezone-with-data.min.js",
        "mustache",
        "popper.js",
        "rickshaw",
        "vendor",
    ];
    paths.extend(
        static_dirs
            .iter()
            .map(|dir| PathBuf::from(format!("{WEB}/static/{dir}"))),
    );
    paths
}

/// Where Alertmanager's image comes from: `prom/alertmanager`, else the host's
/// `/usr/bin/prometheus-alertmanager` (Debian package `prometheus-alertmanager`).
pub fn alertmanager_image_choice() -> ImageChoice {
    ImageChoice {
        official: "prom/alertmanager:latest".to_owned(),
        host_program: PathBuf::from("/usr/bin/prometheus-alertmanager"),
        repository: "sim-alertmanager".to_owned(),
        extra_paths: vec![PathBuf::from("/usr/share/prometheus/alertmanager")],
        install_hint: "apt-get install prometheus-alertmanager".to_owned(),
    }
}

/// The two images of the stack.
#[derive(Debug, Clone)]
pub struct StackImages {
    pub prometheus: ResolvedImage,
    pub alertmanager: ResolvedImage,
}

/// Resolves both images (local, pulled, or built from the host's programs), once per run.
pub async fn resolve_stack_images(
    resources: &RunResources,
) -> Result<StackImages, MonitoringError> {
    let docker = resources.docker();
    Ok(StackImages {
        prometheus: resolve_image(docker, &prometheus_image_choice(), PULL_TIMEOUT).await?,
        alertmanager: resolve_image(docker, &alertmanager_image_choice(), PULL_TIMEOUT).await?,
    })
}

/// What to monitor and where to send alerts.
#[derive(Debug, Clone)]
pub struct StackSpec {
    pub jobs: Vec<ScrapeJob>,
    /// The scenario's rule files, standard Prometheus format.
    pub rule_files: Vec<PathBuf>,
    /// Alertmanager's webhook target, e.g. [`super::WebhookReceiver::url`].
    pub webhook_url: String,
    pub timing: Timing,
    /// `promtool` for checking rule files before anything starts; `None` leaves the check to
    /// Prometheus itself (its log is read if it exits).
    pub promtool: Option<PathBuf>,
    /// How long each container may take to answer `/-/ready`.
    pub ready_timeout: Duration,
}

/// One started service of the stack.
#[derive(Debug, Clone)]
pub struct Service {
    /// `name` is the service's name on the run network.
    pub container: TargetContainer,
    /// Its UI and API on 127.0.0.1, e.g. `http://127.0.0.1:41234`.
    pub url: String,
}

/// A running stack. Its containers carry the run's labels, so the run's cleanup removes them;
/// [`MonitoringStack::remove`] removes them earlier.
#[derive(Debug, Clone)]
pub struct MonitoringStack {
    pub prometheus: Service,
    pub alertmanager: Service,
}

impl MonitoringStack {
    /// Removes both containers.
    pub async fn remove(&self, resources: &RunResources) -> Result<(), MonitoringError> {
        remove_helpers(resources).await
    }
}

/// Checks the rule files, starts Alertmanager then Prometheus on the run network, and waits until
/// both are ready. On error nothing of the stack is left running.
pub async fn start_stack(
    resources: &RunResources,
    images: &StackImages,
    spec: &StackSpec,
) -> Result<MonitoringStack, MonitoringError> {
    let rules = read_rule_files(&spec.rule_files)?;
    if let Some(promtool) = &spec.promtool {
        check_rule_files(promtool, &spec.rule_files)?;
    }
    let started = start_both(resources, images, spec, &rules).await;
    if started.is_err() {
        if let Err(e) = remove_helpers(resources).await {
            tracing::warn!("cannot remove the monitoring containers: {e}");
        }
    }
    started
}

async fn start_both(
    resources: &RunResources,
    images: &StackImages,
    spec: &StackSpec,
    rules: &[RuleFile],
) -> Result<MonitoringStack, MonitoringError> {
    let alertmanager = resources
        .start_service(&ServiceSpec {
            name: ALERTMANAGER_ROLE.to_owned(),
            image: images.alertmanager.tag.clone(),
            args: vec![
                format!("--config.file={ALERTMANAGER_CONFIG}"),
                format!("--storage.path={STORAGE}"),
                "--cluster.listen-address=".to_owned(),
                format!("--web.listen-address=:{ALERTMANAGER_PORT}"),
            ],
            port: ALERTMANAGER_PORT,
            also_published: vec![],
            files: vec![(
                ALERTMANAGER_CONFIG.to_owned(),
                alertmanager_yml(&spec.webhook_url, &spec.timing).into_bytes(),
            )],
            tmpfs: vec![STORAGE.to_owned()],
        })
        .await?;
    let alertmanager = wait_ready(resources, ALERTMANAGER_ROLE, alertmanager, &[], spec).await?;

    let rule_paths: Vec<String> = rules.iter().map(|r| r.container_path.clone()).collect();
    let alertmanager_address = format!("{}:{ALERTMANAGER_PORT}", alertmanager.container.name);
    let mut files = vec![(
        PROMETHEUS_CONFIG.to_owned(),
        prometheus_yml(&spec.jobs, &rule_paths, &alertmanager_address, &spec.timing).into_bytes(),
    )];
    files.extend(
        spec.jobs
            .iter()
            .map(|job| (targets_path(&job.job), targets_json(job).into_bytes())),
    );
    files.extend(
        rules
            .iter()
            .map(|r| (r.container_path.clone(), r.content.clone())),
    );
    let prometheus = resources
        .start_service(&ServiceSpec {
            name: PROMETHEUS_ROLE.to_owned(),
            image: images.prometheus.tag.clone(),
            args: vec![
                format!("--config.file={PROMETHEUS_CONFIG}"),
                format!("--storage.tsdb.path={STORAGE}"),
                format!("--web.listen-address=:{PROMETHEUS_PORT}"),
            ],
            port: PROMETHEUS_PORT,
            also_published: vec![],
            files,
            tmpfs: vec![STORAGE.to_owned()],
        })
        .await?;
    let prometheus = wait_ready(resources, PROMETHEUS_ROLE, prometheus, rules, spec).await?;
    Ok(MonitoringStack {
        prometheus,
        alertmanager,
    })
}

/// Polls `/-/ready` until it answers 200, the container exits, or the deadline passes.
async fn wait_ready(
    resources: &RunResources,
    role: &str,
    container: TargetContainer,
    rules: &[RuleFile],
    spec: &StackSpec,
) -> Result<Service, MonitoringError> {
    let url = format!("http://127.0.0.1:{}", container.host_port);
    let ready = format!("{url}/-/ready");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .map_err(|e| MonitoringError::Http {
            detail: e.to_string(),
        })?;
    let deadline = Instant::now() + spec.ready_timeout;
    loop {
        if let Ok(response) = client.get(&ready).send().await {
            if response.status().is_success() {
                return Ok(Service { container, url });
            }
        }
        if let Some(code) = resources.exit_code(&container.id).await? {
            let log = resources.logs(&container.id, 40).await.unwrap_or_default();
            return Err(
                blame_rule_file(rules, &log).unwrap_or(MonitoringError::Exited {
                    role: role.to_owned(),
                    code,
                    log,
                }),
            );
        }
        if Instant::now() >= deadline {
            let log = resources.logs(&container.id, 40).await.unwrap_or_default();
            return Err(
                blame_rule_file(rules, &log).unwrap_or(MonitoringError::NotReady {
                    role: role.to_owned(),
                    url: ready,
                    timeout: spec.ready_timeout,
                    log,
                }),
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn remove_helpers(resources: &RunResources) -> Result<(), MonitoringError> {
    for role in [PROMETHEUS_ROLE, ALERTMANAGER_ROLE] {
        resources.remove_containers(&[(LABEL_TARGET, role)]).await?;
    }
    Ok(())
}
