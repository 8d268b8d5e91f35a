//! HTTP load with goose, embedded: one attack per trial, its controllers off, its logging and
//! Ctrl-C handling subordinate to sim's (see `interrupt`), its figures turned into a journal event.

use std::sync::Arc;
use std::time::Duration;

use goose::config::GooseConfiguration;
use goose::metrics::GooseMetrics;
use goose::prelude::{GooseAttack, GooseUser, Scenario, Transaction, TransactionResult};
use journal::Event;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub host: String,
    pub path: String,
    pub users: usize,
    pub duration: Duration,
    pub timeout: Duration,
    pub max_rps: Option<usize>,
}

/// Load could not be generated at all (not: requests failed, which is a result).
#[derive(Debug, thiserror::Error)]
#[error("the load generator failed: {0}")]
pub struct LoadError(String);

/// Runs the attack to its end (or until `goose::trigger_killswitch`) and returns its figures as
/// an `Event::Load`.
pub async fn run(spec: LoadSpec) -> Result<Event, LoadError> {
    let attack = GooseAttack::initialize_with_config(configuration(&spec))
        .map_err(|e| LoadError(e.to_string()))?;
    let path: Arc<str> = spec.path.into();
    let transaction = Transaction::new(Arc::new(move |user: &mut GooseUser| {
        let path = path.clone();
        Box::pin(async move { get(user, &path).await })
    }))
    .set_name("request");
    let metrics = attack
        .register_scenario(Scenario::new("load").register_transaction(transaction))
        .execute()
        .await
        .map_err(|e| LoadError(e.to_string()))?;
    Ok(load_event(&metrics))
}

async fn get(user: &mut GooseUser, path: &str) -> TransactionResult {
    // A failed request is a result, recorded in the metrics; it must not end the user.
    let _ = user.get(path).await;
    Ok(())
}

fn configuration(spec: &LoadSpec) -> GooseConfiguration {
    let seconds = spec.duration.as_secs_f64().ceil().max(1.0) as u64;
    let mut config = GooseConfiguration::default();
    config.host = Some(spec.host.clone());
    config.users = Some(spec.users.max(1));
    // Every user starts at once: the fault window must see full load.
    config.increase_rate = Some(spec.users.max(1).to_string());
    config.run_time = Some(format!("{seconds}s"));
    config.timeout = Some(format!("{}", spec.timeout.as_secs_f64()));
    config.throttle_requests = spec.max_rps;
    config.quiet = 1;
    // With metrics not printed, goose prints nothing on stdout. It resets its metrics once every
    // user runs (within a second of the start, well before any fault), so the counts describe
    // the run at full load.
    config.no_print_metrics = true;
    config.no_error_summary = true;
    config.no_telnet = true;
    config.no_websocket = true;
    config.no_transaction_metrics = true;
    config.no_scenario_metrics = true;
    config
}

/// Turns goose's figures into the journal's `Load` event.
fn load_event(metrics: &GooseMetrics) -> Event {
    let mut ok = 0u64;
    let mut failed = 0u64;
    let mut times: Vec<(u64, usize)> = Vec::new();
    let mut max_us = 0u64;
    for aggregate in metrics.requests.values() {
        ok += aggregate.success_count as u64;
        failed += aggregate.fail_count as u64;
        times.extend(aggregate.raw_data.times_us.iter().map(|(t, n)| (*t, *n)));
        max_us = max_us.max(aggregate.raw_data.maximum_time_us);
    }
    times.sort_unstable();
    let seconds = (metrics.duration as f64).max(1.0);
    Event::Load {
        requests_ok: ok,
        requests_failed: failed,
        rps: (ok + failed) as f64 / seconds,
        p50_ms: percentile_ms(&times, 0.50),
        p95_ms: percentile_ms(&times, 0.95),
        p99_ms: percentile_ms(&times, 0.99),
        max_ms: max_us as f64 / 1000.0,
    }
}

/// Nearest-rank percentile over (microseconds, count) buckets sorted by time.
fn percentile_ms(buckets: &[(u64, usize)], quantile: f64) -> f64 {
    let total: usize = buckets.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return 0.0;
    }
    let rank = ((quantile * total as f64).ceil() as usize).clamp(1, total);
    let mut seen = 0;
    for (us, count) in buckets {
        seen += count;
        if seen >= rank {
            return *us as f64 / 1000.0;
        }
    }
    buckets.last().map_or(0.0, |(us, _)| *us as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank_over_buckets() {
        let buckets = [(1_000, 50), (2_000, 45), (10_000, 4), (100_000, 1)];
        assert_eq!(percentile_ms(&buckets, 0.50), 1.0);
        assert_eq!(percentile_ms(&buckets, 0.95), 2.0);
        assert_eq!(percentile_ms(&buckets, 0.99), 10.0);
        assert_eq!(percentile_ms(&buckets, 1.0), 100.0);
        assert_eq!(percentile_ms(&[], 0.5), 0.0);
    }

    #[test]
    fn the_configuration_turns_off_every_controller_and_report() {
        let config = configuration(&LoadSpec {
            host: "http://127.0.0.1:1".into(),
            path: "/".into(),
            users: 4,
            duration: Duration::from_millis(11_500),
            timeout: Duration::from_millis(1500),
            max_rps: Some(100),
        });
        assert!(config.no_telnet && config.no_websocket && config.no_print_metrics);
        assert_eq!(config.run_time.as_deref(), Some("12s"));
        assert_eq!(config.timeout.as_deref(), Some("1.5"));
        assert_eq!(config.throttle_requests, Some(100));
    }

    /// A real (short) attack against a real listener on loopback: counts and percentiles
    /// come back, and a refused connection counts as failed, not as an error of the generator.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_attack_on_loopback_reports_its_requests() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = leaky::Config::from_lookup(|_| None).unwrap();
        tokio::spawn(leaky::serve(config, listener));
        let event = run(LoadSpec {
            host: format!("http://127.0.0.1:{port}"),
            path: "/".into(),
            users: 2,
            duration: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
            max_rps: None,
        })
        .await
        .unwrap();
        let Event::Load {
            requests_ok,
            requests_failed,
            p50_ms,
            ..
        } = event
        else {
            panic!("not a load event: {event:?}");
        };
        assert!(requests_ok > 10, "only {requests_ok} requests succeeded");
        assert_eq!(requests_failed, 0);
        assert!(p50_ms > 0.0);
    }
}
