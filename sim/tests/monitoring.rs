//! The monitoring stack against the real Docker engine: a Prometheus rule a user could have
//! written fires on the leaky target, and Alertmanager delivers a version-4 webhook to a receiver
//! on the run network's gateway; a broken rule file is refused with a message naming it.

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use healer::alertmanager::AlertStatus;
use sim::docker::{self, TargetRestart, TargetSpec};
use sim::monitoring::{
    check_rule_files, find_promtool, resolve_stack_images, start_stack, MonitoringError, ScrapeJob,
    ScrapeTarget, StackSpec, Timing, WebhookReceiver,
};
use tokio::time::{timeout, Instant};

const BAD_RULES: &str =
    "groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: leaky_leaked_bytes >\n";

fn rules_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/rules/leaky.rules.yml")
}

fn leaky_job() -> ScrapeJob {
    ScrapeJob {
        job: "leaky".to_owned(),
        targets: vec![ScrapeTarget {
            // The replica's alias on the run network, kept from trial to trial.
            address: "leaky-0:8080".to_owned(),
            labels: BTreeMap::from([("container".to_owned(), "leaky-0".to_owned())]),
        }],
    }
}

async fn get_json(client: &reqwest::Client, url: &str) -> Option<serde_json::Value> {
    let response = client.get(url).send().await.ok()?;
    serde_json::from_slice(&response.bytes().await.ok()?).ok()
}

/// Polls `probe` every 50 ms until it yields, for at most `limit`.
async fn poll<T, Fut: Future<Output = Option<T>>>(
    what: &str,
    limit: Duration,
    mut probe: impl FnMut() -> Fut,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_leak_fires_the_users_rule_and_alertmanager_delivers_a_v4_webhook() {
    let docker = docker::connect().await.unwrap();
    let image = common::leaky_image(&docker).await;
    common::with_run_resources("mon", |resources| async move {
        let leaky = resources
            .start_target(&TargetSpec {
                name: "leaky-0".to_owned(),
                image,
                port: 8080,
                health_path: "/health".to_owned(),
                memory_bytes: Some(256 << 20),
                nano_cpus: None,
                env: Vec::new(),
                trial: 1,
                restart: TargetRestart::No,
                healthcheck: None,
                labels: vec![],
            })
            .await
            .unwrap();
        let gateway = resources.gateway_ip().await.unwrap().expect("a gateway");
        let mut receiver = WebhookReceiver::bind(gateway).await.unwrap();
        let images = resolve_stack_images(&resources).await.unwrap();
        let stack = start_stack(
            &resources,
            &images,
            &StackSpec {
                jobs: vec![leaky_job()],
                rule_files: vec![rules_file()],
                webhook_url: receiver.url().to_owned(),
                timing: Timing::default(),
                promtool: find_promtool(),
                ready_timeout: Duration::from_secs(30),
            },
        )
        .await
        .unwrap();
        let prometheus = stack.prometheus.url.clone();
        let client = reqwest::Client::new();

        // The user's rule is loaded, and the target is scraped, before the fault.
        let rules = get_json(&client, &format!("{prometheus}/api/v1/rules"))
            .await
            .unwrap();
        let rule = &rules["data"]["groups"][0]["rules"][0];
        assert_eq!(rule["name"], "LeakyMemoryLeak", "{rules}");
        poll("the target to be scraped", Duration::from_secs(30), || {
            let url = format!("{prometheus}/api/v1/query?query=up");
            let client = &client;
            async move {
                let up = get_json(client, &url).await?;
                (up["data"]["result"][0]["value"][1] == "1").then_some(())
            }
        })
        .await;

        let fault = Instant::now();
        let leak = client
            .post(format!(
                "http://127.0.0.1:{}/chaos/leak?mib=20",
                leaky.host_port
            ))
            .send()
            .await
            .unwrap();
        assert!(leak.status().is_success());
        let firing = poll("the alert to fire", Duration::from_secs(60), || {
            let url = format!("{prometheus}/api/v1/alerts");
            let client = &client;
            async move {
                let alerts = get_json(client, &url).await?;
                let fired = alerts["data"]["alerts"]
                    .as_array()?
                    .iter()
                    .any(|a| a["state"] == "firing");
                fired.then(Instant::now)
            }
        })
        .await;
        let delivery = timeout(Duration::from_secs(60), receiver.next())
            .await
            .expect("a webhook within a minute")
            .expect("the receiver is running");

        let payload = &delivery.payload;
        assert_eq!(payload.version, "4");
        assert_eq!(payload.status, AlertStatus::Firing);
        assert_eq!(payload.receiver, "sim");
        let alert = &payload.alerts[0];
        assert_eq!(alert.status, AlertStatus::Firing);
        assert_eq!(alert.name(), Some("LeakyMemoryLeak"));
        assert_eq!(alert.labels["container"], "leaky-0");
        assert_eq!(alert.labels["severity"], "page");
        assert_eq!(alert.labels["job"], "leaky");
        assert!(
            alert.annotations["summary"].starts_with("leaky-0 has leaked"),
            "{alert:?}"
        );
        eprintln!(
            "fault → firing (seen by polling Prometheus): {:?}; fault → webhook received: {:?}; \
             images: prometheus {:?}, alertmanager {:?}; UIs: {} {}",
            firing - fault,
            delivery.received_at - fault,
            images.prometheus.origin,
            images.alertmanager.origin,
            stack.prometheus.url,
            stack.alertmanager.url,
        );
    })
    .await;
}

#[test]
fn promtool_refuses_a_broken_rule_file_naming_it() {
    let Some(promtool) = find_promtool() else {
        panic!("promtool is not installed: apt-get install prometheus");
    };
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.rules.yml");
    std::fs::write(&bad, BAD_RULES).unwrap();
    let err = check_rule_files(&promtool, &[rules_file(), bad.clone()]).unwrap_err();
    assert!(
        matches!(&err, MonitoringError::InvalidRules { path, .. } if *path == bad),
        "{err}"
    );
    let message = err.to_string();
    assert!(message.contains("broken.rules.yml"), "{message}");
    assert!(message.contains("parse error"), "{message}");
}

/// Without promtool, Prometheus itself refuses the file: its error comes back naming the user's
/// file, not a silent hang.
#[tokio::test]
async fn prometheus_refuses_a_broken_rule_file_naming_it() {
    common::with_run_resources("mon", |resources| async move {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("broken.rules.yml");
        std::fs::write(&bad, BAD_RULES).unwrap();
        let started = Instant::now();
        let images = resolve_stack_images(&resources).await.unwrap();
        eprintln!("images resolved in {:?}", started.elapsed());
        let err = start_stack(
            &resources,
            &images,
            &StackSpec {
                jobs: vec![leaky_job()],
                rule_files: vec![bad.clone()],
                webhook_url: "http://127.0.0.1:9/alerts".to_owned(),
                timing: Timing::default(),
                promtool: None,
                ready_timeout: Duration::from_secs(30),
            },
        )
        .await
        .unwrap_err();
        let message = err.to_string();
        eprintln!("the user sees: {message}");
        assert!(
            matches!(&err, MonitoringError::InvalidRules { path, .. } if *path == bad),
            "{message}"
        );
        assert!(message.contains(&bad.display().to_string()), "{message}");
        assert!(message.contains("parse error"), "{message}");
    })
    .await;
}
