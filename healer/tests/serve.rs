//! The daemon's HTTP face in-process: the webhook router over the real engine with the shared
//! fake platform (recorded restarts) and an in-memory sink, reached over real loopback HTTP.

mod common;

use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use healer::serve::{self, App, Token, WebhookOptions};
use healer::{Guardrails, HealerError, PlatformError, Runbook, Scope, SignalKind, TargetRef};
use journal::{Event, MemorySink};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use common::{
    is_action_started, is_detected, is_suppressed, is_verified, leaky, FakePlatform, Feed,
};

const FIXTURE: &str = include_str!("fixtures/alertmanager-v4.json");

const RUNBOOK: &str = "\
name: restart-on-memory-alert
class: memory
when:
  - alert: ContainerMemoryHigh
steps:
  - action: restart
    timeout: 10s
verify:
  http_path: /health
  within: 10s
cooldown: 1h
max_actions: 5
window: 10m
";

/// The two containers of the fixture, in scope.
fn fixture_targets() -> Vec<TargetRef> {
    ["shop-api-1", "shop-worker-2"]
        .map(|name| TargetRef {
            id: format!("id-{name}"),
            name: name.to_owned(),
            labels: scope_labels(),
        })
        .to_vec()
}

fn scope_labels() -> BTreeMap<String, String> {
    BTreeMap::from([("healer.enabled".to_owned(), "true".to_owned())])
}

// ---- harness -----------------------------------------------------------------------------

/// The engine and the HTTP server, running, over the fake platform: no signals of its own (or
/// a failing stream), restarts recorded, the fixture's containers found by name, every target
/// answering on one loopback address.
struct Daemon {
    url: String,
    app: App,
    platform: Arc<FakePlatform>,
    sink: Arc<MemorySink>,
    engine: JoinHandle<Result<(), HealerError>>,
    /// Held so the platform's signal stream stays open.
    _signals: Feed,
    _stop: oneshot::Sender<()>,
    http: reqwest::Client,
}

impl Daemon {
    async fn start(options: WebhookOptions) -> Daemon {
        Daemon::start_with(options, Guardrails::default(), false).await
    }

    async fn start_with(
        options: WebhookOptions,
        guardrails: Guardrails,
        failing_signals: bool,
    ) -> Daemon {
        let (platform, signals) = FakePlatform::new();
        let platform = platform
            .with_endpoint(Some(leaky().await))
            .with_known(fixture_targets());
        if failing_signals {
            let error = PlatformError::Signals {
                source: "connection reset".into(),
            };
            signals.send(Err(error)).unwrap();
        }
        let platform = Arc::new(platform);
        let sink = Arc::new(MemorySink::default());
        let runbook = Runbook::parse(RUNBOOK, Path::new("test.yaml")).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let (app, engine) = serve::start_engine(
            platform.clone(),
            vec![runbook],
            Scope {
                labels: scope_labels(),
            },
            sink.clone(),
            |healer| healer.with_guardrails(guardrails),
            &options,
            async {
                let _ = stopped.await;
            },
        );
        let url = spawn_server(app.clone()).await;
        Daemon {
            url,
            app,
            platform,
            sink,
            engine,
            _signals: signals,
            _stop: stop,
            http: client(),
        }
    }

    async fn post(&self, body: impl Into<reqwest::Body>, token: Option<&str>) -> (u16, String) {
        let mut request = self
            .http
            .post(format!("{}/alerts", self.url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Waits until `count` events satisfy `pick`.
    async fn wait_for(&self, count: usize, pick: impl Fn(&Event) -> bool) {
        common::wait_for(&self.sink, Duration::from_secs(30), count, pick).await;
    }

    fn events(&self) -> Vec<Event> {
        self.sink.events()
    }

    /// The names of the targets restarted, in order.
    fn restarted(&self) -> Vec<String> {
        let restarted = self.platform.restarted();
        restarted.into_iter().map(|target| target.name).collect()
    }

    async fn metrics(&self) -> prometheus_parse::Scrape {
        let (status, text) = self.get("/metrics").await;
        assert_eq!(status, 200);
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
    }
}

async fn spawn_server(app: App) -> String {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, serve::router(app)).into_future());
    format!("http://{addr}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// The value of the sample `name` whose labels include `labels`.
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found = scrape.samples.iter().find(|s| {
        s.metric == name
            && labels
                .iter()
                .all(|(key, value)| s.labels.get(key) == Some(*value))
    });
    match found.map(|s| &s.value) {
        Some(prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v)) => *v,
        Some(prometheus_parse::Value::Untyped(v)) => *v,
        other => panic!("no sample {name} {labels:?}: {other:?}"),
    }
}

/// The fixture with only its firing alert, repeated `copies` times.
fn firing_payload(copies: usize) -> String {
    let mut payload: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    let firing = payload["alerts"][0].clone();
    payload["alerts"] = serde_json::Value::Array(vec![firing; copies]);
    payload.to_string()
}

// ---- tests -------------------------------------------------------------------------------

#[tokio::test]
async fn a_real_alertmanager_payload_restarts_the_container_it_names() {
    let daemon = Daemon::start(WebhookOptions::default()).await;
    let (status, body) = daemon.post(FIXTURE, None).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "ok: 2 alerts, 2 signals queued\n")
    );
    daemon.wait_for(1, is_verified).await;

    assert_eq!(daemon.restarted(), ["shop-api-1"]);
    let events = daemon.events();
    let detected = events.iter().position(is_detected).unwrap();
    let started = events.iter().position(is_action_started).unwrap();
    assert!(detected < started, "{events:#?}");
    match &events[detected] {
        Event::Detected { target, signal, .. } => {
            assert_eq!(target, "shop-api-1");
            assert_eq!(signal, "alert ContainerMemoryHigh firing");
        }
        other => panic!("{other:?}"),
    }
    match &events[started] {
        Event::ActionStarted { target, action, .. } => {
            assert_eq!(
                (target.as_str(), action.as_str()),
                ("shop-api-1", "restart")
            );
        }
        other => panic!("{other:?}"),
    }
    // The resolved alert for shop-worker-2 opened nothing.
    assert!(
        events.iter().all(|e| e.target() != Some("shop-worker-2")),
        "{events:#?}"
    );
}

