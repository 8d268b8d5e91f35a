//! The engine over a platform whose signal stream is lost, in paused time: one `SourceLost`,
//! attempts 100 ms after the loss and then doubling up to 5 s, back to 100 ms after a stream
//! that delivered, never giving up; the resync after a reconnect heals the targets that died
//! while the healer was blind, once, and watches the new ones.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use journal::{Event, MemorySink};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{FIRST_RETRY, MAX_RETRY};
use crate::engine::{Healer, HealerError};
use crate::platform::fake::{lock, Fake, Signaled};
use crate::platform::{PlatformError, Scope};
use crate::runbook::Runbook;
use crate::signal::{Signal, SignalKind, TargetRef};

/// Restart on `die`; the fake publishes no port, so the verification fails after 30 s and
/// the incident stays open that long.
const RESTART_ON_DIE: &str = "name: restart-on-die\nclass: crash\n\
     when:\n  - docker_event: die\n\
     steps:\n  - { action: restart, timeout: 10s }\n\
     verify:\n  within: 30s\n\
     cooldown: 0s\nmax_actions: 5\nwindow: 10m\n";

/// Needs stats samples (so the healer's sources watch targets) and never fires.
const NEVER_BUSY: &str = "name: never-busy\nclass: busy\n\
     when:\n  - threshold: cpu_percent\n    above: 100000\n    for: 5s\n\
     steps:\n  - { action: restart, timeout: 10s }\n\
     verify:\n  within: 5s\n\
     cooldown: 0s\nmax_actions: 5\nwindow: 10m\n";

struct Running {
    fake: Arc<Fake>,
    sink: Arc<MemorySink>,
    stop: Option<oneshot::Sender<()>>,
    healer: JoinHandle<Result<(), HealerError>>,
}

