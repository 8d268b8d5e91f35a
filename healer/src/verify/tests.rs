//! Verification's schedule in paused time with scripted probes, then against real loopback
//! listeners: a target that hangs until it starts answering, and the path it is asked.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::future;

use super::*;
use crate::platform::fake::Fake;

const MS: Duration = Duration::from_millis(1);

fn target(labels: &[(&str, &str)]) -> TargetRef {
    TargetRef {
        id: "id".into(),
        name: "t".into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn check(http_path: Option<&str>, within: Duration, consecutive: u32) -> Verify {
    Verify {
        http_path: http_path.map(str::to_owned),
        port: None,
        within,
        consecutive: NonZeroU32::new(consecutive).unwrap(),
    }
}

/// How scripted probe number `index` (from 0, in send order) goes.
#[derive(Clone, Copy)]
enum Answer {
    /// Answers after this long, healthily or not.
    After(Duration, bool),
    /// Never answers: only the probe timeout ends it.
    Hang,
}

/// Runs `judge` with probes scripted by `script`.
async fn scripted(check: &Verify, script: impl Fn(usize) -> Answer) -> Outcome {
    let mut sent = 0;
    judge(check, || {
        let answer = script(sent);
        sent += 1;
        async move {
            match answer {
                Answer::After(delay, healthy) => {
                    tokio::time::sleep(delay).await;
                    if healthy {
                        Ok(())
                    } else {
                        Err("HTTP 503".to_owned())
                    }
                }
                Answer::Hang => future::pending().await,
            }
        }
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn a_healthy_answer_counts_when_it_comes_while_earlier_probes_still_hang() {
    // The first four probes (sent at 0, 50, 100, 150 ms) hit a dying container and hang; the
    // fifth, at 200 ms, answers in 2 ms. Nothing waits for the hung ones' 500 ms timeouts.
    let outcome = scripted(&check(None, Duration::from_secs(5), 1), |index| {
        if index < 4 {
            Answer::Hang
        } else {
            Answer::After(2 * MS, true)
        }
    })
    .await;
    assert_eq!(
        outcome,
        Outcome {
            ok: true,
            attempts: 5,
            elapsed: 202 * MS,
            last_error: None,
        }
    );
}

#[tokio::test(start_paused = true)]
async fn consecutive_answers_must_be_healthy_probes_sent_one_after_the_other() {
    // good, bad, good, good, good: the run of three ends with probe 4's answer at 201 ms.
    let pattern = [true, false, true, true, true];
    let outcome = scripted(&check(None, Duration::from_secs(5), 3), |index| {
        Answer::After(MS, pattern.get(index).copied().unwrap_or(false))
    })
    .await;
    assert_eq!((outcome.ok, outcome.attempts), (true, 5));
    assert_eq!(outcome.elapsed, 201 * MS);
    assert_eq!(outcome.last_error.as_deref(), Some("HTTP 503"));

    // Alternating: as many healthy answers as you like, never three in a row.
    let outcome = scripted(&check(None, Duration::from_secs(1), 3), |index| {
        Answer::After(MS, index % 2 == 0)
    })
    .await;
    assert_eq!(
        outcome,
        Outcome {
            ok: false,
            attempts: 20,
            elapsed: Duration::from_secs(1),
            last_error: Some("HTTP 503".to_owned()),
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_is_by_send_order_whatever_order_the_answers_come_in() {
    // Probe 0 fails; 1 is healthy but answers only at 350 ms; 2 and 3 answer healthily at once;
    // 4 fails; 5 and later answer healthily at once. Probes 2, 3 and 5, 6 are runs of two
    // (4 sits between them); 1, 2, 3 become a run of three when 1 answers, at 350 ms.
    let outcome = scripted(
        &check(None, Duration::from_secs(5), 3),
        |index| match index {
            0 | 4 => Answer::After(MS, false),
            1 => Answer::After(300 * MS, true),
            _ => Answer::After(MS, true),
        },
    )
    .await;
    assert_eq!((outcome.ok, outcome.elapsed), (true, 350 * MS));
    assert_eq!(outcome.attempts, 7, "sent at 0, 50, …, 300 ms");
}

#[tokio::test(start_paused = true)]
async fn probes_leave_on_schedule_each_with_its_own_timeout_and_a_cap_in_flight() {
    let sends = Arc::new(Mutex::new(Vec::new()));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    /// Counts a probe out of flight when it is dropped (it timed out).
    struct Flying(Arc<AtomicUsize>);
    impl Drop for Flying {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let started = Instant::now();
    let outcome = judge(&check(None, Duration::from_secs(2), 1), || {
        sends.lock().unwrap().push(started.elapsed());
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        most.fetch_max(now, Ordering::SeqCst);
        let flying = Flying(Arc::clone(&in_flight));
        async move {
            let _flying = flying;
            future::pending().await
        }
    })
    .await;
    assert_eq!(
        outcome,
        Outcome {
            ok: false,
            attempts: 40,
            elapsed: Duration::from_secs(2),
            last_error: Some("probe timed out after 500ms".to_owned()),
        }
    );
    let expected: Vec<Duration> = (0..40).map(|i| i * PROBE_INTERVAL).collect();
    assert_eq!(*sends.lock().unwrap(), expected, "every 50 ms, hung or not");
    assert_eq!(most.load(Ordering::SeqCst), MAX_IN_FLIGHT);
    assert_eq!(MAX_IN_FLIGHT, 10);
    assert_eq!(in_flight.load(Ordering::SeqCst), 0, "none left behind");
}

#[test]
fn the_path_is_the_runbooks_then_the_targets_label_then_the_default() {
    let labelled = target(&[("healer.health", "/healthz")]);
    let within = Duration::from_secs(1);
    assert_eq!(
        path(&check(Some("/ready"), within, 1), &labelled, "/health"),
        "/ready"
    );
    assert_eq!(
        path(&check(None, within, 1), &labelled, "/health"),
        "/healthz"
    );
    assert_eq!(
        path(&check(None, within, 1), &target(&[]), "/health"),
        "/health"
    );
    let not_a_path = target(&[("healer.health", "healthz")]);
    assert_eq!(
        path(&check(None, within, 1), &not_a_path, "/health"),
        "/health"
    );
}

#[test]
fn port_comes_from_the_label_else_the_default() {
    assert_eq!(label_port(&target(&[])), 8080);
    assert_eq!(label_port(&target(&[("healer.port", "9000")])), 9000);
    assert_eq!(label_port(&target(&[("healer.port", "http")])), 8080);
}

// ---- real listeners ------------------------------------------------------------------------

async fn serve(router: axum::Router) -> Fake {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Fake {
        endpoint: Some(address),
        ..Fake::default()
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

#[tokio::test]
async fn a_target_that_hangs_until_it_answers_is_verified_within_about_an_interval() {
    let opens = Duration::from_millis(250);
    let opens_at = Instant::now() + opens;
    let router = axum::Router::new().route(
        "/health",
        axum::routing::get(move || async move {
            if Instant::now() < opens_at {
                future::pending::<()>().await;
            }
            "ok"
        }),
    );
    let platform = serve(router).await;
    let check = check(None, Duration::from_secs(5), 1);
    let outcome = verify(&platform, &client(), &target(&[]), &check, "/health").await;
    assert!(outcome.ok, "{outcome:?}");
    // The first probe that leaves after 250 ms answers: by 300 ms on schedule. The slack is
    // for a loaded machine; waiting out the first probe's timeout would take 500 ms or more.
    assert!(outcome.elapsed >= opens, "{outcome:?}");
    assert!(
        outcome.elapsed < opens + PROBE_INTERVAL + Duration::from_millis(150),
        "seen {:?} after the target began to answer: {outcome:?}",
        outcome.elapsed - opens
    );
}

#[tokio::test]
async fn the_targets_health_label_is_asked_unless_the_runbook_names_a_path() {
    let router = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
    let platform = serve(router).await;
    let labelled = target(&[("healer.health", "/healthz")]);
    let within = Duration::from_millis(300);

    let default = check(None, within, 2);
    let asked = path(&default, &labelled, "/health");
    let outcome = verify(&platform, &client(), &labelled, &default, &asked).await;
    assert!(outcome.ok, "{outcome:?}");
    assert!(outcome.attempts >= 2, "two in a row: {outcome:?}");

    let named = check(Some("/health"), within, 1);
    let asked = path(&named, &labelled, "/health");
    let outcome = verify(&platform, &client(), &labelled, &named, &asked).await;
    assert!(!outcome.ok, "{outcome:?}");
    let error = outcome.last_error.unwrap();
    assert!(
        error.ends_with("/health: HTTP 404 Not Found"),
        "the runbook's path was asked: {error}"
    );
}
