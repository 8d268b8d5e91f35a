//! The alerting pipeline of a run, when its scenario asks for one: Prometheus and Alertmanager
//! on the run's network, and sim's webhook, which journals every alert as it arrives and hands
//! it to the current trial's healer as a signal, or posts the notification on to the webhook of
//! an external strategy's agent.
//!
//! Without a Prometheus to be had and `prometheus: if-available`, the run goes on with the
//! healer's embedded signals alone, and says so once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use healer::alertmanager::WebhookPayload;
use healer::Signal;
use journal::{Event, Sink};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::docker::RunResources;
use crate::monitoring::{
    find_promtool, resolve_stack_images, start_stack, MonitoringError, ScrapeJob, ScrapeTarget,
    StackSpec, Timing, WebhookReceiver, ALERTMANAGER_ROLE, PROMETHEUS_ROLE,
};
use crate::progress::Progress;
use crate::scenario::Plan;

/// Where alerts go: the healer of the trial under way, if any.
type AlertSlot = Arc<Mutex<Option<Recipient>>>;

/// Who gets the alerts of the trial under way.
#[derive(Clone)]
enum Recipient {
    /// The embedded healer, as signals.
    Healer(mpsc::Sender<Signal>),
    /// A healer of the user's own that serves an Alertmanager webhook: each notification is
    /// posted on to it as it came.
    Agent(AgentWebhook),
}

/// An external healer's Alertmanager webhook, and the trial's Agent API it may act through.
#[derive(Clone, Debug)]
pub struct AgentWebhook {
    /// Where notifications are posted: a loopback URL.
    pub url: String,
    /// The trial's Agent API, sent along as [`AGENT_URL_HEADER`].
    pub agent_url: String,
    /// Its token, sent along as [`AGENT_TOKEN_HEADER`].
    pub agent_token: String,
}

/// The header of a relayed notification naming the trial's Agent API, so that a webhook
/// receiver that was already running knows where to act.
pub const AGENT_URL_HEADER: &str = "x-sim-agent-url";

/// The header of a relayed notification carrying the trial's Agent API token.
pub const AGENT_TOKEN_HEADER: &str = "x-sim-agent-token";

/// How long a relayed notification may take to be answered.
const RELAY_TIMEOUT: Duration = Duration::from_secs(5);

/// A running alerting pipeline. Its containers are removed with the run's (by label); the
/// webhook stops when this is dropped.
pub struct AlertPipeline {
    slot: AlertSlot,
    forwarder: JoinHandle<()>,
    /// Prometheus and Alertmanager as the embedded healer checks them.
    source: healer::AlertSource,
}

impl Drop for AlertPipeline {
    fn drop(&mut self) {
        self.forwarder.abort();
    }
}

