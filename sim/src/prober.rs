//! The independent prober: sends a probe to each replica's health endpoint every `interval`,
//! on a fixed schedule, and journals every result. Outage start and recovery are measured from
//! these probes, never from the healer's own verification, so the healer cannot grade its own work.
//!
//! The schedule is open-loop: a probe leaves every `interval` whatever became of the earlier
//! ones, each with its own timeout, so a probe hung on a dying container never delays the next
//! one (no coordinated omission). Each probe is recorded when it answers, with its latency, so
//! its send time is in the journal too (`Record::probe_sent_ms`); the figures use send times.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesOrdered, StreamExt};
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

/// Probes `target` every `interval` until `cancel` fires; publishes how many probes in a row
/// succeeded, in send order, on `consecutive_ok` (0 after a failure).
pub async fn probe_until_cancelled(
    target: ProbeTarget,
    interval: Duration,
    timeout: Duration,
    sink: Arc<dyn Sink>,
    consecutive_ok: watch::Sender<u32>,
    cancel: CancellationToken,
) {
    let client = probe_client(timeout);
    let target = Arc::new(target);
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    // Results come out in send order; each probe journals itself the moment it answers.
    let mut in_flight = FuturesOrdered::new();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticks.tick() => {
                in_flight.push_back(probe_once(client.clone(), target.clone(), sink.clone()));
            }
            Some(ok) = in_flight.next(), if !in_flight.is_empty() => {
                consecutive_ok.send_modify(|n| *n = if ok { n.saturating_add(1) } else { 0 });
            }
        }
    }
}

/// Sends one probe, journals its result when it answers (or times out), and returns whether it
/// was healthy.
async fn probe_once(
    client: reqwest::Client,
    target: Arc<ProbeTarget>,
    sink: Arc<dyn Sink>,
) -> bool {
    let sent = Instant::now();
    let result = client.get(&target.url).send().await;
    let latency_ms = sent.elapsed().as_secs_f64() * 1000.0;
    let (ok, status, error) = match result {
        Ok(response) => {
            let status = response.status();
            (status.is_success(), Some(status.as_u16()), None)
        }
        Err(e) => (false, None, Some(probe_error(&e))),
    };
    sink.record(Event::Probe {
        target: target.name.clone(),
        ok,
        status,
        latency_ms,
        error,
    });
    ok
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
    use journal::MemorySink;

    use super::*;

    #[tokio::test]
    async fn probes_record_ok_then_failure_when_the_service_goes_away() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = leaky::Config::from_lookup(|_| None).unwrap();
        let server = tokio::spawn(leaky::serve(config, listener));
        let url = format!("http://127.0.0.1:{port}/health");
        assert!(wait_until_healthy(&url, Duration::from_millis(500), Duration::from_secs(5)).await);

        let sink = Arc::new(MemorySink::default());
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

        let events = sink.events();
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

    /// A health endpoint that hangs for its first `hung` connections, then answers 200.
    async fn hang_then_answer(hung: usize) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/health", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let mut held = Vec::new();
            for n in 0.. {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                if n < hung {
                    held.push(stream);
                    continue;
                }
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let _ = stream.read(&mut buf).await;
                    let _ = stream
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        )
                        .await;
                });
            }
        });
        url
    }

    /// Open loop: while early probes wait out their timeout, later ones leave on schedule and
    /// answer; the first good answer is journalled long before the hung probes give up, and
    /// send times recover the true order.
    #[tokio::test]
    async fn a_hung_probe_does_not_delay_the_next_one() {
        let url = hang_then_answer(3).await;
        let sink = Arc::new(MemorySink::default());
        let (healthy, mut seen) = watch::channel(0);
        let cancel = CancellationToken::new();
        let interval = Duration::from_millis(20);
        let timeout = Duration::from_millis(400);
        let prober = tokio::spawn(probe_until_cancelled(
            ProbeTarget {
                name: "t".into(),
                url,
            },
            interval,
            timeout,
            sink.clone(),
            healthy,
            cancel.clone(),
        ));
        // In send order: three timeouts, then good answers; the streak counts in that order.
        seen.wait_for(|ok| *ok >= 3).await.unwrap();
        cancel.cancel();
        prober.await.unwrap();

        let events = sink.events();
        let probes: Vec<(bool, f64)> = events
            .iter()
            .map(|e| match e {
                Event::Probe { ok, latency_ms, .. } => (*ok, *latency_ms),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        let first_ok = probes.iter().position(|(ok, _)| *ok).unwrap();
        let first_timeout = probes.iter().position(|(ok, _)| !*ok).unwrap();
        assert!(
            first_ok < first_timeout,
            "the good answers must be journalled before the hung probes time out: {probes:?}"
        );
        let (_, good_latency) = probes[first_ok];
        assert!(
            good_latency < 200.0,
            "a good probe waited {good_latency} ms"
        );
        assert_eq!(
            probes.iter().filter(|(ok, _)| !*ok).count(),
            3,
            "{probes:?}"
        );
        assert!(probes
            .iter()
            .filter(|(ok, _)| !*ok)
            .all(|(_, latency)| *latency >= 390.0));
    }
}
