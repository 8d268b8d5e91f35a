//! The `drain` rotation against a real HAProxy (the host's, as CI installs it) in front of two
//! loopback servers: a drain waits for the request in flight on the drained server, sends no
//! new request to it, and a restore puts it back in the round robin.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use healer::rotation::{Haproxy, Rotation};
use tokio::time::Instant;

const HAPROXY: &str = "/usr/sbin/haproxy";

/// Serves `/health` and `/` at once and `/slow` after 400 ms on `ip`; counts the requests.
async fn server(ip: Ipv4Addr) -> (SocketAddr, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let (root, slow) = (Arc::clone(&count), Arc::clone(&count));
    let app = axum::Router::new()
        .route("/health", axum::routing::get(|| async { "ok" }))
        .route(
            "/",
            axum::routing::get(move || {
                root.fetch_add(1, Ordering::SeqCst);
                async { "ok" }
            }),
        )
        .route(
            "/slow",
            axum::routing::get(move || {
                slow.fetch_add(1, Ordering::SeqCst);
                async {
                    tokio::time::sleep(Duration::from_millis(400)).await;
                    "slow"
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, count)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// HAProxy balancing `servers` round robin, its runtime API on `api`, load on `front`.
fn haproxy(
    dir: &std::path::Path,
    api: u16,
    front: u16,
    servers: &[SocketAddr],
) -> tokio::process::Child {
    assert!(
        std::path::Path::new(HAPROXY).exists(),
        "{HAPROXY} is missing: install it (apt-get install haproxy; .ci/run does)"
    );
    let lines: String = servers
        .iter()
        .enumerate()
        .map(|(i, addr)| format!("    server s{i} {addr} check inter 100ms fall 2 rise 1\n"))
        .collect();
    let config = format!(
        "global\n    stats socket ipv4@127.0.0.1:{api} level admin\n\
         defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
         frontend load\n    bind 127.0.0.1:{front}\n    default_backend replicas\n\
         backend replicas\n    balance roundrobin\n    option httpchk GET /health\n{lines}"
    );
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, config).unwrap();
    tokio::process::Command::new(HAPROXY)
        .arg("-f")
        .arg(&path)
        .arg("-db")
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// Sends `n` requests to `/` through the balancer, one after the other.
async fn requests(client: &reqwest::Client, front: u16, n: usize) {
    for _ in 0..n {
        let answer = client
            .get(format!("http://127.0.0.1:{front}/"))
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());
    }
}

#[tokio::test]
async fn a_drained_server_finishes_its_request_gets_no_new_ones_and_rejoins_on_restore() {
    let (a, a_count) = server(Ipv4Addr::new(127, 0, 0, 1)).await;
    let (b, _) = server(Ipv4Addr::new(127, 0, 0, 2)).await;
    let dir = tempfile::tempdir().unwrap();
    let (api, front) = (free_port(), free_port());
    let _haproxy = haproxy(dir.path(), api, front, &[a, b]);
    let rotation = Haproxy::new(SocketAddr::from((Ipv4Addr::LOCALHOST, api)), "replicas");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();

    // Both servers up: requests alternate, so two slow ones put one on each.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let up = client
            .get(format!("http://127.0.0.1:{front}/"))
            .send()
            .await;
        if up.is_ok_and(|r| r.status().is_success()) && a_count.load(Ordering::SeqCst) > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "HAProxy never served through server a"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // both checks passed
    let slow = |client: reqwest::Client| async move {
        client
            .get(format!("http://127.0.0.1:{front}/slow"))
            .send()
            .await
            .map(|r| r.status().is_success())
    };
    let in_flight = [
        tokio::spawn(slow(client.clone())),
        tokio::spawn(slow(client.clone())),
    ];
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    let drained = rotation
        .drain(&[IpAddr::V4(Ipv4Addr::LOCALHOST)], Duration::from_secs(3))
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(drained.servers, ["s0"]);
    assert_eq!(
        drained.in_flight, 0,
        "the drain waited for the slow request"
    );
    assert!(
        waited >= Duration::from_millis(200),
        "returned after {waited:?}, before the request on it (300 ms left) finished"
    );
    for request in in_flight {
        assert!(
            request.await.unwrap().unwrap(),
            "a request in flight failed"
        );
    }

    let before = a_count.load(Ordering::SeqCst);
    requests(&client, front, 20).await;
    assert_eq!(
        a_count.load(Ordering::SeqCst),
        before,
        "a drained server got requests"
    );

    rotation.restore(&drained).await.unwrap();
    requests(&client, front, 20).await;
    let after = a_count.load(Ordering::SeqCst) - before;
    assert!(
        (8..=12).contains(&after),
        "{after} of 20 requests on the restored server"
    );

    // Not behind this balancer: nothing drained, nothing to wait for.
    let elsewhere = rotation
        .drain(
            &[IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9))],
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert!(elsewhere.servers.is_empty(), "{elsewhere:?}");
}
