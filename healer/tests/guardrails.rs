//! Guardrails, resolved alerts and learning, against a fake platform in paused tokio time:
//! restarts take one (virtual) second and are counted, with how many ran at once.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use healer::{Alert, Guardrails, KnowledgeBase, Runbook, Scope, SignalKind};
use journal::Event;

use common::{unlabelled, FakePlatform, Restarts, Run};

/// A runbook restarting on `when`, verifying within 1 s (which fails here: no port), so each
/// incident ends about 2 s after it opens.
fn runbook(name: &str, class: &str, when: &str, steps: &str) -> Runbook {
    let yaml = format!(
        "name: {name}\nclass: {class}\nwhen: [{when}]\nsteps: [{steps}]\n\
         verify: {{http_path: /health, within: 1s}}\ncooldown: 0s\nmax_actions: 100\nwindow: 1m\n"
    );
    Runbook::parse(&yaml, Path::new("test.yaml")).unwrap()
}

fn restart_on_oom() -> Runbook {
    runbook(
        "restart-on-oom",
        "oom",
        "{docker_event: oom}",
        "{action: restart, timeout: 5s}",
    )
}

/// A healer over the fake platform, whose restarts take one (virtual) second.
fn start(runbooks: Vec<Runbook>, guardrails: Guardrails, knowledge: KnowledgeBase) -> Run {
    let (platform, feed) = FakePlatform::new();
    let platform = platform.with_restarts(Restarts::SucceedAfter(Duration::from_secs(1)));
    Run::spawn(platform, feed, runbooks, Scope::default(), |healer| {
        healer.with_guardrails(guardrails).with_knowledge(knowledge)
    })
}

fn count(events: &[Event], pick: impl Fn(&Event) -> bool) -> usize {
    events.iter().filter(|e| pick(e)).count()
}

#[tokio::test(start_paused = true)]
async fn at_most_m_actions_run_at_once() {
    for (limit, want) in [(1, 1), (2, 2)] {
        let run = start(
            vec![restart_on_oom()],
            Guardrails::default().max_concurrent(limit),
            KnowledgeBase::in_memory(),
        );
        for name in ["a", "b", "c", "d"] {
            run.send(&unlabelled(name), SignalKind::Oom);
        }
        run.after(30).await;
        assert_eq!(run.restarts(), 4, "every target is restarted in turn");
        assert_eq!(run.platform.most_at_once(), want);
    }
}

#[tokio::test(start_paused = true)]
async fn below_the_confidence_threshold_the_healer_only_notifies_and_escalates() {
    // A runbook that calls an OOM a hang: the evidence disagrees, so its confidence is low.
    let mislabelled = runbook(
        "hang-on-oom",
        "hang",
        "{docker_event: oom}",
        "{action: restart, timeout: 5s}",
    );
    let run = start(
        vec![mislabelled],
        Guardrails::default(),
        KnowledgeBase::in_memory(),
    );
    run.send(&unlabelled("a"), SignalKind::Oom);
    let events = run.after(10).await;
    assert_eq!(run.restarts(), 0);
    let detected = events
        .iter()
        .find_map(|e| match e {
            Event::Detected { confidence, .. } => *confidence,
            _ => None,
        })
        .unwrap();
    assert!(detected < 0.5, "{detected}");
    assert!(events.iter().any(|e| matches!(e,
        Event::ActionSkipped { action, reason, .. } if action == "restart" && reason.contains("notify only"))));
    assert_eq!(count(&events, |e| matches!(e, Event::Escalated { .. })), 1);
    assert_eq!(
        count(&events, |e| matches!(e, Event::IncidentClosed { .. })),
        0,
        "nothing to learn"
    );
}

#[tokio::test(start_paused = true)]
async fn dry_run_decides_and_records_but_touches_nothing() {
    let run = start(
        vec![restart_on_oom()],
        Guardrails::default().dry_run(true),
        KnowledgeBase::in_memory(),
    );
    run.send(&unlabelled("a"), SignalKind::Oom);
    let events = run.after(10).await;
    assert_eq!(run.restarts(), 0);
    assert_eq!(count(&events, |e| matches!(e, Event::Detected { .. })), 1);
    assert_eq!(
        count(&events, |e| matches!(e, Event::RunbookSelected { .. })),
        1
    );
    assert!(events.iter().any(|e| matches!(e,
        Event::ActionSkipped { action, reason, .. } if action == "restart" && reason.starts_with("dry run"))));
    assert_eq!(
        count(&events, |e| matches!(
            e,
            Event::ActionStarted { .. } | Event::Verified { .. }
        )),
        0
    );
}

#[tokio::test(start_paused = true)]
async fn approval_mode_acts_once_approved_and_escalates_without_approval() {
    let run = start(
        vec![restart_on_oom()],
        Guardrails::default().require_approval(Duration::from_secs(60)),
        KnowledgeBase::in_memory(),
    );
    run.send(&unlabelled("a"), SignalKind::Oom);
    run.send(&unlabelled("b"), SignalKind::Oom);
    let events = run.after(5).await;
    assert_eq!(run.restarts(), 0, "nothing before approval");
    assert_eq!(
        count(&events, |e| matches!(e, Event::AwaitingApproval { .. })),
        2
    );
    assert_eq!(run.approvals.waiting(), ["a-oom-1", "b-oom-2"]);
    assert!(run.approvals.approve("a-oom-1"));
    assert!(!run.approvals.approve("no-such-incident"));
    let events = run.after(5).await;
    assert_eq!(run.restarts(), 1, "only the approved incident acts");
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Approved { incident, .. } if incident == "a-oom-1")));
    let events = run.after(60).await;
    assert_eq!(run.restarts(), 1);
    assert!(events.iter().any(|e| matches!(e,
        Event::Escalated { incident, reason, .. } if incident == "b-oom-2" && reason.starts_with("no approval within 60s"))));
    assert!(run.approvals.waiting().is_empty());
}

