//! `healer serve` as a process under load and against slow clients: idle and dribbling
//! connections neither starve `/healthz` nor stay open past the header timeout; past
//! `--max-connections` a new client is answered 503 at once; slow clients do not hold up a
//! SIGTERM; seconds of webhook posts from several clients are all answered (200, or 503 while
//! the engine's queue is full) and the daemon's RSS stays flat.
//!
//! The real binary runs, so its RSS is its own. It needs a Docker engine to connect to, but its
//! scope is a label no container has: the alerts name containers it cannot find, and it only
//! looks them up and records them suppressed. A guard kills the daemon on every path.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout, Instant};

const RUNBOOK: &str = "\
name: restart-on-memory-alert
class: memory
when:
  - alert: ContainerMemoryHigh
steps:
  - action: restart
    timeout: 10s
verify:
  within: 10s
cooldown: 1h
max_actions: 1
window: 10m
";

const TOKEN: &str = "load-test-token";

/// A fresh client must get `/healthz` within this: a liveness bound only a starved server
/// misses, not a speed assertion.
const HEALTHZ_WITHIN: Duration = Duration::from_secs(2);

/// `healer serve` on a free loopback port; killed when dropped.
struct Daemon {
    child: Child,
    url: String,
    addr: SocketAddr,
    /// A client that opens a connection per request, so it holds none between them.
    fresh: reqwest::Client,
    /// Lines of its log that warn of a refused webhook.
    refusals_logged: Arc<AtomicUsize>,
    _dir: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    fn start(flags: &[&str]) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let runbooks = dir.path().join("runbooks");
        std::fs::create_dir(&runbooks).unwrap();
        std::fs::write(runbooks.join("memory.yaml"), RUNBOOK).unwrap();
        let scope = format!("healer.load-test=absent-{}", std::process::id());
        let mut child = Command::new(env!("CARGO_BIN_EXE_healer"))
            .args(["serve", "--listen", "127.0.0.1:0", "--scope", &scope])
            .arg("--runbooks")
            .arg(&runbooks)
            .args(["--token-env", "HEALER_LOAD_TOKEN"])
            .args(flags)
            .env("HEALER_LOAD_TOKEN", TOKEN)
            // Where it serves, and the server's and the webhook's warnings; not a line per
            // suppressed alert.
            .env("RUST_LOG", "error,healer::serve=info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut daemon = Daemon {
            child,
            url: String::new(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            fresh: reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(0)
                .timeout(HEALTHZ_WITHIN)
                .build()
                .unwrap(),
            refusals_logged: Arc::default(),
            _dir: dir,
        };
        daemon.url = serving_url(stderr, Arc::clone(&daemon.refusals_logged));
        daemon.addr = daemon.url.trim_start_matches("http://").parse().unwrap();
        daemon
    }

    /// Sends SIGTERM and waits up to `within` for the daemon to exit: its exit code, or `None`
    /// if it still runs (the guard kills it).
    async fn terminate(&mut self, within: Duration) -> Option<i32> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// The daemon's resident memory, from /proc.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no VmRSS in {status}"))
    }

    /// `/healthz` from a fresh connection: its time, or why it failed.
    async fn healthz(&self) -> Result<Duration, String> {
        let sent = Instant::now();
        let answer = self
            .fresh
            .get(format!("{}/healthz", self.url))
            .send()
            .await
            .map_err(|e| format!("no answer within {HEALTHZ_WITHIN:?}: {e}"))?;
        match answer.status().as_u16() {
            200 => Ok(sent.elapsed()),
            code => Err(format!("answered {code}")),
        }
    }

    /// The value of the series `series` (name and labels, as exposed) in `/metrics`.
    async fn metric(&self, series: &str) -> f64 {
        let text = self
            .fresh
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in /metrics:\n{text}"))
    }

    /// Waits until `/metrics` shows at least `count` open connections (its own included).
    async fn wait_for_open_connections(&self, count: f64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let open = self.metric("healer_http_connections_open").await;
            if open >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the server holds {open} connections, not {count}"
            );
            sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Reads the daemon's log until it says where it serves; forwards every line to our stderr and