#[tokio::test]
async fn refused_requests_get_4xx_and_trigger_nothing() {
    let options = WebhookOptions {
        token: Token::new("s3cret"),
        max_body: 4 * 1024,
        ..WebhookOptions::default()
    };
    let daemon = Daemon::start(options).await;
    let token = Some("s3cret");

    let v3 = FIXTURE.replace(r#""version": "4""#, r#""version": "3""#);
    let oversized = FIXTURE.replace("close to its memory limit", &"x".repeat(8 * 1024));
    let cases: [(&str, String, Option<&str>, u16); 6] = [
        (
            "malformed JSON",
            r#"{"version": "4", "alerts": ["#.to_owned(),
            token,
            400,
        ),
        (
            "not a payload",
            r#"{"hello": "world"}"#.to_owned(),
            token,
            400,
        ),
        ("version 3", v3, token, 400),
        ("oversized", oversized, token, 413),
        ("no token", FIXTURE.to_owned(), None, 401),
        ("wrong token", FIXTURE.to_owned(), Some("s3cret-not"), 401),
    ];
    for (what, body, token, expected) in cases {
        let (status, text) = daemon.post(body, token).await;
        assert_eq!(status, expected, "{what}: {text}");
    }
    let wrong_type = daemon
        .http
        .post(format!("{}/alerts", daemon.url))
        .header("content-type", "text/plain")
        .header("authorization", "Bearer s3cret")
        .body(FIXTURE)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status().as_u16(), 415);

    let metrics = daemon.metrics().await;
    assert_eq!(sample(&metrics, "healer_signals_queued_total", &[]), 0.0);
    assert_eq!(
        sample(
            &metrics,
            "healer_alerts_received_total",
            &[("status", "firing")]
        ),
        0.0
    );
    for (code, count) in [
        ("400", 3.0),
        ("401", 2.0),
        ("413", 1.0),
        ("415", 1.0),
        ("200", 0.0),
    ] {
        assert_eq!(
            sample(&metrics, "healer_webhook_requests_total", &[("code", code)]),
            count,
            "code {code}"
        );
    }
    assert_eq!(daemon.events(), []);
    assert_eq!(daemon.restarted(), Vec::<String>::new());

    // The same payload with the token goes through: the refusals above were the guards.
    let (status, _) = daemon.post(FIXTURE, token).await;
    assert_eq!(status, 200);
    daemon.wait_for(1, is_action_started).await;
    assert_eq!(daemon.restarted(), ["shop-api-1"]);
}

#[tokio::test]
async fn a_thousand_duplicate_alerts_are_one_incident_and_one_action() {
    // A thousand alerts are about 1 MB of JSON.
    let options = WebhookOptions {
        max_body: 4 * 1024 * 1024,
        ..WebhookOptions::default()
    };
    let daemon = Daemon::start(options).await;
    // One notification holding the same alert 1,000 times…
    let (status, body) = daemon.post(firing_payload(1000), None).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "ok: 1000 alerts, 1 signals queued\n")
    );
    // …then 1,000 notifications of it, as a storm of repeats would send them.
    let one = firing_payload(1);
    let mut posts = futures_util::stream::iter(0..1000)
        .map(|_| daemon.post(one.clone(), None))
        .buffer_unordered(16);
    while let Some((status, _)) = posts.next().await {
        assert_eq!(status, 200);
    }
    drop(posts);
    daemon.wait_for(1, is_verified).await;
    daemon.wait_for(1000, is_suppressed).await;

    let events = daemon.events();
    assert_eq!(events.iter().filter(|e| is_detected(e)).count(), 1);
    assert_eq!(events.iter().filter(|e| is_action_started(e)).count(), 1);
    assert_eq!(events.iter().filter(|e| is_suppressed(e)).count(), 1000);
    assert_eq!(daemon.restarted(), ["shop-api-1"]);
    let metrics = daemon.metrics().await;
    assert_eq!(
        sample(
            &metrics,
            "healer_alerts_received_total",
            &[("status", "firing")]
        ),
        2000.0
    );
    assert_eq!(sample(&metrics, "healer_signals_queued_total", &[]), 1001.0);
    assert_eq!(
        sample(&metrics, "healer_decisions_total", &[("event", "detected")]),
        1.0
    );
}

