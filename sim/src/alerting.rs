//! The alerting pipeline of a run, when its scenario asks for one: Prometheus and Alertmanager
//! on the run's network, and the embedded healer's webhook, which journals every alert as it
//! arrives and hands it to the current trial's healer as a signal.
//!
//! Without a Prometheus to be had and `prometheus: if-available`, the run goes on with the
//! healer's embedded signals alone, and says so once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use healer::Signal;
use journal::{Event, Sink};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::docker::RunResources;
use crate::monitoring::{
    find_promtool, resolve_stack_images, start_stack, MonitoringError, ScrapeJob, ScrapeTarget,
    StackSpec, Timing, WebhookReceiver,
};
use crate::progress::Progress;
use crate::scenario::Plan;

/// Where alerts go: the healer of the trial under way, if any.
type AlertSlot = Arc<Mutex<Option<mpsc::Sender<Signal>>>>;

/// A running alerting pipeline. Its containers are removed with the run's (by label); the
/// webhook stops when this is dropped.
pub struct AlertPipeline {
    slot: AlertSlot,
    forwarder: JoinHandle<()>,
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
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
        rx
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
    let slot = AlertSlot::default();
    let forwarder = tokio::spawn(forward(receiver, slot.clone(), journal));
    Ok(Some(AlertPipeline { slot, forwarder }))
}

/// Journals every alert of every notification and passes it to the current trial's healer.
async fn forward(mut receiver: WebhookReceiver, slot: AlertSlot, journal: Arc<dyn Sink>) {
    while let Some(delivery) = receiver.next().await {
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
            let sender = slot.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Some(sender) = sender {
                if sender.try_send(signal).is_err() {
                    tracing::warn!("the healer's alert queue is full or closed; alert dropped");
                }
            }
        }
    }
}
