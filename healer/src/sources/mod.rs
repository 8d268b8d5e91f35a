//! The healer's own signal sources, started per target only when some runbook's `when` needs
//! them: an HTTP prober (`Probe` signals and the `probe_latency_ms` metric; open loop, faster
//! while a target looks suspicious: see [`probe`]), container stats through the platform
//! (`memory_bytes`, `memory_limit_bytes`, `memory_percent`, `cpu_percent`,
//! `cpu_throttled_percent`), a `/metrics` scraper (see [`scrape`] for the metrics it derives),
//! and the target's logs through the platform (`Log` signals, see [`logs`]).

mod logs;
mod probe;
mod sample;
pub(crate) mod scrape;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::{Instant, MissedTickBehavior};

use crate::platform::Platform;
use crate::runbook::Runbook;
use crate::signal::{Signal, SignalKind, TargetRef};
use crate::verify;

pub(crate) use sample::STATS_METRICS;

/// The metric the prober emits next to each `Probe` signal: the probe's latency in ms.
pub(crate) const PROBE_LATENCY_METRIC: &str = "probe_latency_ms";
/// Target label naming its health path: the path the prober asks (default
/// [`SourceSettings::probe_path`]), and the one verification asks when the runbook's `verify`
/// names no `http_path`.
pub const HEALTH_LABEL: &str = "healer.health";
/// The [`HEALTH_LABEL`] value of a target with no health endpoint to ask (a balancer or a
/// worker whose health the healer cannot know): the prober leaves it alone, so no default path
/// is guessed for it; its Docker events still reach the healer.
pub const NO_HEALTH_ENDPOINT: &str = "none";
/// Target label naming the path the scraper asks (default [`SourceSettings::metrics_path`]).
pub const METRICS_LABEL: &str = "healer.metrics";

/// How often and where the healer's own sources look at each target. The container port is
/// the target's `healer.port` label (default 8080); paths can be overridden per target with
/// the labels [`HEALTH_LABEL`] and [`METRICS_LABEL`].
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSettings {
    /// Time between the sends of two probes while the target looks fine (default 200 ms: a
    /// hang is first probed 100 ms after it began, on average).
    pub probe_interval: Duration,
    /// Time between the sends of two probes while the target looks suspicious (default
    /// 50 ms): since a probe failed, was slow or was still in flight this long, until
    /// `calm_after` good answers in a row, and for `suspicious_after_start` after the target
    /// started.
    pub suspicious_probe_interval: Duration,
    /// A probe answering (or still in flight) after this long is slow. Default `None`: the
    /// lowest `above` of the runbooks' `threshold: probe_latency_ms` triggers, else half of
    /// `probe_timeout`.
    pub probe_slow: Option<Duration>,
    /// How long after the target's container started probing stays suspicious (default 5 s),
    /// so a new container that fails its health is seen fast.
    pub suspicious_after_start: Duration,
    /// Good, fast answers in a row (by send order) that end a suspicion (default 10: 0.5 s of
    /// them at the suspicious cadence).
    pub calm_after: u32,
    /// A probe without a 2xx answer within this time failed (default 250 ms: a health
    /// endpoint answers in milliseconds; one that needs a quarter of a second is failing).
    pub probe_timeout: Duration,
    /// Default probe path (`/health`), for the prober and for verification.
    pub probe_path: String,
    /// Time between two stats samples (default 1 s).
    pub stats_interval: Duration,
    /// Time between two scrapes (default 5 s).
    pub scrape_interval: Duration,
    /// A scrape without an answer within this time is skipped (default 2 s).
    pub scrape_timeout: Duration,
    /// Default scrape path (`/metrics`).
    pub metrics_path: String,
}

impl Default for SourceSettings {
    fn default() -> Self {
        SourceSettings {
            probe_interval: Duration::from_millis(200),
            suspicious_probe_interval: Duration::from_millis(50),
            probe_slow: None,
            suspicious_after_start: Duration::from_secs(5),
            calm_after: 10,
            probe_timeout: Duration::from_millis(250),
            probe_path: "/health".to_owned(),
            stats_interval: Duration::from_secs(1),
            scrape_interval: Duration::from_secs(5),
            scrape_timeout: Duration::from_secs(2),
            metrics_path: "/metrics".to_owned(),
        }
    }
}

/// Which sources the runbooks need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    pub(crate) probe: bool,
    /// The lowest latency a `threshold: probe_latency_ms` trigger counts, if any has one.
    pub(crate) probe_slow: Option<Duration>,
    pub(crate) stats: bool,
    /// Metric names only a scrape of the target's `/metrics` can give.
    pub(crate) scraped: BTreeSet<String>,
    /// The target's log lines.
    pub(crate) logs: bool,
}