/// counts the refused webhooks it warns of in `refusals`.
fn serving_url(stderr: std::process::ChildStderr, refusals: Arc<AtomicUsize>) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("healer: {line}");
            if line.contains("refused a webhook") {
                refusals.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(rest) = line.split("serving on ").nth(1) {
                let url = rest.split_whitespace().next().unwrap_or_default();
                let _ = tx.send(url.to_owned());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the daemon did not say where it serves: its log is above (no Docker engine?)")
}

/// Reads until the server closes the connection (end of stream or a reset); the time it took.
async fn until_closed(mut stream: TcpStream, opened: Instant) -> Duration {
    let mut buf = [0u8; 1024];
    while let Ok(read) = stream.read(&mut buf).await {
        if read == 0 {
            break;
        }
    }
    opened.elapsed()
}

/// Sends a request head one byte every 200 ms (it would take a minute to finish) until the
/// server closes the connection; the time that took.
async fn dribble(mut stream: TcpStream, opened: Instant) -> Duration {
    let head = format!(
        "POST /alerts HTTP/1.1\r\nHost: healer\r\nContent-Type: application/json\r\nX-Padding: {}",
        "a".repeat(240)
    );
    let mut buf = [0u8; 1024];
    for byte in head.bytes() {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return opened.elapsed(),
                Ok(_) => {}
            },
            () = sleep(Duration::from_millis(200)) => {
                if stream.write_all(&[byte]).await.is_err() {
                    return opened.elapsed();
                }
            }
        }
    }
    until_closed(stream, opened).await
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_and_dribbling_connections_neither_starve_healthz_nor_stay_open() {
    let header_timeout = Duration::from_secs(5);
    let daemon = Daemon::start(&["--header-timeout", "5s"]);
    let opened = Instant::now();
    let mut held = JoinSet::new();
    for n in 0..600 {
        let stream = TcpStream::connect(daemon.addr).await.unwrap();
        if n < 500 {
            held.spawn(until_closed(stream, opened));
        } else {
            held.spawn(dribble(stream, opened));
        }
    }
    daemon.wait_for_open_connections(601.0).await;

    // While they are open (their header timeout has not run out), fresh clients get /healthz.
    let mut checks = 0;
    while opened.elapsed() < header_timeout - Duration::from_millis(1500) {
        if let Err(why) = daemon.healthz().await {
            panic!("/healthz with 600 slow connections open: {why}");
        }
        checks += 1;
        sleep(Duration::from_millis(100)).await;
    }
    let open = daemon.metric("healer_http_connections_open").await;
    assert!(
        open >= 601.0,
        "the slow connections closed before the header timeout: {open} open"
    );

    // Then the server closes every one of them.
    let mut closed_after = Vec::new();
    let all_closed = timeout(header_timeout + Duration::from_secs(15), async {
        while let Some(after) = held.join_next().await {
            closed_after.push(after.unwrap());
        }
    })
    .await;
    assert!(
        all_closed.is_ok(),
        "{} of 600 slow connections still open {:?} after they were opened",
        600 - closed_after.len(),
        opened.elapsed()
    );
    closed_after.sort();
    eprintln!(
        "{checks} /healthz checks answered; the 600 slow connections were closed {:?} to {:?} after they opened",
        closed_after[0],
        closed_after[599]
    );
    daemon.healthz().await.unwrap();
    assert_eq!(daemon.metric("healer_http_connections_open").await, 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn past_the_connection_cap_a_new_client_is_refused_at_once_until_slots_free_up() {
    let daemon = Daemon::start(&["--max-connections", "50", "--header-timeout", "3s"]);
    let opened = Instant::now();
    let mut held = JoinSet::new();
    for _ in 0..50 {
        let stream = TcpStream::connect(daemon.addr).await.unwrap();
        held.spawn(until_closed(stream, opened));
    }

    // Accepted after the 50 (the accept queue is first in, first out): answered and closed.
    let mut refused = TcpStream::connect(daemon.addr).await.unwrap();
    let mut answer = String::new();
    let read = timeout(HEALTHZ_WITHIN, refused.read_to_string(&mut answer)).await;
    assert!(
        read.is_ok(),
        "a connection past the cap waited {HEALTHZ_WITHIN:?} unanswered"
    );
    assert!(
        answer.starts_with("HTTP/1.1 503 ") && answer.contains("--max-connections"),
        "{answer:?}"
    );

    // Once the header timeout closes the idle ones, fresh clients are served again.
    while held.join_next().await.is_some() {}
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Err(why) = daemon.healthz().await {
        assert!(
            Instant::now() < deadline,
            "/healthz after the idle connections closed: {why}"
        );
        sleep(Duration::from_millis(100)).await;
    }
    assert!(daemon.metric("healer_http_connections_refused_total").await >= 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_clients_do_not_hold_up_sigterm() {
    let mut daemon = Daemon::start(&["--header-timeout", "60s"]);
    let opened = Instant::now();
    let mut held = JoinSet::new();
    for n in 0..120 {
        let mut stream = TcpStream::connect(daemon.addr).await.unwrap();
        if n >= 100 {
            // Half a request head: the server waits for the rest.
            stream
                .write_all(b"POST /alerts HTTP/1.1\r\nHost: hea")
                .await
                .unwrap();
        }
        held.spawn(until_closed(stream, opened));
    }
    daemon.wait_for_open_connections(121.0).await;
    let asked = Instant::now();
    let exit = daemon.terminate(Duration::from_secs(10)).await;
    assert_eq!(
        exit,
        Some(0),
        "the daemon did not stop cleanly within 10 s of SIGTERM with 120 slow connections open"
    );
    eprintln!("stopped {:?} after SIGTERM", asked.elapsed());
    held.shutdown().await;
}

/// The v4 fixture, its alerts naming containers that no scope holds.
fn absent_targets_payload() -> String {
    let mut payload: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/alertmanager-v4.json")).unwrap();
    for (n, alert) in payload["alerts"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        alert["labels"]["container"] = format!("load-test-absent-{n}").into();
        alert["labels"]["instance"] = format!("load-test-absent-{n}:8080").into();
    }
    payload.to_string()
}

/// What one poster got: answers by kind, and the first unexpected one.
#[derive(Debug, Default)]
struct Posted {
    ok: u64,
    queue_full: u64,
    unexpected: Vec<String>,
}

/// One webhook post with the token: the status and body, or why there was no answer.
async fn post(http: &reqwest::Client, url: &str, payload: &str) -> Result<(u16, String), String> {
    let answer = http
        .post(format!("{url}/alerts"))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(payload.to_owned())
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let code = answer.status().as_u16();
    Ok((code, answer.text().await.unwrap_or_default()))
}

/// Posts `payload` on one keep-alive connection, as fast as it is answered, until `until`.
async fn post_until(url: String, payload: String, until: Instant) -> Posted {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut posted = Posted::default();
    while Instant::now() < until {
        match post(&http, &url, &payload).await {
            Ok((200, _)) => posted.ok += 1,
            // Backpressure: the engine's queue is full; Alertmanager retries.
            Ok((503, text)) if text.contains("queue") => posted.queue_full += 1,
            Ok((code, text)) => posted.unexpected.push(format!("{code}: {text}")),
            Err(why) => posted.unexpected.push(why),
        }
    }
    posted
}

#[tokio::test(flavor = "multi_thread")]
async fn seconds_of_webhook_posts_are_all_answered_and_rss_stays_flat() {
    let daemon = Daemon::start(&[]);
    let payload = absent_targets_payload();
    let start = Instant::now();
    let until = start + Duration::from_secs(5);
    let mut posters = JoinSet::new();
    for _ in 0..4 {
        posters.spawn(post_until(daemon.url.clone(), payload.clone(), until));
    }

    sleep(Duration::from_secs(1)).await;
    let warm = daemon.rss_kib();
    let mut slowest_healthz = Duration::ZERO;
    while Instant::now() < until {
        match daemon.healthz().await {
            Ok(took) => slowest_healthz = slowest_healthz.max(took),
            Err(why) => panic!("/healthz during the webhook load: {why}"),
        }
        sleep(Duration::from_millis(250)).await;
    }
    let end = daemon.rss_kib();

    let mut total = Posted::default();
    while let Some(posted) = posters.join_next().await {
        let posted = posted.unwrap();
        total.ok += posted.ok;
        total.queue_full += posted.queue_full;
        total.unexpected.extend(posted.unexpected);
    }
    let answered = total.ok + total.queue_full;
    eprintln!(
        "{answered} posts in {:?} ({} 200, {} 503 queue full), RSS {warm} kB after 1 s, {end} kB at the end, slowest /healthz {slowest_healthz:?}",
        start.elapsed(),
        total.ok,
        total.queue_full
    );
    assert!(
        total.unexpected.is_empty(),
        "{} unexpected answers, the first: {:?}",
        total.unexpected.len(),
        total.unexpected.first()
    );
    assert!(total.ok > 0, "no post was accepted");
    // A flood of refusals is counted, not logged line by line: one warning a second at most.
    let logged = daemon.refusals_logged.load(Ordering::Relaxed);
    assert!(
        logged <= 7,
        "{logged} log lines for {} refused posts",
        total.queue_full
    );
    assert!(
        end.saturating_sub(warm) < 20 * 1024,
        "RSS grew from {warm} kB to {end} kB under load"
    );
    // Every answer was counted as given.
    let answered_with = |code: &str| format!("healer_webhook_requests_total{{code=\"{code}\"}}");
    assert_eq!(daemon.metric(&answered_with("200")).await, total.ok as f64);
    assert_eq!(
        daemon.metric(&answered_with("503")).await,
        total.queue_full as f64
    );

    // The engine works its queue off: a post is accepted again.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match post(&daemon.fresh, &daemon.url, &payload).await {
            Ok((200, _)) => break,
            answer => assert!(
                Instant::now() < deadline,
                "no post accepted 30 s after the load: {answer:?}"
            ),
        }
        sleep(Duration::from_millis(200)).await;
    }
}
