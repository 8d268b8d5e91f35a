//! The service over real HTTP: metrics exposition, chaos controls, health and hang.

mod common;

use std::time::Duration;

use leaky::Config;
use prometheus_parse::Value;
use tokio::time::Instant;

fn config() -> Config {
    Config {
        version: "7".into(),
        work_iterations: 100,
        ..Config::default()
    }
}

/// Polls `gauge` until `done` holds, for at most 30 s; returns the last value.
async fn wait_for(service: &common::Service, gauge: &str, done: impl Fn(f64) -> bool) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let value = service.gauge(gauge).await;
        if done(value) || Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn metrics_parse_and_cover_every_family() {
    let service = common::start(config()).await;
    let index = service.get("/").await;
    assert_eq!(index.status(), 200);
    assert!(index.text().await.unwrap().contains("version=7 work="));
    assert_eq!(service.get("/health").await.status(), 200);
    assert_eq!(service.get("/no-such-page").await.status(), 404);

    let scrape = service.scrape().await;
    let families = [
        "process_resident_memory_bytes",
        "leaky_leaked_bytes",
        "leaky_http_requests_total",
        "leaky_http_request_duration_seconds",
        "leaky_inflight_requests",
        "leaky_build_info",
        "leaky_cpu_burners",
    ];
    for family in families {
        assert!(scrape.docs.contains_key(family), "no HELP for {family}");
        assert!(
            scrape.samples.iter().any(|s| s.metric.starts_with(family)),
            "no sample of {family}"
        );
    }
    let value = |name: &str, labels: &[(&str, &str)]| {
        common::find(&scrape, name, labels)
            .unwrap_or_else(|| panic!("{name} {labels:?} missing"))
            .value
            .clone()
    };
    match value("process_resident_memory_bytes", &[]) {
        Value::Gauge(rss) => assert!(rss > 1024.0 * 1024.0, "{rss}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(value("leaky_leaked_bytes", &[]), Value::Gauge(0.0));
    // The scrape itself is in flight.
    assert_eq!(value("leaky_inflight_requests", &[]), Value::Gauge(1.0));
    assert_eq!(value("leaky_cpu_burners", &[]), Value::Gauge(0.0));
    assert_eq!(
        value("leaky_build_info", &[("version", "7")]),
        Value::Gauge(1.0)
    );
    for (path, code) in [("/", "200"), ("/health", "200"), ("unmatched", "404")] {
        assert_eq!(
            value(
                "leaky_http_requests_total",
                &[("path", path), ("code", code)]
            ),
            Value::Counter(1.0),
            "{path} {code}"
        );
    }
    match value("leaky_http_request_duration_seconds", &[("path", "/")]) {
        Value::Histogram(buckets) => {
            let bounds: Vec<f64> = buckets.iter().map(|b| b.less_than).collect();
            let expected = [
                0.005,
                0.01,
                0.025,
                0.05,
                0.1,
                0.25,
                0.5,
                1.0,
                2.5,
                5.0,
                f64::INFINITY,
            ];
            assert_eq!(bounds, expected);
            assert!(buckets.windows(2).all(|w| w[0].count <= w[1].count));
            assert_eq!(buckets.last().unwrap().count, 1.0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        value(
            "leaky_http_request_duration_seconds_count",
            &[("path", "/")]
        ),
        Value::Untyped(1.0)
    );
    match value("leaky_http_request_duration_seconds_sum", &[("path", "/")]) {
        Value::Untyped(sum) => assert!(sum > 0.0, "{sum}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn per_request_leak_grows_with_requests_until_freed() {
    let service = common::start(config()).await;
    let reply = service.control("/chaos/leak-per-request?bytes=10000").await;
    assert_eq!(reply["state"]["leak_bytes_per_request"], 10000);
    for _ in 0..5 {
        assert_eq!(service.get("/").await.status(), 200);
    }
    assert_eq!(service.gauge("leaky_leaked_bytes").await, 50000.0);

    let reply = service.control("/chaos/free").await;
    assert_eq!(reply["freed_bytes"], 50000);
    assert_eq!(reply["state"]["leak_bytes_per_request"], 0);
    service.get("/").await;
    assert_eq!(service.gauge("leaky_leaked_bytes").await, 0.0);
}

#[tokio::test]
async fn clearing_the_cache_frees_it_but_requests_fill_it_again() {
    let service = common::start(config()).await;
    service.control("/chaos/leak-per-request?bytes=10000").await;
    for _ in 0..3 {
        service.get("/").await;
    }
    let reply = service.control("/cache/clear").await;
    assert_eq!(reply["freed_bytes"], 30000);
    assert_eq!(reply["state"]["leak_bytes_per_request"], 10000);
    assert_eq!(service.gauge("leaky_leaked_bytes").await, 0.0);
    service.get("/").await;
    assert_eq!(service.gauge("leaky_leaked_bytes").await, 10000.0);
}

#[tokio::test]
async fn leak_rate_leaks_continuously_until_stopped() {
    let service = common::start(config()).await;
    let reply = service.control("/chaos/leak-rate?mib_per_sec=20").await;
    assert_eq!(reply["state"]["leak_bytes_per_sec"], 20 << 20);
    let leaked = wait_for(&service, "leaky_leaked_bytes", |b| b >= 1024.0 * 1024.0).await;
    assert!(leaked >= 1024.0 * 1024.0, "{leaked}");

    let reply = service.control("/chaos/leak-rate?mib_per_sec=0").await;
    assert_eq!(reply["state"]["leak_bytes_per_sec"], 0);
    let chaos: serde_json::Value =
        serde_json::from_str(&service.get("/chaos").await.text().await.unwrap()).unwrap();
    assert_eq!(chaos["leak_bytes_per_sec"], 0);
    assert_eq!(chaos["version"], "7");
    service.control("/chaos/free").await;
    assert_eq!(service.gauge("leaky_leaked_bytes").await, 0.0);
}

#[tokio::test]
async fn latency_adds_at_least_the_fixed_delay() {
    let service = common::start(config()).await;
    let reply = service.control("/chaos/latency?ms=200&jitter_ms=50").await;
    assert_eq!(reply["state"]["latency_ms"], 200);
    assert_eq!(reply["state"]["latency_jitter_ms"], 50);
    for path in ["/", "/health"] {
        let started = Instant::now();
        assert_eq!(service.get(path).await.status(), 200);
        assert!(started.elapsed() >= Duration::from_millis(200), "{path}");
    }

    let reply = service.control("/chaos/latency?ms=0&jitter_ms=0").await;
    assert_eq!(reply["state"]["latency_ms"], 0);
    assert_eq!(reply["state"]["latency_jitter_ms"], 0);
}

#[tokio::test]
async fn cpu_burners_are_counted_then_end() {
    let service = common::start(config()).await;
    let reply = service.control("/chaos/cpu?threads=1&secs=3").await;
    assert_eq!(reply["state"]["cpu_burners"], 1);
    assert_eq!(service.gauge("leaky_cpu_burners").await, 1.0);
    assert_eq!(
        wait_for(&service, "leaky_cpu_burners", |n| n == 0.0).await,
        0.0
    );
}

#[tokio::test]
async fn hang_stops_every_answer() {
    let service = common::start(config()).await;
    let reply = service.control("/chaos/hang").await;
    assert!(reply["done"].as_str().unwrap().contains("restart"));
    for path in ["/health", "/metrics", "/"] {
        let outcome = service
            .client
            .get(format!("{}{path}", service.base))
            .timeout(Duration::from_millis(300))
            .send()
            .await;
        match outcome {
            Err(err) => assert!(err.is_timeout(), "{path}: {err}"),
            Ok(response) => panic!("{path} answered {}", response.status()),
        }
    }
}

#[tokio::test]
async fn a_logged_failure_fails_requests_but_not_health() {
    let service = common::start(config()).await;
    let reply = service
        .control("/chaos/log?line=WARN:%20slow&count=2")
        .await;
    assert_eq!(reply["done"], "wrote 2 line(s) to stderr");
    assert_eq!(
        service.get("/").await.status(),
        200,
        "without fail, / works"
    );
    let reply = service
        .control(
            "/chaos/log?line=FATAL:%20database%20connection%20pool%20exhausted&count=3&fail=true",
        )
        .await;
    assert!(
        reply["done"].as_str().unwrap().contains("until a restart"),
        "{reply}"
    );
    assert_eq!(
        reply["state"]["failing_with"],
        "FATAL: database connection pool exhausted"
    );
    let index = service.get("/").await;
    assert_eq!(index.status(), 503);
    assert!(index.text().await.unwrap().contains("pool exhausted"));
    assert_eq!(
        service.get("/health").await.status(),
        200,
        "/health cannot see it"
    );
}

#[tokio::test]
async fn fail_health_gives_503_while_the_rest_works() {
    let service = common::start(Config {
        fail_health: true,
        ..config()
    })
    .await;
    assert_eq!(service.get("/health").await.status(), 503);
    assert_eq!(service.get("/").await.status(), 200);
}

#[tokio::test]
async fn bad_query_params_give_400_naming_the_parameter() {
    let service = common::start(config()).await;
    let cases = [
        ("/chaos/leak?mib=-1", "mib"),
        ("/chaos/leak", "mib"),
        ("/chaos/leak?mb=1", "mb"),
        ("/chaos/leak-rate?mib_per_sec=NaN", "mib_per_sec"),
        ("/chaos/leak-per-request?bytes=lots", "bytes"),
        ("/chaos/cpu?threads=0", "threads"),
        ("/chaos/cpu?secs=-2", "secs"),
        ("/chaos/latency?ms=abc", "ms"),
        ("/chaos/crash?code=999", "code"),
        ("/chaos/hang?now=1", "now"),
        ("/chaos/free?all=1", "all"),
        ("/chaos/log?count=3", "line"),
        ("/chaos/log?line=x&count=0", "count"),
        ("/chaos/log?line=x&fail=maybe", "fail"),
    ];
    for (path, param) in cases {
        let response = service
            .client
            .post(format!("{}{path}", service.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let body = response.text().await.unwrap();
        assert!(body.contains(param), "{path}: {body}");
    }
    // Nothing was applied: not hung, not leaking, still alive.
    assert_eq!(service.get("/health").await.status(), 200);
    assert_eq!(service.gauge("leaky_leaked_bytes").await, 0.0);
}
