//! A healer whose alert source does not answer, against the fake platform: it says so in the
//! journal, and the alert runbook's `fallback` heals on the healer's own probes.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use healer::{AlertSource, Runbook, Scope, SourceSettings};
use journal::Event;

use common::{closed_port, target, FakePlatform, Run};

const RUNBOOK: &str = "name: restart-on-down-alert\nclass: hang\nwhen:\n  - alert: LeakyDown\n\
                       fallback:\n  - probe_failures: 3\nsteps:\n  - action: restart\n    timeout: 5s\n\
                       verify:\n  http_path: /health\n  within: 200ms\ncooldown: 1h\nmax_actions: 5\nwindow: 10m\n";

#[tokio::test]
async fn a_lost_alert_source_is_journalled_and_the_fallback_heals_on_the_healers_own_probes() {
    let (platform, feed) = FakePlatform::new();
    // Nothing listens where the target is probed: every probe fails.
    let platform = platform
        .with_endpoint(Some(closed_port()))
        .with_listed(vec![target("leaky-0", "r1")]);
    let alertmanager = format!("http://{}/-/healthy", closed_port());
    let source = AlertSource::new()
        .part("alertmanager", &alertmanager)
        .checked_every(Duration::from_millis(50), Duration::from_millis(200));
    let sources = SourceSettings {
        probe_interval: Duration::from_millis(20),
        ..SourceSettings::default()
    };
    let scope = Scope {
        labels: BTreeMap::from([("sim.run".to_owned(), "r1".to_owned())]),
    };
    let runbook = Runbook::parse(RUNBOOK, Path::new("test.yaml")).unwrap();
    let run = Run::spawn(platform, feed, vec![runbook], scope, |healer| {
        healer.with_sources(sources).with_alert_source(source)
    });
    run.wait_for(1, |e| matches!(e, Event::ActionFinished { .. }))
        .await;
    assert_eq!(run.restarts(), 1);

    let events = run.events();
    let at = |pick: fn(&Event) -> bool| {
        events
            .iter()
            .position(pick)
            .unwrap_or_else(|| panic!("{events:#?}"))
    };
    let lost = at(|e| matches!(e, Event::SourceLost { .. }));
    let detected = at(|e| matches!(e, Event::Detected { .. }));
    let selected = at(|e| matches!(e, Event::RunbookSelected { .. }));
    assert!(lost < detected, "{events:#?}");
    let Event::SourceLost {
        source,
        detail,
        fallback,
    } = &events[lost]
    else {
        unreachable!()
    };
    assert_eq!(source, "alertmanager");
    assert!(detail.starts_with(&alertmanager), "{detail}");
    assert_eq!(
        fallback,
        "runbook restart-on-down-alert on `probe_failures: 3`"
    );
    let Event::Detected { signal, .. } = &events[detected] else {
        unreachable!()
    };
    assert!(signal.starts_with("probe failed"), "{signal}");
    let Event::RunbookSelected {
        runbook, reason, ..
    } = &events[selected]
    else {
        unreachable!()
    };
    assert_eq!(runbook, "restart-on-down-alert");
    assert!(
        reason.starts_with(
            "the alert source is lost, so `fallback` is live: 3 failed probes in a row"
        ),
        "{reason}"
    );
}