impl Needs {
    /// What the `when` and `fallback` lists of `runbooks` read (a fallback's sources run
    /// before they are needed, so its series is whole when the alert source is lost).
    pub(crate) fn of(runbooks: &[Arc<Runbook>]) -> Needs {
        let mut needs = Needs::default();
        for trigger in runbooks.iter().flat_map(|runbook| runbook.triggers()) {
            trigger.needs(&mut needs);
        }
        needs
    }

    /// Records that a trigger reads the samples of `metric`: the prober's latency, a container
    /// stat, or else a metric only a scrape can give.
    pub(crate) fn metric(&mut self, metric: &str) {
        if metric == PROBE_LATENCY_METRIC {
            self.probe = true;
        } else if STATS_METRICS.contains(&metric) {
            self.stats = true;
        } else {
            self.scraped.insert(metric.to_owned());
        }
    }

    /// Whether any source is needed at all.
    pub(crate) fn any(&self) -> bool {
        self.probe || self.stats || !self.scraped.is_empty() || self.logs
    }
}

/// The running sources, per target id; each sends its signals on one channel.
pub(crate) struct Sources {
    needs: Arc<Needs>,
    settings: Arc<SourceSettings>,
    platform: Arc<dyn Platform>,
    client: reqwest::Client,
    tx: mpsc::Sender<Signal>,
    /// The tasks of each watched target id.
    watched: HashMap<String, Watched>,
    /// Aborted when the healer stops (on drop).
    tasks: JoinSet<()>,
}

impl Sources {
    /// Sources for `needs`, sending on a channel whose receiver is returned.
    pub(crate) fn new(
        needs: Needs,
        settings: SourceSettings,
        platform: Arc<dyn Platform>,
        client: reqwest::Client,
    ) -> (Sources, mpsc::Receiver<Signal>) {
        let (tx, rx) = mpsc::channel(256);
        let sources = Sources {
            needs: Arc::new(needs),
            settings: Arc::new(settings),
            platform,
            client,
            tx,
            watched: HashMap::new(),
            tasks: JoinSet::new(),
        };
        (sources, rx)
    }

    /// Starts the needed sources for `target` unless they already run; they run until the
    /// target is removed or the healer stops (a restart keeps the container id: they survive it).
    pub(crate) fn watch(&mut self, target: &TargetRef) {
        if self.watched.contains_key(&target.id) {
            return;
        }
        tracing::debug!(target_name = %target.name, needs = ?self.needs, "watching target");
        let starts = Arc::new(Notify::new());
        let mut handles = Vec::new();
        let has_endpoint =
            target.labels.get(HEALTH_LABEL).map(String::as_str) != Some(NO_HEALTH_ENDPOINT);
        if self.needs.probe && has_endpoint {
            let prober = probe_loop(self.context(target), Arc::clone(&starts));
            handles.push(self.tasks.spawn(prober));
        }
        if self.needs.stats {
            handles.push(self.tasks.spawn(stats_loop(self.context(target))));
        }
        if !self.needs.scraped.is_empty() {
            handles.push(self.tasks.spawn(scrape_loop(self.context(target))));
        }
        if self.needs.logs {
            handles.push(self.tasks.spawn(logs::follow(self.context(target))));
        }
        self.watched.insert(
            target.id.clone(),
            Watched {
                target: target.clone(),
                handles,
                starts,
            },
        );
    }

    /// `target`'s container started: watches it, and its prober turns suspicious for a while.
    /// A target that changed in place (a Swarm service's new spec keeps its id, with new
    /// labels) is watched anew: its sources' signals must carry what runbooks' `targets` now
    /// select, such as the `healer.previous-image` a deploy put there.
    pub(crate) fn started(&mut self, target: &TargetRef) {
        if self
            .watched
            .get(&target.id)
            .is_some_and(|watched| watched.target != *target)
        {
            self.forget(&target.id);
        }
        self.watch(target);
        if let Some(watched) = self.watched.get(&target.id) {
            watched.starts.notify_one();
        }
    }

    /// Stops the sources of the target with id `id` (it was removed).
    pub(crate) fn forget(&mut self, id: &str) {
        for handle in self
            .watched
            .remove(id)
            .map(|w| w.handles)
            .unwrap_or_default()
        {
            handle.abort();
        }
    }

    fn context(&self, target: &TargetRef) -> Context {
        Context {
            target: target.clone(),
            needs: Arc::clone(&self.needs),
            settings: Arc::clone(&self.settings),
            platform: Arc::clone(&self.platform),
            client: self.client.clone(),
            tx: self.tx.clone(),
        }
    }
}

/// The source tasks of one target.
struct Watched {
    /// The target as they were started for; their signals name it so.
    target: TargetRef,
    handles: Vec<AbortHandle>,
    /// Tells its prober that the target started.
    starts: Arc<Notify>,
}