fn alert(firing: bool) -> SignalKind {
    SignalKind::Alert(Alert {
        name: "HighMemory".into(),
        firing,
        labels: BTreeMap::new(),
        fingerprint: "fp-1".into(),
    })
}

#[tokio::test(start_paused = true)]
async fn a_resolved_alert_closes_the_incident_it_opened() {
    let waits_first = runbook(
        "restart-on-alert",
        "oom",
        "{alert: HighMemory}",
        "{action: wait, duration: 30s}, {action: restart, timeout: 5s}",
    );
    let run = start(
        vec![waits_first],
        Guardrails::default(),
        KnowledgeBase::in_memory(),
    );
    run.send(&unlabelled("a"), alert(true));
    run.after(5).await;
    run.send(&unlabelled("a"), alert(false));
    let events = run.after(60).await;
    assert_eq!(run.restarts(), 0, "the pending restart was cancelled");
    let resolved: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Resolved {
                incident, reason, ..
            } => Some((incident.as_str(), reason.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(resolved, [("a-oom-1", "alert HighMemory resolved")]);
    // The target is free again: the next firing alert opens a new incident.
    run.send(&unlabelled("a"), alert(true));
    let events = run.after(60).await;
    assert_eq!(count(&events, |e| matches!(e, Event::Detected { .. })), 2);
    assert_eq!(run.restarts(), 1);
}

#[tokio::test(start_paused = true)]
async fn past_outcomes_rank_runbooks_of_equal_confidence_and_every_incident_teaches() {
    let knowledge = KnowledgeBase::in_memory();
    for ok in [false, false, false] {
        knowledge
            .record("oom", "first", ok, Duration::from_secs(1))
            .unwrap();
    }
    for _ in 0..5 {
        knowledge
            .record("oom", "second", true, Duration::from_secs(2))
            .unwrap();
    }
    let first = runbook(
        "first",
        "oom",
        "{docker_event: oom}",
        "{action: restart, timeout: 5s}",
    );
    let second = runbook(
        "second",
        "oom",
        "{docker_event: oom}",
        "{action: restart, timeout: 5s}",
    );
    let run = start(
        vec![first, second],
        Guardrails::default(),
        knowledge.clone(),
    );
    run.send(&unlabelled("a"), SignalKind::Oom);
    let events = run.after(10).await;
    let (runbook, reason) = events
        .iter()
        .find_map(|e| match e {
            Event::RunbookSelected {
                runbook, reason, ..
            } => Some((runbook.clone(), reason.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(runbook, "second");
    assert!(
        reason.contains("ranked first of 2 matching runbooks"),
        "{reason}"
    );
    assert!(reason.contains("5/5 fixed, mean recovery 2s"), "{reason}");
    assert!(reason.contains("first (0.95, 0/3 fixed)"), "{reason}");
    // Verification fails here (no port): the knowledge base learns a failure of `second`.
    let closed = count(&events, |e| {
        matches!(e, Event::IncidentClosed { ok: false, .. })
    });
    assert_eq!(closed, 1);
    let learnt = knowledge.stats("oom", "second").unwrap();
    assert_eq!((learnt.attempts, learnt.successes), (6, 5));
}

#[tokio::test(start_paused = true)]
async fn steps_after_a_rollback_act_on_the_new_container_and_limits_still_hold() {
    let rollback = Runbook::parse(
        "name: rollback-bad-deploy\nclass: bad_deploy\nwhen: [{docker_event: die}]\n\
         steps: [{action: rollback, timeout: 5s}, {action: restart, timeout: 5s}]\n\
         verify: {http_path: /health, within: 1s}\ncooldown: 0s\nmax_actions: 1\nwindow: 10m\n",
        Path::new("test.yaml"),
    )
    .unwrap();
    let run = start(
        vec![rollback],
        Guardrails::default(),
        KnowledgeBase::in_memory(),
    );
    // A single death is no evidence against the runbook's class: it acts.
    run.send(&unlabelled("a"), SignalKind::Died { exit_code: Some(1) });
    let events = run.after(10).await;
    let restarted: Vec<String> = run.platform.restarted().into_iter().map(|t| t.id).collect();
    assert_eq!(restarted, ["id-a-rolled-back"]);
    assert!(events.iter().any(|e| matches!(e,
        Event::ActionFinished { action, ok: true, .. } if action == "rollback")));
    // The new container has a new id, but the same name: the action limit still counts it.
    let mut rolled_back = unlabelled("a");
    rolled_back.id = "id-a-rolled-back".into();
    run.send(&rolled_back, SignalKind::Died { exit_code: Some(1) });
    let events = run.after(10).await;
    assert_eq!(run.platform.restarted().len(), 1);
    assert!(events.iter().any(|e| matches!(e,
        Event::Escalated { reason, .. } if reason.starts_with("max_actions reached"))));
}
