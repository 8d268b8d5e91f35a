//! The independent prober: samples each replica's health endpoint every `interval` and journals
//! every result. Outage start and recovery are measured from these probes, never from the
//! healer's own verification, so the healer cannot grade its own work.

use std::sync::Arc;
use std::time::Duration;

use journal::{Event, Sink};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// One replica to probe.
#[derive(Debug, Clone)]
pub struct ProbeTarget {
    pub name: String,
    pub url: String,
}

/// Probes `target` until `cancel` fires; publishes how many probes in a row succeeded on
/// `consecutive_ok` (0 after a failure).
pub async fn probe_until_cancelled(
    target: ProbeTarget,
    interval: Duration,
    timeout: Duration,
    sink: Arc<dyn Sink>,
    consecutive_ok: watch::Sender<u32>,
    cancel: CancellationToken,
) {
    let client = probe_client(timeout);
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let started = Instant::now();
        let result = tokio::select! {
            _ = cancel.cancelled() => return,
            result = client.get(&target.url).send() => result,
        };
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let (ok, status, error) = match result {
            Ok(response) => {
                let status = response.status();
                (status.is_success(), Some(status.as_u16()), None)
            }
            Err(e) => (false, None, Some(probe_error(&e))),
        };
        consecutive_ok.send_modify(|n| *n = if ok { n.saturating_add(1) } else { 0 });
        sink.record(Event::Probe {
            target: target.name.clone(),
            ok,
            status,
            latency_ms,
            error,
        });
    }
}

/// Polls `url` until it answers 2xx or `deadline` passes; used to wait for a replica to start.
pub async fn wait_until_healthy(url: &str, timeout: Duration, deadline: Duration) -> bool {
    let client = probe_client(timeout);
    let give_up = Instant::now() + deadline;
    while Instant::now() < give_up {
        if let Ok(response) = client.get(url).send().await {
            if response.status().is_success() {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

/// A client that opens a fresh connection per probe, so a dead or hung replica shows at once.
fn probe_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap_or_default()
}

/// A short reason: "timeout", "connection refused"…, not reqwest's nested error chain.
fn probe_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timeout".to_owned()
    } else if error.is_connect() {
        "connect failed".to_owned()
    } else {
        "request failed".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Collect(Mutex<Vec<Event>>);

    impl Sink for Collect {
        fn record(&self, event: Event) {
            self.0.lock().unwrap().push(event);
        }
    }

    #[tokio::test]
    async fn probes_record_ok_then_failure_when_the_service_goes_away() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = leaky::Config::from_lookup(|_| None).unwrap();
        let server = tokio::spawn(leaky::serve(config, listener));
        let url = format!("http://127.0.0.1:{port}/health");
        assert!(wait_until_healthy(&url, Duration::from_millis(500), Duration::from_secs(5)).await);

        let sink = Arc::new(Collect::default());
        let (healthy, mut seen) = watch::channel(0);
        let cancel = CancellationToken::new();
        let prober = tokio::spawn(probe_until_cancelled(
            ProbeTarget {
                name: "leaky-0".into(),
                url,
            },
            Duration::from_millis(20),
            Duration::from_millis(300),
            sink.clone(),
            healthy,
            cancel.clone(),
        ));
        seen.wait_for(|ok| *ok >= 2).await.unwrap();
        server.abort();
        seen.wait_for(|ok| *ok == 0).await.unwrap();
        cancel.cancel();
        prober.await.unwrap();

        let events = sink.0.lock().unwrap();
        let oks: Vec<bool> = events
            .iter()
            .map(|e| match e {
                Event::Probe { ok, target, .. } => {
                    assert_eq!(target, "leaky-0");
                    *ok
                }
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(oks.first(), Some(&true));
        assert_eq!(oks.last(), Some(&false));
    }
}
