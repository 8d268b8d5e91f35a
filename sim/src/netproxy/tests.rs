//! The proxy in-process on 127.0.0.1, in front of an echo server: toxics set over the control
//! API change what a client sees. Timings are asserted as lower bounds only (a delay never
//! ends early; it may end late on a busy machine).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::*;

/// An echo server, and a proxy in front of it: (proxy address, control API base URL).
async fn proxy_to_echo() -> (SocketAddr, String) {
    let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = echo.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = echo.accept().await.unwrap();
            tokio::spawn(async move {
                let (mut read, mut write) = stream.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    let listen = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let control = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listen.local_addr().unwrap();
    let url = format!("http://{}/toxics", control.local_addr().unwrap());
    tokio::spawn(serve(listen, upstream, control));
    (addr, url)
}

/// Sends `ping` on a new connection and reads it back: `None` if the proxy closed or reset it.
async fn round_trip(proxy: SocketAddr) -> Option<Duration> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(proxy).await.ok()?;
    stream.write_all(b"ping").await.ok()?;
    let mut echoed = [0; 4];
    stream.read_exact(&mut echoed).await.ok()?;
    assert_eq!(&echoed, b"ping");
    Some(started.elapsed())
}

async fn control(method: reqwest::Method, url: &str, query: &str) -> (u16, String) {
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .request(method, format!("{url}?{query}"))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn toxics(body: &str) -> Toxics {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{body:?}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_delays_each_direction_and_clearing_passes_traffic_through() {
    let (proxy, url) = proxy_to_echo().await;
    assert!(
        round_trip(proxy).await.is_some(),
        "no toxics: passes through"
    );

    let latency = Toxic::Latency {
        fixed: Duration::from_millis(150),
        jitter: Duration::ZERO,
    };
    let (status, body) = control(reqwest::Method::POST, &url, &latency.set_query()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(toxics(&body).latency_ms, 150);
    let slow = round_trip(proxy).await.expect("proxied");
    // The ping waits 150 ms on its way up, the echo 150 ms on its way back.
    assert!(
        slow >= Duration::from_millis(300),
        "round trip took {slow:?}"
    );

    let (status, body) = control(reqwest::Method::DELETE, &url, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(toxics(&body), Toxics::default());
    let (_, body) = control(reqwest::Method::GET, &url, "").await;
    assert_eq!(toxics(&body), Toxics::default());
    assert!(round_trip(proxy).await.is_some(), "cleared: passes through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_reaches_connections_already_open() {
    let (proxy, url) = proxy_to_echo().await;
    let mut stream = TcpStream::connect(proxy).await.unwrap();
    let mut echoed = [0; 1];
    stream.write_all(b"a").await.unwrap();
    stream.read_exact(&mut echoed).await.unwrap();
    control(reqwest::Method::POST, &url, "latency_ms=100").await;
    let started = Instant::now();
    stream.write_all(b"b").await.unwrap();
    stream.read_exact(&mut echoed).await.unwrap();
    assert_eq!(&echoed, b"b");
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_one_closes_every_new_connection_until_cleared() {
    let (proxy, url) = proxy_to_echo().await;
    let reset = Toxic::Reset { fraction: 1.0 };
    let (status, _) = control(reqwest::Method::POST, &url, &reset.set_query()).await;
    assert_eq!(status, 200);
    for _ in 0..5 {
        assert_eq!(round_trip(proxy).await, None, "a connection got through");
    }
    let (status, body) = control(reqwest::Method::DELETE, &url, &reset.clear_query()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(toxics(&body).reset, 0.0);
    assert!(round_trip(proxy).await.is_some(), "cleared: passes through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_the_connections_are_reset_alternately() {
    let (proxy, url) = proxy_to_echo().await;
    control(reqwest::Method::POST, &url, "reset=0.5").await;
    let mut through = Vec::new();
    for _ in 0..6 {
        through.push(round_trip(proxy).await.is_some());
    }
    assert_eq!(through, [true, false, true, false, true, false]);
}

/// Whether a new connection is blackholed: accepted and written to, but never answered (nor
/// closed or reset) within a while.
async fn blackholed(proxy: SocketAddr) -> bool {
    let mut stream = TcpStream::connect(proxy).await.expect("accepted");
    stream.write_all(b"ping").await.expect("written");
    let mut echoed = [0; 4];
    let read = stream.read(&mut echoed);
    tokio::time::timeout(Duration::from_millis(300), read)
        .await
        .is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loss_blackholes_a_share_of_new_connections_until_cleared() {
    let (proxy, url) = proxy_to_echo().await;
    let loss = Toxic::Loss { fraction: 0.5 };
    let (status, body) = control(reqwest::Method::POST, &url, &loss.set_query()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(toxics(&body).loss, 0.5);
    let mut lost = Vec::new();
    for _ in 0..4 {
        lost.push(blackholed(proxy).await);
    }
    assert_eq!(lost, [false, true, false, true]);
    let (status, body) = control(reqwest::Method::DELETE, &url, &loss.clear_query()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(toxics(&body).loss, 0.0);
    for _ in 0..3 {
        assert!(round_trip(proxy).await.is_some(), "cleared: passes through");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_api_refuses_bad_settings_and_clears_one_toxic_at_a_time() {
    let (_, url) = proxy_to_echo().await;
    let (status, body) = control(reqwest::Method::POST, &url, "reset=1.5").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("fraction from 0 to 1"), "{body}");
    let (status, body) = control(reqwest::Method::POST, &url, "loss=-0.1").await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = control(reqwest::Method::POST, &url, "latency=5").await;
    assert_eq!(status, 400, "an unknown parameter is refused");
    let (status, _) = control(reqwest::Method::DELETE, &url, "toxic=bandwidth").await;
    assert_eq!(status, 400);

    control(
        reqwest::Method::POST,
        &url,
        "latency_ms=400&jitter_ms=100&reset=0.25",
    )
    .await;
    let (_, body) = control(reqwest::Method::DELETE, &url, "toxic=latency").await;
    assert_eq!(
        toxics(&body),
        Toxics {
            latency_ms: 0,
            jitter_ms: 0,
            reset: 0.25,
            loss: 0.0,
        }
    );
}

#[test]
fn a_reset_fraction_resets_exactly_that_share_evenly() {
    let state = State::default();
    state.update(|t| t.reset = 0.25);
    let admitted: Vec<bool> = (0..8).map(|_| state.admit() == Verdict::Proxy).collect();
    assert_eq!(admitted, [true, true, true, false, true, true, true, false]);
    state.update(|t| t.reset = 0.0);
    assert!((0..100).all(|_| state.admit() == Verdict::Proxy));
}

#[test]
fn a_loss_fraction_blackholes_that_share_of_the_connections_not_reset() {
    use Verdict::{Blackhole, Proxy, Reset};
    let state = State::default();
    state.update(|t| t.loss = 0.5);
    let verdicts: Vec<Verdict> = (0..4).map(|_| state.admit()).collect();
    assert_eq!(verdicts, [Proxy, Blackhole, Proxy, Blackhole]);
    // Reset first; the loss goes on counting the connections left.
    state.update(|t| t.reset = 0.5);
    let verdicts: Vec<Verdict> = (0..8).map(|_| state.admit()).collect();
    assert_eq!(
        verdicts,
        [Proxy, Reset, Blackhole, Reset, Proxy, Reset, Blackhole, Reset]
    );
}

#[test]
fn jitter_spreads_the_delay_around_the_latency() {
    let state = State::default();
    assert_eq!(state.delay(), Duration::ZERO);
    state.update(|t| {
        t.latency_ms = 100;
        t.jitter_ms = 20;
    });
    let delays: Vec<Duration> = (0..200).map(|_| state.delay()).collect();
    let (low, high) = (Duration::from_millis(80), Duration::from_millis(120));
    assert!(
        delays.iter().all(|d| (low..=high).contains(d)),
        "{delays:?}"
    );
    assert!(delays.iter().any(|d| *d != delays[0]), "no jitter at all");
    state.update(|t| {
        t.latency_ms = 10;
        t.jitter_ms = 50;
    });
    // Never below zero.
    assert!((0..200).all(|_| state.delay() <= Duration::from_millis(60)));
}

#[test]
fn toxics_map_to_their_control_queries() {
    let latency = Toxic::Latency {
        fixed: Duration::from_millis(400),
        jitter: Duration::from_millis(100),
    };
    assert_eq!(latency.set_query(), "latency_ms=400&jitter_ms=100");
    assert_eq!(latency.clear_query(), "toxic=latency");
    let reset = Toxic::Reset { fraction: 0.5 };
    assert_eq!(reset.set_query(), "reset=0.5");
    assert_eq!(reset.clear_query(), "toxic=reset");
    let loss = Toxic::Loss { fraction: 0.3 };
    assert_eq!(loss.set_query(), "loss=0.3");
    assert_eq!(loss.clear_query(), "toxic=loss");
}