#[tokio::test]
async fn healthz_and_metrics_answer_and_metrics_parse() {
    let daemon = Daemon::start(WebhookOptions::default()).await;
    assert_eq!(daemon.get("/healthz").await, (200, "ok\n".to_owned()));
    let (status, _) = daemon.post(FIXTURE, None).await;
    assert_eq!(status, 200);
    daemon.wait_for(1, is_verified).await;

    let metrics = daemon.metrics().await;
    assert_eq!(
        sample(
            &metrics,
            "healer_alerts_received_total",
            &[("status", "firing")]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &metrics,
            "healer_alerts_received_total",
            &[("status", "resolved")]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &metrics,
            "healer_webhook_requests_total",
            &[("code", "200")]
        ),
        1.0
    );
    assert_eq!(sample(&metrics, "healer_signals_dropped_total", &[]), 0.0);
    assert_eq!(sample(&metrics, "healer_engine_up", &[]), 1.0);
    assert_eq!(
        sample(
            &metrics,
            "healer_decisions_total",
            &[("event", "action_started")]
        ),
        1.0
    );
    assert!(sample(&metrics, "healer_uptime_seconds", &[]) >= 0.0);
    assert_eq!(
        metrics.docs["healer_webhook_requests_total"],
        "Webhook requests, by the HTTP status code answered."
    );
}

#[tokio::test]
async fn when_the_engine_stops_healthz_and_the_webhook_say_503() {
    let mut daemon =
        Daemon::start_with(WebhookOptions::default(), Guardrails::default(), true).await;
    let ended = tokio::time::timeout(Duration::from_secs(10), &mut daemon.engine)
        .await
        .unwrap()
        .unwrap();
    assert!(ended.is_err());
    assert!(!daemon.app.engine_up());
    let (status, _) = daemon.get("/healthz").await;
    assert_eq!(status, 503);
    let (status, _) = daemon.post(FIXTURE, None).await;
    assert_eq!(status, 503);
    let metrics = daemon.metrics().await;
    assert_eq!(sample(&metrics, "healer_signals_dropped_total", &[]), 2.0);
    assert_eq!(sample(&metrics, "healer_engine_up", &[]), 0.0);
}

#[tokio::test]
async fn in_dry_run_the_alert_is_decided_and_recorded_but_nothing_is_touched() {
    let guardrails = Guardrails::default().dry_run(true);
    let daemon = Daemon::start_with(WebhookOptions::default(), guardrails, false).await;
    let (status, _) = daemon.post(FIXTURE, None).await;
    assert_eq!(status, 200);
    daemon
        .wait_for(1, |e| matches!(e, Event::ActionSkipped { .. }))
        .await;
    let events = daemon.events();
    let skipped: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| match e {
            Event::ActionSkipped { target, action, .. } => Some((target.as_str(), action.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(skipped, [("shop-api-1", "restart")]);
    assert!(!events.iter().any(is_action_started), "{events:#?}");
    assert_eq!(daemon.restarted(), Vec::<String>::new());
}

#[tokio::test]
async fn a_full_queue_refuses_a_whole_notification_with_503() {
    let (tx, mut rx) = mpsc::channel(1);
    let app = App::new(tx, &WebhookOptions::default());
    app.set_engine_up(true);
    let url = spawn_server(app).await;
    let http = client();
    let post = |body: String| {
        http.post(format!("{url}/alerts"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    // Two distinct alerts do not fit a queue of one: neither is queued.
    let status = post(FIXTURE.to_owned()).await.unwrap().status();
    assert_eq!(status.as_u16(), 503);
    assert!(rx.try_recv().is_err());
    // One does, named by its container label for the engine to resolve.
    let status = post(firing_payload(1)).await.unwrap().status();
    assert_eq!(status.as_u16(), 200);
    let signal = rx.try_recv().unwrap();
    assert_eq!(signal.target.id, "");
    assert_eq!(signal.target.name, "shop-api-1");
    match signal.kind {
        SignalKind::Alert(alert) => {
            assert_eq!(alert.name, "ContainerMemoryHigh");
            assert!(alert.firing);
            assert_eq!(alert.fingerprint, "8f1c2a9d0b7e4c35");
        }
        other => panic!("{other:?}"),
    }
}
