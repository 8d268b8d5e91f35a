//! Benchmark of the harness's load generator: goose's request rate against the leaky target
//! served in-process on loopback (no Docker), at the load settings scenarios use. A
//! `harness = false` bench that prints medians: `cargo bench -p sim --bench harness`.

use std::sync::Arc;
use std::time::Duration;

use journal::Event;
use sim::load::{self, LoadSpec};

/// Repetitions per setting; the median is reported (goose runs one attack per process at a time).
const REPEATS: usize = 3;
/// Length of one attack.
const SECONDS: u64 = 5;

/// Serves leaky on a loopback port with `work` hashing rounds per request; returns its port.
async fn serve_leaky(work: u32) -> u16 {
    let config = leaky::Config::from_lookup(|key| match key {
        "LEAKY_WORK_ITERATIONS" => Some(work.to_string()),
        _ => None,
    })
    .expect("a valid leaky configuration");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let port = listener.local_addr().expect("local address").port();
    tokio::spawn(leaky::serve(config, listener));
    port
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    // goose logs a WARN per failed request unless a logger exists: install a quiet one first.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("error"))
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        println!("goose against in-process leaky on loopback, {SECONDS}s per attack, median of {REPEATS}");
        println!("| users | work/request | max_rps | requests/s | p50 | p99 | failed |");
        println!("|---|---|---|---|---|---|---|");
        for (users, work, max_rps) in [
            (4, 0, None),
            (4, 2_000, None),
            (4, 2_000, Some(200)),
            (16, 0, None),
        ] {
            let port = serve_leaky(work).await;
            let mut rps = Vec::new();
            let mut p50 = Vec::new();
            let mut p99 = Vec::new();
            let mut failed = 0;
            for _ in 0..REPEATS {
                let spec = LoadSpec {
                    host: format!("http://127.0.0.1:{port}"),
                    path: "/".to_owned(),
                    users,
                    duration: Duration::from_secs(SECONDS),
                    timeout: Duration::from_secs(2),
                    max_rps,
                };
                match load::run(spec, Arc::new(journal::MemorySink::default())).await {
                    Ok(Event::Load {
                        rps: r,
                        p50_ms,
                        p99_ms,
                        requests_failed,
                        ..
                    }) => {
                        rps.push(r);
                        p50.push(p50_ms);
                        p99.push(p99_ms);
                        failed += requests_failed;
                    }
                    Ok(other) => eprintln!("unexpected event {other:?}"),
                    Err(e) => eprintln!("load failed: {e}"),
                }
            }
            println!(
                "| {users} | {work} | {} | {:.0} | {:.1} ms | {:.1} ms | {failed} |",
                max_rps.map_or("none".to_owned(), |r| r.to_string()),
                median(&mut rps),
                median(&mut p50),
                median(&mut p99)
            );
        }
    });
}
