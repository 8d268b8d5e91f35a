//! Log lines through the engine, against the fake platform: a `log_match` runbook opens one
//! incident on the Nth matching line, its excerpt (redacted) is journalled right after
//! `Detected`, and a restart heals it; a new run of the container starts the count and the
//! excerpt afresh.

mod common;

use healer::SignalKind;

use common::{leaky, target, Restarts, Run};

const RUNBOOK: &str = r"name: restart-on-log-error
class: db_pool
when:
  - log_match: 'FATAL: .*pool exhausted'
    count: 3
    within: 10s
steps:
  - action: restart
    timeout: 10s
verify:
  within: 5s
cooldown: 1s
max_actions: 3
window: 10m
";

fn log(line: &str) -> SignalKind {
    SignalKind::Log {
        line: line.to_owned(),
    }
}

#[tokio::test]
async fn the_third_matching_line_opens_one_incident_with_its_redacted_excerpt_and_a_restart() {
    let run = Run::start(RUNBOOK, Restarts::Succeed, Some(leaky().await));
    let leaky0 = target("leaky-0", "r1");
    run.send(&leaky0, log("GET / 200 token=abc123"));
    run.send(&leaky0, log("FATAL: database connection pool exhausted"));
    run.send(&leaky0, log("FATAL: database connection pool exhausted"));
    run.send(&leaky0, log("WARN: slow query"));
    run.send(&leaky0, log("FATAL: database connection pool exhausted"));
    run.wait_for(1, common::is_verified).await;
    let (restarts, events) = run.finish().await;
    assert_eq!(restarts, 1);
    let excerpt = "excerpt leaky-0-db_pool-1: GET / 200 token=[REDACTED] \
        | FATAL: database connection pool exhausted | FATAL: database connection pool exhausted \
        | WARN: slow query | FATAL: database connection pool exhausted";
    assert_eq!(events[0], "detected leaky-0-db_pool-1 leaky-0 db_pool on log: FATAL: database connection pool exhausted");
    assert_eq!(events[1], excerpt);
    assert!(
        events[2].starts_with(
            "selected leaky-0-db_pool-1 restart-on-log-error: 3 log lines matching \
             `FATAL: .*pool exhausted` within 10s (last: FATAL: database connection pool exhausted)"
        ),
        "{}",
        events[2]
    );
    assert_eq!(
        &events[3..],
        [
            "started leaky-0-db_pool-1 restart",
            "finished leaky-0-db_pool-1 restart ok=true error=None",
            "verified leaky-0-db_pool-1 ok=true",
            "closed leaky-0-db_pool-1 ok=true",
        ]
    );
}

#[tokio::test]
async fn too_few_matches_open_nothing_and_a_new_run_starts_a_new_excerpt() {
    let run = Run::start(RUNBOOK, Restarts::Succeed, Some(leaky().await));
    let leaky0 = target("leaky-0", "r1");
    run.send(&leaky0, log("FATAL: database connection pool exhausted"));
    run.send(&leaky0, log("FATAL: database connection pool exhausted"));
    run.send(&leaky0, log("old run's last words"));
    run.send(&leaky0, SignalKind::Started);
    for _ in 0..3 {
        run.send(&leaky0, log("FATAL: pool exhausted"));
    }
    run.wait_for(1, common::is_verified).await;
    let (restarts, events) = run.finish().await;
    assert_eq!(restarts, 1, "{events:#?}");
    assert_eq!(
        events[0],
        "detected leaky-0-db_pool-1 leaky-0 db_pool on log: FATAL: pool exhausted"
    );
    assert_eq!(
        events[1],
        "excerpt leaky-0-db_pool-1: FATAL: pool exhausted | FATAL: pool exhausted | FATAL: pool exhausted",
        "the lines before the start are not in the excerpt"
    );
}