impl Running {
    fn start(fake: Fake, runbooks: &[&str]) -> Running {
        let fake = Arc::new(fake);
        let sink = Arc::new(MemorySink::default());
        let runbooks = runbooks
            .iter()
            .map(|yaml| Runbook::parse(yaml, Path::new("test.yaml")).unwrap())
            .collect();
        let healer = Healer::new(fake.clone(), runbooks, Scope::default(), sink.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let healer = tokio::spawn(healer.run(async {
            let _ = stopped.await;
        }));
        Running {
            fake,
            sink,
            stop: Some(stop),
            healer,
        }
    }

    /// Waits (in paused time) until `count` events satisfy `pick`.
    async fn wait_for(&self, count: usize, pick: impl Fn(&Event) -> bool) {
        let enough = || self.sink.events().iter().filter(|e| pick(e)).count() >= count;
        let waited = tokio::time::timeout(Duration::from_secs(600), async {
            while !enough() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(waited.is_ok(), "events so far: {:#?}", self.sink.events());
    }

    fn count(&self, pick: impl Fn(&Event) -> bool) -> usize {
        self.sink.events().iter().filter(|e| pick(e)).count()
    }

    /// The wait before each call of `signals` after the first, in ms.
    fn gaps_ms(&self) -> Vec<u128> {
        let asked = lock(&self.fake.signals_asked).clone();
        asked
            .windows(2)
            .map(|pair| (pair[1] - pair[0]).as_millis())
            .collect()
    }

    fn restored_down_ms(&self) -> Vec<f64> {
        let down = self.sink.events().into_iter().filter_map(|e| match e {
            Event::SourceRestored { down_ms, .. } => Some(down_ms),
            _ => None,
        });
        down.collect()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.healer.abort();
    }
}

fn target(name: &str) -> TargetRef {
    TargetRef {
        id: format!("id-{name}"),
        name: name.to_owned(),
        labels: BTreeMap::new(),
    }
}

fn signal(name: &str, kind: SignalKind) -> Signaled {
    Ok(Signal {
        target: target(name),
        kind,
        at: Instant::now(),
    })
}

fn lost() -> Signaled {
    Err(PlatformError::Connect {
        source: "the daemon went away".into(),
    })
}

fn is_lost(event: &Event) -> bool {
    matches!(event, Event::SourceLost { .. })
}

fn is_restored(event: &Event) -> bool {
    matches!(event, Event::SourceRestored { .. })
}

/// Sends `items` on a feed the fake gives later; the feed stays open while the sender lives.
fn feed(fake: &Fake, items: Vec<Signaled>) -> mpsc::UnboundedSender<Signaled> {
    let tx = fake.feed();
    items.into_iter().for_each(|item| tx.send(item).unwrap());
    tx
}

#[tokio::test(start_paused = true)]
async fn a_lost_stream_is_recorded_once_and_asked_for_again_doubling_the_wait_up_to_5s() {
    let fake = Fake::default();
    // The stream, then eight refused attempts, then one that answers.
    let _feeds: Vec<_> = (0..10)
        .map(|n| feed(&fake, if n < 9 { vec![lost()] } else { vec![] }))
        .collect();
    let run = Running::start(fake, &[RESTART_ON_DIE]);
    run.wait_for(1, is_restored).await;
    assert_eq!(
        run.gaps_ms(),
        [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]
    );
    assert_eq!(
        (FIRST_RETRY, MAX_RETRY),
        (Duration::from_millis(100), Duration::from_secs(5))
    );
    let events = run.sink.events();
    assert_eq!(
        events,
        [
            Event::SourceLost {
                source: "docker events".to_owned(),
                detail: "the daemon went away".to_owned(),
                fallback: "nothing: blind until the stream is back".to_owned(),
            },
            Event::SourceRestored {
                source: "docker events".to_owned(),
                down_ms: 21300.0,
                detail: "no target stopped while blind".to_owned(),
            },
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn the_wait_goes_back_to_100ms_only_after_a_stream_that_delivered() {
    let fake = Fake::default();
    let _first = feed(&fake, vec![signal("a", SignalKind::Started), lost()]);
    let _refused = feed(&fake, vec![lost()]);
    let second = feed(&fake, vec![]);
    let third = feed(&fake, vec![]);
    let _fourth = feed(&fake, vec![]);
    let run = Running::start(fake, &[RESTART_ON_DIE]);
    run.wait_for(1, is_restored).await;
    // Lost without having delivered: the wait goes on doubling.
    second.send(lost()).unwrap();
    run.wait_for(2, is_restored).await;
    third.send(signal("a", SignalKind::Started)).unwrap();
    third.send(lost()).unwrap();
    run.wait_for(3, is_restored).await;
    assert_eq!(run.restored_down_ms(), [300.0, 400.0, 100.0]);
    assert_eq!(run.count(is_lost), 3);
}

#[tokio::test(start_paused = true)]
async fn after_a_reconnect_targets_that_died_while_blind_are_healed_once_and_new_ones_watched() {
    let fake = Fake {
        running: std::sync::Mutex::new(vec![target("a"), target("b"), target("c")]),
        existing: ["a", "b", "c", "e"].map(target).to_vec(),
        ..Fake::default()
    };
    // `e` and `d` are seen starting; `e` dies and its incident stays open (verifying); `d` is
    // removed while the healer is blind.
    let first = feed(
        &fake,
        vec![
            signal("e", SignalKind::Started),
            signal("d", SignalKind::Started),
            signal("e", SignalKind::Died { exit_code: Some(1) }),
        ],
    );
    let _second = feed(&fake, vec![]);
    let run = Running::start(fake, &[RESTART_ON_DIE, NEVER_BUSY]);
    run.wait_for(1, |e| matches!(e, Event::ActionStarted { .. }))
        .await;
    *lock(&run.fake.running) = vec![target("c"), target("n")];
    first.send(lost()).unwrap();
    run.wait_for(3, |e| matches!(e, Event::ActionStarted { .. }))
        .await;
    tokio::time::sleep(Duration::from_secs(5)).await;

    let events = run.sink.events();
    let restored = events.iter().find(|e| is_restored(e)).unwrap();
    assert!(
        matches!(restored, Event::SourceRestored { detail, .. }
            if detail == "found stopped while blind: a, b, e; new while blind: n"),
        "{restored:?}"
    );
    let lost_at = events.iter().position(is_lost).unwrap();
    let restored_at = events.iter().position(is_restored).unwrap();
    let healed: Vec<(usize, &str)> = events
        .iter()
        .enumerate()
        .filter_map(|(at, e)| match e {
            Event::ActionStarted { target, .. } => Some((at, target.as_str())),
            _ => None,
        })
        .collect();
    let names: Vec<&str> = healed.iter().map(|(_, name)| *name).collect();
    assert_eq!(names, ["e", "a", "b"], "{events:#?}");
    assert!(lost_at < restored_at && restored_at < healed[1].0);
    let suppressed: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::Suppressed { .. }))
        .collect();
    assert!(
        matches!(suppressed.as_slice(), [Event::Suppressed { target, reason, .. }]
            if target == "e" && reason.starts_with("incident already open")),
        "{suppressed:#?}"
    );
    assert!(lock(&run.fake.sampled).iter().any(|name| name == "n"));
}

#[tokio::test(start_paused = true)]
async fn while_the_platform_does_not_answer_the_healer_keeps_asking_until_shut_down() {
    let fake = Fake {
        targets_failing: u32::MAX.into(),
        ..Fake::default()
    };
    let _first = feed(&fake, vec![lost()]);
    let mut run = Running::start(fake, &[RESTART_ON_DIE]);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(!run.healer.is_finished());
    // 6.3 s for the first six attempts, then one every 5 s.
    let asked = lock(&run.fake.signals_asked).len();
    assert!(asked >= 16, "{asked} calls of signals");
    assert_eq!(run.count(is_lost), 1);
    assert_eq!(run.count(is_restored), 0);
    run.stop.take().unwrap().send(()).unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(1), &mut run.healer).await;
    assert!(stopped.expect("stops on shutdown").unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_new_stream_that_fails_for_good_stops_the_healer() {
    let fake = Fake::default();
    let _first = feed(&fake, vec![lost()]);
    let refused = PlatformError::Signals {
        source: "400 Bad Request: invalid filter".into(),
    };
    let _second = feed(&fake, vec![Err(refused)]);
    let mut run = Running::start(fake, &[RESTART_ON_DIE]);
    let ended = tokio::time::timeout(Duration::from_secs(10), &mut run.healer).await;
    let error = ended.expect("stops").unwrap().unwrap_err();
    assert_eq!(
        error.to_string(),
        "the healer lost its signals: the platform's signal stream failed: \
         400 Bad Request: invalid filter"
    );
}

#[tokio::test(start_paused = true)]
async fn a_target_whose_last_heal_failed_is_healed_at_the_resync_despite_its_cooldown() {
    // Verification fails after 1 s (no port published); then 60 s of cooldown.
    let runbook = RESTART_ON_DIE
        .replace("within: 30s", "within: 1s")
        .replace("cooldown: 0s", "cooldown: 60s");
    let fake = Fake {
        running: std::sync::Mutex::new(vec![target("f")]),
        existing: vec![target("f")],
        ..Fake::default()
    };
    let first = feed(
        &fake,
        vec![signal("f", SignalKind::Died { exit_code: Some(0) })],
    );
    let _second = feed(&fake, vec![]);
    let run = Running::start(fake, &[&runbook]);
    run.wait_for(1, |e| matches!(e, Event::IncidentClosed { ok: false, .. }))
        .await;
    // Live, the cooldown holds.
    first
        .send(signal("f", SignalKind::Died { exit_code: Some(0) }))
        .unwrap();
    run.wait_for(
        1,
        |e| matches!(e, Event::Suppressed { reason, .. } if reason.starts_with("cooldown")),
    )
    .await;
    lock(&run.fake.running).clear();
    first.send(lost()).unwrap();
    run.wait_for(2, |e| matches!(e, Event::ActionStarted { .. }))
        .await;
    let events = run.sink.events();
    let restored = events.iter().position(is_restored).unwrap();
    let second = events
        .iter()
        .rposition(|e| matches!(e, Event::ActionStarted { .. }))
        .unwrap();
    assert!(restored < second, "{events:#?}");
}
