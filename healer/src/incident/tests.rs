//! A `drain` step against a fake rotation: the target is drained at its address before the
//! restart and put back when the incident ends, verified or not; a drain that fails stops the
//! incident before it touches the target.

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::{self, BoxFuture};
use futures_util::FutureExt;
use journal::{Event, MemorySink};
use tokio::sync::Semaphore;

use super::Incident;
use crate::guardrails::{ApprovalHandle, Guardrails};
use crate::platform::fake::{Fake, ADDRESS};
use crate::rotation::{Drained, Rotation};
use crate::runbook::Runbook;
use crate::signal::TargetRef;

/// Records what it was asked; a drain fails when `refuse` is set.
#[derive(Default)]
struct FakeRotation {
    refuse: bool,
    calls: Mutex<Vec<String>>,
}

impl Rotation for FakeRotation {
    fn drain<'a>(
        &'a self,
        addresses: &'a [IpAddr],
        _: Duration,
    ) -> BoxFuture<'a, Result<Drained, String>> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("drain {addresses:?}"));
        let result = if self.refuse {
            Err("HAProxy runtime API: connection refused".to_owned())
        } else {
            Ok(Drained {
                servers: vec!["leaky-0-1".to_owned()],
                in_flight: 0,
            })
        };
        future::ready(result).boxed()
    }

    fn restore<'a>(&'a self, drained: &'a Drained) -> BoxFuture<'a, Result<(), String>> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("restore {:?}", drained.servers));
        future::ready(Ok(())).boxed()
    }
}

const RUNBOOK: &str = "name: planned\nclass: memory_leak\nwhen:\n  - docker_event: oom\nsteps:\n  \
                       - { action: drain, duration: 1s }\n  - { action: restart, timeout: 5s }\n\
                       verify:\n  within: 200ms\ncooldown: 1m\nmax_actions: 3\nwindow: 10m\n";

/// Runs one incident of [`RUNBOOK`] on a target whose probes all fail (the fake publishes no
/// port), so verification fails; gives the journal.
async fn incident(rotation: &Arc<FakeRotation>) -> Vec<Event> {
    let sink = Arc::new(MemorySink::default());
    let target = TargetRef {
        id: "c1".to_owned(),
        name: "leaky-0".to_owned(),
        labels: Default::default(),
    };
    let incident = Incident {
        id: "leaky-0-1".to_owned(),
        target: target.clone(),
        current: Mutex::new(target),
        runbook: Arc::new(Runbook::parse(RUNBOOK, Path::new("planned.yaml")).unwrap()),
        health_path: "/health".to_owned(),
        confidence: 1.0,
        excerpt: Vec::new(),
        platform: Arc::new(Fake::default()),
        rotation: Some(Arc::clone(rotation) as Arc<dyn Rotation>),
        drained: Mutex::new(None),
        sink: sink.clone(),
        client: reqwest::Client::new(),
        guardrails: Arc::new(Guardrails::default()),
        approvals: ApprovalHandle::default(),
        permits: Arc::new(Semaphore::new(2)),
    };
    assert_eq!(incident.handle().await, Some(false));
    sink.events()
}

/// The actions finished, in order, with whether each worked.
fn finished(events: &[Event]) -> Vec<(String, bool)> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::ActionFinished { action, ok, .. } => Some((action.clone(), *ok)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_drained_target_is_put_back_after_a_failed_verification() {
    let rotation = Arc::new(FakeRotation::default());
    let events = incident(&rotation).await;
    let actions = |names: &[&str]| -> Vec<(String, bool)> {
        names.iter().map(|n| ((*n).to_owned(), true)).collect()
    };
    assert_eq!(finished(&events), actions(&["drain", "restart", "rejoin"]));
    assert_eq!(
        *rotation.calls.lock().unwrap(),
        [
            format!("drain [{ADDRESS}]"),
            "restore [\"leaky-0-1\"]".to_owned()
        ]
    );
    let verified = events
        .iter()
        .position(|e| matches!(e, Event::Verified { ok: false, .. }));
    let rejoined = events
        .iter()
        .position(|e| matches!(e, Event::ActionStarted { action, .. } if action == "rejoin"));
    assert!(verified < rejoined, "{events:?}");
    assert!(events.iter().any(|e| matches!(e, Event::Escalated { .. })));
}

#[tokio::test]
async fn a_failed_drain_escalates_before_the_target_is_touched() {
    let rotation = Arc::new(FakeRotation {
        refuse: true,
        ..FakeRotation::default()
    });
    let events = incident(&rotation).await;
    assert_eq!(finished(&events), [("drain".to_owned(), false)]);
    assert_eq!(
        rotation.calls.lock().unwrap().len(),
        1,
        "no restore of nothing"
    );
    let reason = events.iter().find_map(|e| match e {
        Event::Escalated { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert!(
        reason
            .as_deref()
            .is_some_and(|r| r.contains("connection refused")),
        "{reason:?}"
    );
}
