//! `healer serve` as a process against the real Docker engine: an Alertmanager v4 payload
//! posted to its webhook restarts the container the alert names, the audit file records the
//! decision and the action, and SIGTERM stops it cleanly.
//!
//! Nothing can be pulled here, so the test builds a scratch image holding the host's `tail`
//! (`tail -f /dev/null`); the container, the image and their cleanup are the shared
//! [`fixture`]'s, and a guard kills the daemon on every path, a failed assertion included.

mod fixture;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use journal::Event;

use fixture::Fixture;

const RUNBOOK: &str = "\
name: restart-on-memory-alert
class: memory
when:
  - alert: ContainerMemoryHigh
steps:
  - action: restart
    timeout: 20s
verify:
  http_path: /health
  within: 1s
cooldown: 1h
max_actions: 1
window: 10m
";

/// Kills the daemon if the test ends before it stopped it.
struct Daemon(Option<Child>);

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(daemon) = &mut self.0 {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
    }
}

/// When `container` last started, as Docker reports it.
async fn started_at(f: &Fixture, container: &str) -> Option<String> {
    let inspected = f.docker.inspect_container(container, None).await.unwrap();
    inspected
        .state
        .and_then(|state| state.started_at)
        .map(|at| at.to_string())
}

/// The fixture's firing alert, naming `container`.
fn payload(container: &str) -> String {
    let mut payload: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/alertmanager-v4.json")).unwrap();
    let mut alert = payload["alerts"][0].clone();
    alert["labels"]["container"] = serde_json::Value::String(container.to_owned());
    payload["alerts"] = serde_json::Value::Array(vec![alert]);
    payload.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_alert_restarts_a_real_container_and_sigterm_stops_the_daemon() {
    Fixture::new("serve").await.run(scenario).await;
}

async fn scenario(f: Arc<Fixture>) {
    let image = f.build_tail().await;
    let container = f.start("api", &image, &[]).await.name;
    let before = started_at(&f, &container).await;
    assert!(before.is_some(), "the container did not start");
    let run = &f.run;

    let dir = tempfile::tempdir().unwrap();
    let runbooks = dir.path().join("runbooks");
    std::fs::create_dir(&runbooks).unwrap();
    std::fs::write(runbooks.join("memory.yaml"), RUNBOOK).unwrap();
    let audit = dir.path().join("audit.jsonl");
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_healer"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--runbooks")
        .arg(&runbooks)
        .args(["--scope", &format!("sim.test={run}")])
        .arg("--audit")
        .arg(&audit)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = daemon.stderr.take().unwrap();
    let mut daemon = Daemon(Some(daemon));
    let url = serving_url(stderr);

    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let answer = http
        .post(format!("{url}/alerts"))
        .header("content-type", "application/json")
        .body(payload(&container))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);

    let events = wait_for_audit(&audit, |events| {
        events.iter().any(|e| {
            matches!(
                e,
                Event::Escalated { .. } | Event::Verified { ok: true, .. }
            )
        })
    })
    .await;
    let restarted = events.iter().any(|e| {
        matches!(e, Event::ActionFinished { target, action, ok: true, .. }
            if target == &container && action == "restart")
    });
    assert!(restarted, "{events:#?}");
    assert!(
        matches!(events.first(), Some(Event::Detected { target, .. }) if target == &container),
        "{events:#?}"
    );
    assert_ne!(
        started_at(&f, &container).await,
        before,
        "Docker did not restart it"
    );

    let child = daemon.0.as_mut().unwrap();
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    daemon.0 = None;
    assert_eq!(status.code(), Some(0));
}

/// Reads the daemon's log until it says where it serves; forwards the rest to our stderr.
fn serving_url(stderr: std::process::ChildStderr) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("healer: {line}");
            if let Some(rest) = line.split("serving on ").nth(1) {
                let url = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let _ = tx.send(url);
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the daemon reports where it serves")
}

async fn wait_for_audit(path: &Path, done: impl Fn(&[Event]) -> bool) -> Vec<Event> {
    for _ in 0..600 {
        if let Ok(records) = journal::read_journal(path) {
            let events: Vec<Event> = records.into_iter().map(|r| r.event).collect();
            if done(&events) {
                return events;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the audit file never showed the end of the incident");
}
