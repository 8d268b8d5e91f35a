//! The healer through a restart of the Docker daemon it watches: a throwaway dockerd of the
//! test's own (see [`dockerd`]) runs the `leaky` target (restart policy `no`) and is stopped
//! with SIGTERM, then started again, which stops the target (no live-restore). dockerd stops
//! its containers before it exits and the stream still delivers their `die`, so the healer
//! first tries in vain (the daemon takes no new connections). It records `SourceLost`,
//! reconnects, records `SourceRestored` naming the target it found stopped, restarts it once
//! (the shipped `restart-on-crash` runbook, whose cooldown does not hold back a resync after a
//! failed heal), and goes on healing: a kill after the restart is healed too.
//!
//! Root only (dockerd, a bridge, cgroups). The image is built on the machine's engine by the
//! shared [`fixture`] and loaded into the throwaway daemon through its socket.

mod common;
#[path = "common/dockerd.rs"]
mod dockerd;
mod fixture;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig, RestartPolicy, RestartPolicyNameEnum};
use bollard::query_parameters::{CreateContainerOptionsBuilder, ImportImageOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt;
use healer::{DockerPlatform, Healer, Platform, Runbook, TargetRef};
use journal::{Event, Journal, MemorySink, Record, Sink};
use tokio::sync::oneshot;
use tokio::time::Instant;

use dockerd::Dockerd;
use fixture::{sim_binary, Fixture, TEST_LABEL};

/// How long the test waits for the healer's events or the target's answer.
const PATIENCE: Duration = Duration::from_secs(120);

/// Restart on any `die`, verified at `/health`: `runbooks/restart-on-crash.yaml`, whose
/// cooldown (5 s) outlasts the failed heals of the daemon's shutdown when the daemon restarts
/// fast.
const RUNBOOK: &str = "restart-on-crash";
/// That runbook's cooldown: the second kill waits it out.
const COOLDOWN: Duration = Duration::from_secs(5);

/// The healer's record, kept in memory to wait on and in a journal for its timestamps.
struct Recorded {
    memory: MemorySink,
    journal: Journal,
}

impl Sink for Recorded {
    fn record(&self, event: Event) {
        self.memory.record(event.clone());
        self.journal.record(event);
    }
}

#[tokio::test]
async fn the_healer_reconnects_after_a_daemon_restart_heals_what_died_meanwhile_once_and_goes_on() {
    Fixture::new("daemon-restart")
        .await
        .run(|f| async move {
            let config = "ENTRYPOINT [\"/sim\", \"target\", \"leaky\"]\n";
            let image = f
                .build_scratch("leaky", "good", &sim_binary(), "/sim", config)
                .await;
            let mut daemon = Dockerd::start().await;
            let docker = daemon.client().await;
            load(&f.docker, &docker, &image).await;
            let target = run_target(&docker, &f.run, &image).await;
            let platform = DockerPlatform::new(docker.clone());
            answering(&platform, &target).await;

            let journal_dir = tempfile::tempdir().unwrap();
            let journal_path = journal_dir.path().join("journal.jsonl");
            let sink = Arc::new(Recorded {
                memory: MemorySink::default(),
                journal: Journal::create(&journal_path).unwrap(),
            });
            let file = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("runbooks")
                .join(format!("{RUNBOOK}.yaml"));
            let runbook = Runbook::load(&file).unwrap();
            let healer = Healer::new(
                Arc::new(platform.clone()),
                vec![runbook],
                f.scope(),
                sink.clone(),
            );
            let (stop, stopped) = oneshot::channel::<()>();
            let mut healer = tokio::spawn(healer.run(async {
                let _ = stopped.await;
            }));
            listening(&docker).await;

            let restart_began = Instant::now();
            let (stopping, starting) = daemon.restart().await;
            common::wait_for(&sink.memory, PATIENCE, 1, is_verified_ok).await;
            answering(&platform, &target).await;
            let answering_after = restart_began.elapsed();

            let events = sink.memory.events();
            let lost = events
                .iter()
                .position(|e| matches!(e, Event::SourceLost { .. }));
            let restored = events.iter().position(|e| {
                matches!(e, Event::SourceRestored { detail, .. }
                    if detail == "found stopped while blind: leaky-0")
            });
            let (Some(lost), Some(restored)) = (lost, restored) else {
                panic!("no SourceLost, or no SourceRestored naming leaky-0: {events:#?}");
            };
            assert!(lost < restored, "{events:#?}");
            // dockerd stops its containers before it exits and the stream still delivers their
            // `die`: the restart that sets off fails while the daemon takes no connections,
            // unless a retry reaches the new daemon. Either way the target is healed once: the
            // resync's death opens the one incident, or is suppressed as that one is open.
            let failed_while_down = events[..restored]
                .iter()
                .filter(|e| matches!(e, Event::ActionFinished { ok: false, .. }))
                .count();
            let failed = count(&events, |e| {
                matches!(e, Event::ActionFinished { ok: false, .. })
            });
            assert_eq!(failed, failed_while_down, "{events:#?}");
            let after = &events[restored..];
            let resynced = count(after, is_detected) + count(after, is_suppressed_as_open);
            assert_eq!(resynced, 1, "{events:#?}");
            assert_eq!(count(&events, is_restarted), 1, "{events:#?}");
            assert_eq!(count(&events, is_verified_ok), 1, "{events:#?}");
            assert!(!healer.is_finished(), "the healer stopped: {events:#?}");
            let state = docker
                .inspect_container(&target.id, None)
                .await
                .unwrap()
                .state;
            assert_eq!(state.and_then(|state| state.running), Some(true));

            // Still healing: a kill after the restart is seen through the new stream.
            common::wait_for(&sink.memory, PATIENCE, 1, |e| {
                matches!(e, Event::IncidentClosed { ok: true, .. })
            })
            .await;
            tokio::time::sleep(COOLDOWN).await;
            let before_kill = sink.memory.events().len();
            docker
                .kill_container(
                    &target.id,
                    None::<bollard::query_parameters::KillContainerOptions>,
                )
                .await
                .unwrap();
            common::wait_for(&sink.memory, PATIENCE, 2, is_verified_ok).await;
            answering(&platform, &target).await;
            let after_kill = &sink.memory.events()[before_kill..];
            assert_eq!(count(after_kill, is_detected), 1, "{after_kill:#?}");
            assert_eq!(count(after_kill, is_action_started), 1, "{after_kill:#?}");
            assert_eq!(count(after_kill, is_restarted), 1, "{after_kill:#?}");
            let lost_count = count(&sink.memory.events(), |e| {
                matches!(e, Event::SourceLost { .. })
            });
            assert_eq!(lost_count, 1);

            stop.send(()).unwrap();
            let ended = tokio::time::timeout(PATIENCE, &mut healer).await;
            assert!(ended.expect("the healer stops").unwrap().is_ok());
            report(
                &journal::read_journal(&journal_path).unwrap(),
                stopping,
                starting,
                answering_after,
            );
        })
        .await;
}

/// Copies `image` from the machine's engine into the throwaway daemon (`docker save | docker
/// load`).
async fn load(host: &Docker, daemon: &Docker, image: &str) {
    let mut saving = host.export_image(image).boxed();
    let mut tar = Vec::new();
    while let Some(chunk) = saving.next().await {
        tar.extend_from_slice(&chunk.expect("the image saves"));
    }
    let options = ImportImageOptionsBuilder::new().quiet(true).build();
    let mut loading = daemon.import_image(options, bollard::body_full(tar.into()), None);
    while let Some(step) = loading.next().await {
        let step = step.expect("the image loads");
        assert!(
            step.error_detail.is_none(),
            "loading {image} failed: {step:?}"
        );
    }
}

/// Creates and starts `leaky-0` from `image`, labelled for the run's scope, restart policy
/// `no`, on the daemon's bridge.
async fn run_target(docker: &Docker, run: &str, image: &str) -> TargetRef {
    let labels = HashMap::from([
        (TEST_LABEL.to_owned(), run.to_owned()),
        ("healer.port".to_owned(), fixture::PORT.to_string()),
    ]);
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        labels: Some(labels.clone()),
        host_config: Some(HostConfig {
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::NO),
                maximum_retry_count: None,
            }),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    let options = CreateContainerOptionsBuilder::new().name("leaky-0").build();
    let created = docker.create_container(Some(options), body).await.unwrap();
    docker.start_container(&created.id, None).await.unwrap();
    TargetRef {
        id: created.id,
        name: "leaky-0".to_owned(),
        labels: labels.into_iter().collect(),
    }
}

