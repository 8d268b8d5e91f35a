//! `unknown-failure` with a model advisor: the library's scenario, written to a temporary
//! directory with `healer.advisor.url` pointing at a stub chat-completions server this test
//! serves on 127.0.0.1. The stub names `restart-on-log-error`; the run heals (one restart,
//! verified), its journal has one `advisor_consulted` deciding `acted`, and the stub was sent the
//! error line and the library's runbook names.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::post;
use axum::Router;

/// Every request body the stub received.
type Requests = Arc<Mutex<Vec<String>>>;

async fn chat(State(requests): State<Requests>, body: String) -> String {
    requests.lock().unwrap().push(body);
    let content = r#"{"class": "unrecognised_state", "runbook": "restart-on-log-error", "confidence": 0.9, "rationale": "the process is stuck in a state it does not know; a restart, verified on /, resets it"}"#;
    serde_json::json!({ "choices": [{ "message": { "role": "assistant", "content": content } }] })
        .to_string()
}

async fn stub() -> (SocketAddr, Requests) {
    let requests = Requests::default();
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .with_state(Arc::clone(&requests));
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, requests)
}

#[tokio::test]
async fn unknown_failure_heals_through_the_advisor() {
    let (addr, requests) = stub().await;
    let library =
        std::fs::read_to_string(common::workspace().join("scenarios/unknown-failure.yaml"))
            .unwrap();
    let (body, _expect) = library.split_once("\nexpect:").unwrap();
    let body = body.replace(
        "healer:\n  runbooks: [restart-on-log-error]\n",
        &format!(
            "healer:\n  runbooks: [restart-on-log-error]\n  advisor:\n    url: http://{addr}\n    \
             model: stub-model\n    timeout: 5s\n    min_confidence: 0.7\n"
        ),
    );
    assert!(
        body.contains("advisor:"),
        "the library file changed: {body}"
    );
    let scenario =
        format!("{body}\nexpect:\n  healed: true\n  escalations: 0\n  recovered_within: 5s\n");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("unknown-failure.yaml");
    std::fs::write(&file, scenario).unwrap();
    let out = dir.path().join("out");
    let file = file.to_str().unwrap().to_owned();
    let (stdout, run) = tokio::task::spawn_blocking(move || {
        let (stdout, run) = common::run_scenario(&out, &file, 1);
        (stdout, run)
    })
    .await
    .unwrap();
    assert!(stdout.contains("result: PASS"), "{stdout}");

    let journal = common::journal(&run);
    let event = |name: &'static str| journal.iter().filter(move |r| r["event"] == name);
    let consulted: Vec<_> = event("advisor_consulted").collect();
    assert_eq!(consulted.len(), 1, "{consulted:?}");
    assert_eq!(consulted[0]["decision"], "acted", "{}", consulted[0]);
    assert_eq!(consulted[0]["model"], "stub-model");
    let latency = consulted[0]["latency_ms"].as_f64().unwrap();
    let actions: Vec<_> = event("action_started").map(|r| &r["action"]).collect();
    assert_eq!(actions, ["restart"]);
    assert_eq!(event("verified").filter(|r| r["ok"] == true).count(), 1);
    let selected = event("runbook_selected").next().unwrap();
    assert_eq!(selected["runbook"], "restart-on-log-error");

    let requests = requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0].contains("unrecognised state 0x7f"),
        "{}",
        requests[0]
    );
    assert!(
        requests[0].contains("restart-on-log-error"),
        "{}",
        requests[0]
    );

    let trial = &common::result(&run)["trials"][0];
    println!(
        "unknown-failure with the stub advisor: MTTR {} ms, TTD {} ms, advisor latency {latency:.1} ms",
        trial["mttr_ms"], trial["ttd_ms"]
    );
    assert!(trial["mttr_ms"].as_f64().is_some(), "{trial}");
}
