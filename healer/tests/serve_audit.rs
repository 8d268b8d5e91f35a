//! `healer serve --audit FILE` keeps the file across its restarts: what earlier sessions
//! recorded stays, a line torn by a SIGKILL does not spoil the next session's records, every
//! whole line parses, and `t_ms` never goes back. The daemon connects to the local Docker
//! engine but its scope matches no container; alerts name a container that does not exist, so
//! each is recorded as suppressed.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use journal::{Event, Journal, Record, Sink};

const RUNBOOK: &str = "\
name: restart-on-memory-alert
class: memory
when:
  - alert: ContainerMemoryHigh
steps:
  - action: restart
    timeout: 20s
verify:
  within: 1s
cooldown: 1h
max_actions: 1
window: 10m
";

/// The container the alerts name: in no scope, on no engine.
const GHOST: &str = "healer-audit-ghost";

/// Kills the daemon if the test ends before it stopped it.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_audit_file_is_appended_to_across_restarts_of_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let runbooks = dir.path().join("runbooks");
    std::fs::create_dir(&runbooks).unwrap();
    std::fs::write(runbooks.join("memory.yaml"), RUNBOOK).unwrap();
    let audit = dir.path().join("audit.jsonl");
    // An earlier session's record, then a line torn by a SIGKILL.
    Journal::create(&audit).unwrap().record(Event::Approved {
        target: "earlier".to_owned(),
        incident: "i-1".to_owned(),
    });
    let mut text = std::fs::read_to_string(&audit).unwrap();
    text.push_str(r#"{"t_ms":3.5,"unix_ms":1,"event":"suppre"#);
    std::fs::write(&audit, text).unwrap();

    for session in 1..=2 {
        let (mut daemon, url) = serve(
            &runbooks,
            &audit,
            &format!("{}-{session}", std::process::id()),
        );
        post_alert(&url).await;
        wait_for_suppressed(&audit, session).await;
        let pid = daemon.0.id().to_string();
        let stopped = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(stopped.success());
        assert_eq!(daemon.0.wait().unwrap().code(), Some(0));
    }

    let text = std::fs::read_to_string(&audit).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains(r#""target":"earlier""#), "{text}");
    assert!(lines[1].ends_with(r#""event":"suppre"#), "{text}");
    let records: Vec<Record> = lines[2..]
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect();
    assert_eq!(suppressed(&records), 2, "{text}");
    let all = journal::read_journal(&audit).unwrap();
    assert_eq!(all.len(), records.len() + 1);
    for pair in all.windows(2) {
        assert!(pair[0].t_ms <= pair[1].t_ms, "{pair:?}");
    }
}

/// Starts `healer serve` with `audit`, scoped to a label no container has; gives the daemon
/// and its base URL.
fn serve(runbooks: &Path, audit: &Path, scope: &str) -> (Daemon, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_healer"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--runbooks")
        .arg(runbooks)
        .args(["--scope", &format!("healer.audit-test={scope}")])
        .arg("--audit")
        .arg(audit)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let daemon = Daemon(child);
    (daemon, serving_url(stderr))
}

async fn post_alert(url: &str) {
    let mut payload: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/alertmanager-v4.json")).unwrap();
    let mut alert = payload["alerts"][0].clone();
    alert["labels"]["container"] = serde_json::Value::String(GHOST.to_owned());
    payload["alerts"] = serde_json::Value::Array(vec![alert]);
    let answer = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{url}/alerts"))
        .header("content-type", "application/json")
        .body(payload.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
}

fn suppressed(records: &[Record]) -> usize {
    records
        .iter()
        .filter(|r| matches!(&r.event, Event::Suppressed { target, .. } if target == GHOST))
        .count()
}

/// Waits until the audit file holds `count` suppressed alerts for [`GHOST`].
async fn wait_for_suppressed(audit: &Path, count: usize) {
    for _ in 0..600 {
        if journal::read_journal(audit).is_ok_and(|records| suppressed(&records) >= count) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the audit file never showed {count} suppressed alerts: {}",
        std::fs::read_to_string(audit).unwrap_or_default()
    );
}

/// Reads the daemon's log until it says where it serves; forwards the rest to our stderr.
fn serving_url(stderr: std::process::ChildStderr) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("healer: {line}");
            if let Some(rest) = line.split("serving on ").nth(1) {
                let url = rest.split_whitespace().next().unwrap_or_default();
                let _ = tx.send(url.to_owned());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the daemon reports where it serves")
}