/// Waits until `target` answers `/health` with 200.
async fn answering(platform: &DockerPlatform, target: &TargetRef) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let started = Instant::now();
    while started.elapsed() < PATIENCE {
        if let Ok(endpoint) = platform.http_endpoint(target, fixture::PORT).await {
            let answer = client
                .get(format!("http://{endpoint}/health"))
                .timeout(Duration::from_millis(500))
                .send()
                .await;
            if answer.is_ok_and(|a| a.status().is_success()) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} did not answer /health within {PATIENCE:?}", target.name);
}

/// Waits until the healer follows the daemon's events (the daemon counts its listeners).
async fn listening(docker: &Docker) {
    let started = Instant::now();
    loop {
        let info = docker.info().await.unwrap();
        if info.n_events_listener.unwrap_or(0) >= 1 {
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the healer never followed the events"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Prints how long the target was down, from the journal's timestamps: from its death during
/// the daemon's shutdown (the first `Detected`), and from the loss of the stream (when the old
/// daemon exited), to the heal.
fn report(records: &[Record], stopping: Duration, starting: Duration, answering: Duration) {
    let at = |pick: fn(&Event) -> bool| {
        records
            .iter()
            .find(|r| pick(&r.event))
            .map(|r| r.t_ms)
            .expect("recorded")
    };
    let died = at(is_detected);
    let lost = at(|e| matches!(e, Event::SourceLost { .. }));
    let restored = at(|e| matches!(e, Event::SourceRestored { .. }));
    let restarted = at(is_restarted);
    let verified = at(is_verified_ok);
    let failed = records
        .iter()
        .filter(|r| matches!(r.event, Event::ActionFinished { ok: false, .. }))
        .count();
    println!(
        "daemon restart, test clock: SIGTERM to exit {stopping:?}, start to answering \
         {starting:?}; target answering again {answering:?} after the SIGTERM\n\
         journal: death seen during the shutdown to verified (answering) {:.0} ms; from \
         SourceLost: SourceRestored +{:.0} ms, restart done +{:.0} ms, verified +{:.0} ms; \
         {failed} restart attempt(s) failed while the daemon was down",
        verified - died,
        restored - lost,
        restarted - lost,
        verified - lost,
    );
}

fn count(events: &[Event], pick: impl Fn(&Event) -> bool) -> usize {
    events.iter().filter(|e| pick(e)).count()
}

fn is_verified_ok(event: &Event) -> bool {
    matches!(event, Event::Verified { ok: true, .. })
}

fn is_action_started(event: &Event) -> bool {
    matches!(event, Event::ActionStarted { action, .. } if action == "restart")
}

fn is_suppressed_as_open(event: &Event) -> bool {
    matches!(event, Event::Suppressed { reason, .. } if reason.starts_with("incident already open"))
}

fn is_restarted(event: &Event) -> bool {
    matches!(event, Event::ActionFinished { action, ok: true, .. } if action == "restart")
}

fn is_detected(event: &Event) -> bool {
    matches!(event, Event::Detected { target, .. } if target == "leaky-0")
}