impl AlertPipeline {
    /// A channel for the next trial's healer: alerts arriving from now on go to it.
    pub fn connect_trial(&self) -> mpsc::Receiver<Signal> {
        let (tx, rx) = mpsc::channel(1024);
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Recipient::Healer(tx));
        rx
    }

    /// What posts the trial's notifications on to an agent's webhook, for a task of its own.
    pub fn relay(&self) -> AlertRelay {
        AlertRelay(self.slot.clone())
    }

    /// Prometheus (`/-/ready`: it evaluates the rules) and Alertmanager (`/-/healthy`), whose
    /// answers tell the embedded healer that alerts can still arrive.
    pub fn alert_source(&self) -> healer::AlertSource {
        self.source.clone()
    }

    /// Between trials alerts are journaled but go to no healer.
    pub fn disconnect_trial(&self) {
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Starts the pipeline the plan asks for; `Ok(None)` when it asks for none, or when Prometheus
/// cannot be had and the plan allows the embedded default.
pub async fn start(
    resources: &RunResources,
    plan: &Plan,
    timing: Timing,
    journal: Arc<dyn Sink>,
    progress: &Progress,
) -> Result<Option<AlertPipeline>, MonitoringError> {
    let Some(monitoring) = &plan.monitoring else {
        return Ok(None);
    };
    let images = match resolve_stack_images(resources).await {
        Ok(images) => images,
        Err(e) if !monitoring.required => {
            progress.phase(format!(
                "sim: no Prometheus/Alertmanager available ({e}); \
                 using the healer's embedded signals instead"
            ));
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let gateway = resources
        .gateway_ip()
        .await?
        .ok_or_else(|| MonitoringError::Http {
            detail: format!(
                "the network of run {} has no gateway address",
                resources.run_id()
            ),
        })?;
    let receiver = WebhookReceiver::bind(gateway).await?;
    let targets = (0..plan.target.replicas)
        .map(|index| {
            let name = format!("{}-{index}", plan.target.name);
            ScrapeTarget {
                address: format!("{name}:{}", plan.target.port),
                labels: [("container".to_owned(), name)].into(),
            }
        })
        .collect();
    let spec = StackSpec {
        jobs: vec![ScrapeJob {
            job: plan.target.name.clone(),
            targets,
        }],
        rule_files: monitoring.rules.clone(),
        webhook_url: receiver.url().to_owned(),
        timing,
        promtool: find_promtool(),
        ready_timeout: Duration::from_secs(30),
    };
    progress.phase("sim: starting Prometheus and Alertmanager");
    let stack = start_stack(resources, &images, &spec).await?;
    progress.phase(format!(
        "sim: Prometheus {} · Alertmanager {} · webhook {}",
        stack.prometheus.url,
        stack.alertmanager.url,
        receiver.url()
    ));
    let source = healer::AlertSource::new()
        .part(PROMETHEUS_ROLE, format!("{}/-/ready", stack.prometheus.url))
        .part(
            ALERTMANAGER_ROLE,
            format!("{}/-/healthy", stack.alertmanager.url),
        );
    let slot = AlertSlot::default();
    let forwarder = tokio::spawn(forward(receiver, slot.clone(), journal));
    Ok(Some(AlertPipeline {
        slot,
        forwarder,
        source,
    }))
}

/// Hands the pipeline's notifications to an agent's webhook (see [`AlertPipeline::relay`]).
#[derive(Clone)]
pub struct AlertRelay(AlertSlot);

impl AlertRelay {
    /// Notifications arriving from now on, until the trial disconnects, are posted on to
    /// `webhook`, each as it came.
    pub fn relay_trial(&self, webhook: AgentWebhook) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(Recipient::Agent(webhook));
    }
}

/// Journals every alert of every notification and passes it to the current trial's healer, or
/// posts the notification on to its agent's webhook.
async fn forward(mut receiver: WebhookReceiver, slot: AlertSlot, journal: Arc<dyn Sink>) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(RELAY_TIMEOUT)
        .build()
        .unwrap_or_default();
    while let Some(delivery) = receiver.next().await {
        let recipient = slot.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for alert in &delivery.payload.alerts {
            let signal = alert.to_signal();
            let healer::SignalKind::Alert(summary) = &signal.kind else {
                continue;
            };
            journal.record(Event::Alert {
                name: summary.name.clone(),
                target: summary.target_name().unwrap_or_default().to_owned(),
                firing: summary.firing,
                fingerprint: summary.fingerprint.clone(),
                starts_at_unix_ms: alert.starts_at_unix_ms(),
            });
            if let Some(Recipient::Healer(sender)) = &recipient {
                if sender.try_send(signal).is_err() {
                    tracing::warn!("the healer's alert queue is full or closed; alert dropped");
                }
            }
        }
        if let Some(Recipient::Agent(webhook)) = recipient {
            tokio::spawn(relay(client.clone(), webhook, delivery.payload));
        }
    }
}

/// Posts `payload` to the agent's webhook with the trial's Agent API in its headers; a failure
/// is logged (the agent's problem to have, as with any webhook receiver).
async fn relay(client: reqwest::Client, webhook: AgentWebhook, payload: WebhookPayload) {
    let body = match serde_json::to_vec(&payload) {
        Ok(body) => body,
        Err(e) => return tracing::warn!("cannot encode an alert for the agent's webhook: {e}"),
    };
    let posted = client
        .post(&webhook.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(AGENT_URL_HEADER, &webhook.agent_url)
        .header(AGENT_TOKEN_HEADER, &webhook.agent_token)
        .body(body)
        .send()
        .await;
    match posted {
        Ok(answer) if answer.status().is_success() => {}
        Ok(answer) => tracing::warn!(
            "the agent's webhook {} answered {}",
            webhook.url,
            answer.status()
        ),
        Err(e) => tracing::warn!(
            "cannot post an alert to the agent's webhook {}: {e}",
            webhook.url
        ),
    }
}
