//! `healer serve` as a process against the real Docker engine: an Alertmanager v4 payload
//! posted to its webhook restarts the container the alert names, the audit file records the
//! decision and the action, and SIGTERM stops it cleanly.
//!
//! Nothing can be pulled here, so the test builds a scratch image holding the host's `tail`
//! (`tail -f /dev/null`). The container and the image carry `sim.test=<unique>`; a guard removes
//! them on every path, a failed assertion included.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use journal::Event;

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

/// Removes the test's containers and image, and stops the daemon, whatever happened.
struct Cleanup {
    run: String,
    image: String,
    daemon: Option<Child>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(daemon) = &mut self.daemon {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
        let ids = docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=sim.test={}", self.run),
        ]);
        for id in ids.split_whitespace() {
            docker(&["rm", "-f", id]);
        }
        docker(&["rmi", "-f", &self.image]);
    }
}

/// Runs the docker CLI and returns its stdout.
fn docker(args: &[&str]) -> String {
    let output = Command::new("docker").args(args).output().unwrap();
    if !output.status.success() {
        eprintln!(
            "docker {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Builds a scratch image holding `/usr/bin/tail` and the libraries `ldd` lists for it.
fn build_image(image: &str, run: &str) {
    let context = tempfile::tempdir().unwrap();
    let ldd = Command::new("ldd").arg("/usr/bin/tail").output().unwrap();
    assert!(ldd.status.success(), "ldd /usr/bin/tail failed");
    let libraries = String::from_utf8(ldd.stdout).unwrap();
    let files = libraries
        .lines()
        .filter_map(|line| line.split_whitespace().find(|word| word.starts_with('/')))
        .chain(["/usr/bin/tail"]);
    for file in files {
        let to = context.path().join("rootfs").join(&file[1..]);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(file, &to).unwrap();
    }
    std::fs::write(
        context.path().join("Dockerfile"),
        format!("FROM scratch\nCOPY rootfs/ /\nLABEL sim.test={run}\nCMD [\"/usr/bin/tail\", \"-f\", \"/dev/null\"]\n"),
    )
    .unwrap();
    let built = Command::new("docker")
        .args(["build", "--no-cache", "-q", "-t", image])
        .arg(context.path())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "docker build: {}",
        String::from_utf8_lossy(&built.stderr)
    );
}

fn started_at(container: &str) -> String {
    docker(&["inspect", "-f", "{{.State.StartedAt}}", container])
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
    let run = format!(
        "healer-serve-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let image = format!("healer-test-tail:{run}");
    let mut cleanup = Cleanup {
        run: run.clone(),
        image: image.clone(),
        daemon: None,
    };
    build_image(&image, &run);
    let container = format!("{run}-api");
    docker(&[
        "run",
        "-d",
        "--restart",
        "no",
        "--name",
        &container,
        "--label",
        &format!("sim.test={run}"),
        &image,
    ]);
    let before = started_at(&container);
    assert!(!before.is_empty(), "the container did not start");

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
    cleanup.daemon = Some(daemon);
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
    assert_ne!(started_at(&container), before, "Docker did not restart it");

    let daemon = cleanup.daemon.as_mut().unwrap();
    let pid = daemon.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = daemon.wait().unwrap();
    cleanup.daemon = None;
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