/// What one source task owns.
struct Context {
    target: TargetRef,
    needs: Arc<Needs>,
    settings: Arc<SourceSettings>,
    platform: Arc<dyn Platform>,
    client: reqwest::Client,
    tx: mpsc::Sender<Signal>,
}

impl Context {
    /// Sends one signal; `false` once the healer is gone.
    async fn send(&self, kind: SignalKind) -> bool {
        let signal = Signal {
            target: self.target.clone(),
            kind,
            at: Instant::now(),
        };
        self.tx.send(signal).await.is_ok()
    }
}

fn ticker(every: Duration) -> tokio::time::Interval {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval
}

/// Probes the target's health path (see [`probe`] for the cadence): a `Probe` signal and its
/// latency metric per probe, in send order.
async fn probe_loop(cx: Context, starts: Arc<Notify>) {
    let port = verify::label_port(&cx.target);
    let path = verify::label_path(&cx.target, HEALTH_LABEL, &cx.settings.probe_path);
    let slow = cx
        .settings
        .probe_slow
        .or(cx.needs.probe_slow)
        .unwrap_or(cx.settings.probe_timeout / 2);
    let (platform, client, target) = (
        Arc::clone(&cx.platform),
        cx.client.clone(),
        cx.target.clone(),
    );
    let send = move || -> probe::Probe {
        let (platform, client, target, path) = (
            Arc::clone(&platform),
            client.clone(),
            target.clone(),
            path.clone(),
        );
        Box::pin(async move { verify::ask(platform.as_ref(), &client, &target, port, &path).await })
    };
    let cadence = probe::Cadence::new(&cx.settings, slow);
    let mut prober = probe::Prober::new(cadence, cx.settings.probe_timeout, starts, send);
    loop {
        let probe::Answer { ok, latency, error } = prober.next().await;
        if let Some(error) = error {
            tracing::debug!(target_name = %cx.target.name, %error, "probe failed");
        }
        let metric = SignalKind::Metric {
            name: PROBE_LATENCY_METRIC.to_owned(),
            value: latency.as_secs_f64() * 1000.0,
        };
        if !cx.send(SignalKind::Probe { ok, latency }).await || !cx.send(metric).await {
            return;
        }
    }
}

/// Samples the target's stats every interval into metrics.
async fn stats_loop(cx: Context) {
    let mut ticks = ticker(cx.settings.stats_interval);
    let mut previous = None;
    loop {
        ticks.tick().await;
        let stats = match cx.platform.stats(&cx.target).await {
            Ok(stats) => stats,
            Err(error) => {
                tracing::debug!(target_name = %cx.target.name, %error, "no stats sample");
                continue;
            }
        };
        let now = Instant::now();
        for (name, value) in sample::metrics(&stats, previous.as_ref(), now) {
            let kind = SignalKind::Metric {
                name: name.to_owned(),
                value,
            };
            if !cx.send(kind).await {
                return;
            }
        }
        previous = Some((now, stats));
    }
}

/// Scrapes the target's metrics path every interval; sends the metrics runbooks need.
async fn scrape_loop(cx: Context) {
    let port = verify::label_port(&cx.target);
    let path = verify::label_path(&cx.target, METRICS_LABEL, &cx.settings.metrics_path);
    let mut ticks = ticker(cx.settings.scrape_interval);
    let mut deriver = scrape::Deriver::default();
    loop {
        ticks.tick().await;
        let text =
            match tokio::time::timeout(cx.settings.scrape_timeout, fetch(&cx, port, &path)).await {
                Ok(Ok(text)) => text,
                Ok(Err(error)) => {
                    tracing::debug!(target_name = %cx.target.name, %error, "scrape failed");
                    continue;
                }
                Err(_) => {
                    tracing::debug!(target_name = %cx.target.name, "scrape timed out");
                    continue;
                }
            };
        let metrics = match deriver.derive(&text, Instant::now(), &cx.needs.scraped) {
            Ok(metrics) => metrics,
            Err(error) => {
                tracing::debug!(target_name = %cx.target.name, %error, "cannot parse the scrape");
                continue;
            }
        };
        for (name, value) in metrics {
            if !cx.send(SignalKind::Metric { name, value }).await {
                return;
            }
        }
    }
}

async fn fetch(cx: &Context, port: u16, path: &str) -> Result<String, String> {
    let endpoint = cx
        .platform
        .http_endpoint(&cx.target, port)
        .await
        .map_err(|error| error.to_string())?;
    let url = format!("http://{endpoint}{path}");
    let response = cx
        .client
        .get(&url)
        .send()
        .await
        .map_err(|error| format!("GET {url}: {error}"))?;
    if !response.status().is_success() {
        return Err(format!("GET {url}: HTTP {}", response.status()));
    }
    response
        .text()
        .await
        .map_err(|error| format!("GET {url}: {error}"))
}

#[cfg(test)]
mod tests;
