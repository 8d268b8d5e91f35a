//! Which signals reach an incident, against a fake platform and a collecting sink: the
//! scope, runbook matching and target selection, alerts (storms, unknown targets, resolved),
//! and the healer's own prober.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use healer::{Alert, Signal, SignalKind, SourceSettings, TargetRef};
use tokio::time::Instant;

use common::{
    closed_port, is_escalated, is_suppressed, is_verified, leaky, runbook, target, Restarts, Run,
};

#[tokio::test(start_paused = true)]
async fn signals_out_of_scope_are_ignored() {
    let run = Run::start(&runbook("5s", 5, "5s"), Restarts::Succeed, None);
    run.send(&target("other-run", "r2"), SignalKind::Oom);
    let mut unlabelled = target("unlabelled", "r1");
    unlabelled.labels.clear();
    run.send(
        &unlabelled,
        SignalKind::Died {
            exit_code: Some(137),
        },
    );
    let (restarts, events) = run.finish().await;
    assert_eq!(restarts, 0);
    assert_eq!(events, Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn faults_no_runbook_handles_are_suppressed_and_other_signals_ignored() {
    let run = Run::start(&runbook("5s", 5, "5s"), Restarts::Succeed, None);
    let leaky0 = target("leaky-0", "r1");
    run.send(&leaky0, SignalKind::Health { healthy: false });
    run.send(&leaky0, SignalKind::Health { healthy: true });
    run.send(&leaky0, SignalKind::Started);
    let (restarts, events) = run.finish().await;
    assert_eq!(restarts, 0);
    assert_eq!(
        events,
        ["suppressed leaky-0 health_status: unhealthy: no runbook handles health_status: unhealthy"]
    );
}

fn alert(name: &str, firing: bool, target_label: &str) -> Signal {
    let alert = Alert {
        name: name.to_owned(),
        firing,
        labels: BTreeMap::from([
            ("alertname".to_owned(), name.to_owned()),
            ("container".to_owned(), target_label.to_owned()),
        ]),
        fingerprint: format!("fp-{name}-{target_label}"),
    };
    let target_name = alert.target_name().unwrap().to_owned();
    Signal {
        target: TargetRef {
            id: String::new(),
            name: target_name,
            labels: BTreeMap::new(),
        },
        kind: SignalKind::Alert(alert),
        at: Instant::now(),
    }
}

fn alert_runbook() -> String {
    runbook("5s", 5, "5s").replace("docker_event: oom", "alert: HighMemory")
}

#[tokio::test]
async fn a_storm_of_one_thousand_duplicate_alerts_is_one_incident_and_one_action() {
    let run = Run::start(&alert_runbook(), Restarts::Succeed, Some(leaky().await));
    let external = run.external.clone().unwrap();
    for _ in 0..1000 {
        external
            .send(alert("HighMemory", true, "leaky-0"))
            .await
            .unwrap();
    }
    drop(external);
    run.wait_for(1, is_verified).await;
    run.wait_for(999, is_suppressed).await;
    let (restarts, summary) = run.finish().await;
    assert_eq!(restarts, 1);
    let detected: Vec<&String> = summary
        .iter()
        .filter(|l| l.starts_with("detected"))
        .collect();
    assert_eq!(
        detected,
        ["detected leaky-0-oom-1 leaky-0 oom on alert HighMemory firing"]
    );
    assert_eq!(
        summary.iter().filter(|l| l.starts_with("started")).count(),
        1
    );
    assert_eq!(
        summary
            .iter()
            .filter(|l| l.starts_with("suppressed"))
            .count(),
        999
    );
}

#[tokio::test]
async fn alerts_for_unknown_targets_and_resolved_alerts_act_on_nothing() {
    let run = Run::start(&alert_runbook(), Restarts::Succeed, Some(leaky().await));
    let external = run.external.clone().unwrap();
    external
        .send(alert("HighMemory", true, "nobody"))
        .await
        .unwrap();
    external
        .send(alert("HighMemory", false, "leaky-0"))
        .await
        .unwrap();
    external
        .send(alert("Other", true, "leaky-0"))
        .await
        .unwrap();
    drop(external);
    run.wait_for(2, is_suppressed).await;
    let (restarts, summary) = run.finish().await;
    assert_eq!(restarts, 0);
    assert_eq!(
        summary,
        [
            "suppressed nobody alert HighMemory firing: no target in scope has this name",
            "suppressed leaky-0 alert Other firing: no runbook handles alert Other firing",
        ]
    );
}

#[test]
fn alerts_name_their_target_by_container_then_name_then_instance() {
    let with = |labels: &[(&str, &str)]| Alert {
        name: "A".into(),
        firing: true,
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        fingerprint: "f".into(),
    };
    let both = with(&[("container", "c"), ("name", "n"), ("instance", "i:80")]);
    assert_eq!(both.target_name(), Some("c"));
    assert_eq!(
        with(&[("name", "n"), ("instance", "i:80")]).target_name(),
        Some("n")
    );
    assert_eq!(
        with(&[("instance", "host:9100")]).target_name(),
        Some("host")
    );
    assert_eq!(with(&[("instance", "host")]).target_name(), Some("host"));
    assert_eq!(with(&[]).target_name(), None);
}

#[tokio::test]
async fn the_healers_own_prober_finds_a_listed_target_that_stopped_answering_and_restarts_it() {
    let runbook = "name: restart-on-hang\nclass: hang\nwhen:\n  - probe_failures: 3\nsteps:\n  - action: restart\n    timeout: 5s\n\
                   verify:\n  http_path: /health\n  within: 200ms\ncooldown: 1h\nmax_actions: 5\nwindow: 10m\n";
    let sources = SourceSettings {
        probe_interval: Duration::from_millis(20),
        ..SourceSettings::default()
    };
    // Nothing listens on the port: every probe fails, no signal comes from the platform.
    let run = Run::start_with(
        runbook,
        Restarts::Succeed,
        Some(closed_port()),
        vec![target("leaky-0", "r1")],
        sources,
    );
    run.wait_for(1, is_escalated).await;
    assert_eq!(run.restarts(), 1);
    let summary = run.summary();
    assert!(
        summary[0].starts_with("detected leaky-0-hang-1 leaky-0 hang on probe failed after"),
        "{summary:#?}"
    );
    assert_eq!(
        summary[1],
        "selected leaky-0-hang-1 restart-on-hang: 3 failed probes in a row; class hang with confidence \
         0.70 (the target does not answer and was not seen dying: hang (0.70))"
    );
}

#[tokio::test(start_paused = true)]
async fn a_runbook_acts_only_on_the_targets_its_labels_select() {
    let for_dependencies =
        runbook("5s", 5, "5s").replace("cooldown:", "targets:\n  role: dependency\ncooldown:");
    let run = Run::start(&for_dependencies, Restarts::Succeed, None);
    run.send(&target("leaky-0", "r1"), SignalKind::Oom);
    let mut db = target("db", "r1");
    db.labels.insert("role".to_owned(), "dependency".to_owned());
    run.send(&db, SignalKind::Oom);
    let (restarts, events) = run.finish().await;
    assert_eq!(restarts, 1, "{events:#?}");
    assert_eq!(
        events[0], "suppressed leaky-0 oom: no runbook handles oom",
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("started db-oom-1 restart")),
        "{events:#?}"
    );
}
