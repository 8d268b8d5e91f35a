//! HTTP load with goose, embedded: one attack per trial, its controllers off, its logging and
//! Ctrl-C handling subordinate to sim's (see `interrupt`). goose runs the users and sends the
//! requests; sim paces each user on its own schedule and counts every request itself
//! (`windows`), so load is journalled over time, with latency from the intended send time.

mod windows;

use std::sync::Arc;
use std::time::Duration;

use goose::config::GooseConfiguration;
use goose::prelude::{GooseAttack, GooseUser, Scenario, Transaction, TransactionResult};
use journal::{Event, Sink};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use windows::{LoadRecorder, WINDOW};

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

/// Runs the attack to its end (or until `goose::trigger_killswitch`), journalling a
/// `LoadWindow` every [`WINDOW`] into `sink` meanwhile, and returns the trial's totals as an
/// `Event::Load`.
pub async fn run(spec: LoadSpec, sink: Arc<dyn Sink>) -> Result<Event, LoadError> {
    let attack = GooseAttack::initialize_with_config(configuration(&spec))
        .map_err(|e| LoadError(e.to_string()))?;
    let recorder = LoadRecorder::new(spec.users, spec.max_rps);
    let path: Arc<str> = spec.path.into();
    let user_recorder = recorder.clone();
    let transaction = Transaction::new(Arc::new(move |user: &mut GooseUser| {
        let path = path.clone();
        let recorder = user_recorder.clone();
        Box::pin(async move { paced_get(user, &path, &recorder).await })
    }))
    .set_name("request");
    let done = CancellationToken::new();
    let windows = tokio::spawn(windows::journal_windows(
        recorder.clone(),
        sink,
        done.clone(),
    ));
    let started = Instant::now();
    let result = attack
        .register_scenario(Scenario::new("load").register_transaction(transaction))
        .execute()
        .await;
    let elapsed = started.elapsed();
    done.cancel();
    let _ = windows.await;
    result.map_err(|e| LoadError(e.to_string()))?;
    Ok(recorder.load_event(elapsed))
}

/// One request of `user`, sent at its intended time and recorded against it.
async fn paced_get(user: &mut GooseUser, path: &str, recorder: &LoadRecorder) -> TransactionResult {
    let index = user.weighted_users_index;
    let intended = recorder.intended_send(index);
    tokio::time::sleep_until(intended).await;
    // A failed request is a result, recorded here; it must not end the user.
    let ok = match user.get(path).await {
        Ok(response) => response.request.success,
        Err(_) => false,
    };
    recorder.record(index, intended, Instant::now(), ok);
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
    // sim paces each user itself (`LoadRecorder`): goose's throttle would delay requests in
    // a way the latency figures could not see.
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(config.throttle_requests, None);
    }

    /// A real (short) attack against a real listener on loopback: counts and percentiles
    /// come back, and a refused connection counts as failed, not as an error of the generator.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_attack_on_loopback_reports_its_requests() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = leaky::Config::from_lookup(|_| None).unwrap();
        tokio::spawn(leaky::serve(config, listener));
        let sink = Arc::new(journal::MemorySink::default());
        let event = run(
            LoadSpec {
                host: format!("http://127.0.0.1:{port}"),
                path: "/".into(),
                users: 2,
                duration: Duration::from_secs(1),
                timeout: Duration::from_secs(2),
                max_rps: Some(100),
            },
            sink.clone(),
        )
        .await
        .unwrap();
        let Event::Load {
            requests_ok,
            requests_failed,
            p50_ms,
            rps,
            ..
        } = event
        else {
            panic!("not a load event: {event:?}");
        };
        assert!(requests_ok > 10, "only {requests_ok} requests succeeded");
        assert_eq!(requests_failed, 0);
        assert!(p50_ms > 0.0);
        // Paced at 100 rps over about a second, and journalled in windows that add up.
        assert!(rps <= 110.0, "{rps} requests/s exceed the pace of 100");
        let windows: Vec<u64> = sink
            .events()
            .into_iter()
            .filter_map(|e| match e {
                Event::LoadWindow { ok, .. } => Some(ok),
                _ => None,
            })
            .collect();
        assert!(windows.len() >= 4, "{windows:?}");
        assert_eq!(windows.iter().sum::<u64>(), requests_ok);
    }
}
