//! The Agent API against the real engine: two targets of trial 1 started through the run's own
//! `RunResources`, and beside them a container of the same image outside the run. The API lists,
//! shows, reads the logs of and restarts the targets, journalling every call; it refuses bad
//! calls with 401 / 403 / 404 / 400 / 413 / 429, and never touches the outsider.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt;
use journal::{Event, MemorySink, Sink};
use reqwest::StatusCode;
use serde_json::Value;

/// A client of one served API.
struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Client {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .header("X-Sim-Caller", "agent-api-test")
    }

    /// Sends `request`; gives the status and the JSON body.
    async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.expect("the API answers");
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        (status, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        Client::send(self.request(reqwest::Method::GET, path)).await
    }

    async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> (StatusCode, Value) {
        let request = self
            .request(reqwest::Method::POST, path)
            .header("Content-Type", "application/json")
            .body(body);
        Client::send(request).await
    }

    async fn act(&self, name: &str, action: &str) -> (StatusCode, Value) {
        let body = serde_json::json!({ "action": action }).to_string();
        self.post(&format!("/v1/targets/{name}/actions"), body)
            .await
    }
}

/// Docker's (state, StartedAt) of a container.
async fn state(docker: &Docker, id: &str) -> (String, String) {
    let state = docker
        .inspect_container(id, None)
        .await
        .unwrap()
        .state
        .unwrap();
    (state.status.unwrap().to_string(), state.started_at.unwrap())
}

/// A running container of `image` that is not part of any run: labelled `sim.test=<label>`.
async fn start_outsider(docker: &Docker, image: &str, label: &str) -> (String, String) {
    let name = format!("sim-test-{label}");
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        labels: Some(HashMap::from([("sim.test".to_owned(), label.to_owned())])),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::new().name(&name).build();
    let created = docker.create_container(Some(options), body).await.unwrap();
    docker.start_container(&created.id, None).await.unwrap();
    (name, created.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_api_acts_on_the_trials_targets_and_refuses_everything_else() {
    let docker = sim::docker::connect().await.expect("a Docker engine");
    let image = common::leaky_image(&docker).await;
    let label = common::run_id_for("agent-outsider");
    let (outsider_name, outsider_id) = start_outsider(&docker, &image, &label).await;
    let outsider = (outsider_name.clone(), outsider_id.clone());
    let outcome = tokio::spawn(common::with_run_resources("agent-api", move |resources| {
        exercise(resources, image, outsider)
    }))
    .await;
    let remove = RemoveContainerOptionsBuilder::new().force(true).build();
    docker
        .remove_container(&outsider_id, Some(remove))
        .await
        .unwrap();
    assert!(
        docker
            .inspect_container(&outsider_name, None)
            .await
            .is_err(),
        "the outside container is left"
    );
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

async fn exercise(resources: sim::docker::RunResources, image: String, outsider: (String, String)) {
    let docker = resources.docker().clone();
    let mut ids = Vec::new();
    // leaky-1 refuses its configuration: it says why on stderr and exits, so it has logs.
    for (name, latency) in [("leaky-0", "0"), ("leaky-1", "soon")] {
        let spec = sim::docker::TargetSpec {
            name: name.to_owned(),
            env: vec![("LEAKY_LATENCY_MS".to_owned(), latency.to_owned())],
            ..common::leaky_spec(&image)
        };
        ids.push(resources.start_target(&spec).await.unwrap().id);
    }
    let sink = Arc::new(MemorySink::default());
    let observed = Arc::new(sim::agent::Observed::default());
    let api = sim::agent::serve(
        docker.clone(),
        resources.run_id(),
        1,
        sink.clone(),
        observed.clone(),
    )
    .await
    .unwrap();
    assert!(api.url().starts_with("http://127.0.0.1:"), "{}", api.url());
    assert!(api.token().len() >= 64);
    let client = Client {
        http: reqwest::Client::new(),
        url: api.url().to_owned(),
        token: api.token().to_owned(),
    };

    reads(&client, &ids[0]).await;
    observations(&client, &observed).await;
    restart(&client, &docker, &ids[0], &sink).await;
    limits(&client, &docker, &ids[0]).await;
    let outsider_before = state(&docker, &outsider.1).await;
    refusals(&client, &outsider).await;
    assert_eq!(
        api.refused(),
        4,
        "every call naming the outsider is counted"
    );
    assert_eq!(
        state(&docker, &outsider.1).await,
        outsider_before,
        "the outside container was touched"
    );
    flood(&client).await;

    let calls = sink
        .events()
        .into_iter()
        .filter_map(|event| match event {
            Event::AgentCall { caller, status, .. } => Some((caller, status)),
            _ => None,
        })
        .collect::<Vec<_>>();
    assert!(calls.len() > 1000, "{} calls journalled", calls.len());
    assert!(calls.iter().all(|(caller, _)| caller == "agent-api-test"));
    for status in [200, 400, 401, 403, 404, 413, 429] {
        assert!(
            calls.iter().any(|(_, s)| *s == status),
            "no call answered {status} was journalled"
        );
    }
    let url = api.url().to_owned();
    api.shutdown().await;
    assert!(
        reqwest::get(format!("{url}/v1/targets")).await.is_err(),
        "the API still answers after shutdown"
    );
}

/// The list, one target (by name, and by the short id of `first_id`), its logs.
async fn reads(client: &Client, first_id: &str) {
    let (status, list) = client.get("/v1/targets").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["leaky-0", "leaky-1"], "exactly the trial's targets");
    let first = &list[0];
    assert_eq!(first["state"], "running");
    assert_eq!(first["health"], Value::Null, "no HEALTHCHECK, no health");
    assert_eq!(first["restarts"], 0);
    assert_eq!(first["exit_code"], Value::Null);
    assert_eq!(first["oom_killed"], false);
    assert_eq!(first["labels"]["sim.target"], "leaky-0");
    assert!(first["image"].as_str().unwrap().starts_with("sim-leaky"));

    let (status, by_id) = client
        .get(&format!("/v1/targets/{}", &first_id[..12]))
        .await;
    assert_eq!(
        (status, &by_id["name"]),
        (StatusCode::OK, &Value::from("leaky-0"))
    );
    let (status, missing) = client.get("/v1/targets/leaky-9").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    assert!(missing["error"].as_str().unwrap().contains("leaky-9"));
    let (status, _) = client.get("/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let mut logs = Value::Null;
    for _ in 0..50 {
        let (status, answer) = client.get("/v1/targets/leaky-1/logs?lines=3").await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        logs = answer;
        if !logs["lines"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let lines = logs["lines"].as_array().unwrap();
    assert!(lines.len() <= 3, "{logs}");
    assert!(
        lines
            .iter()
            .any(|l| l.as_str().unwrap().contains("LEAKY_LATENCY_MS")),
        "{logs}"
    );
    let (status, one) = client.get("/v1/targets/leaky-1").await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["name"], "leaky-1");
    assert_eq!(one["state"], "exited");
    assert_eq!(one["exit_code"], 2, "sim's exit code for bad input");
    let (status, _) = client.get("/v1/targets/leaky-0/logs?lines=many").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// What sim recorded through its tap is what the API shows: probes, the latest sample, and the
/// alerts firing.
async fn observations(client: &Client, observed: &Arc<sim::agent::Observed>) {
    let (status, empty) = client.get("/v1/targets/leaky-0/stats").await;
    assert_eq!((status, &empty["sample"]), (StatusCode::OK, &Value::Null));
    let tap = sim::agent::Tap {
        inner: Arc::new(MemorySink::default()),
        observed: observed.clone(),
    };
    for ok in [true, false] {
        tap.record(Event::Probe {
            target: "leaky-0".into(),
            ok,
            status: ok.then_some(200),
            latency_ms: 2.5,
            error: (!ok).then(|| "connection refused".into()),
        });
    }
    tap.record(Event::ResourceSample {
        target: "leaky-0".into(),
        memory_bytes: 1 << 20,
        memory_limit_bytes: Some(64 << 20),
        cpu_percent: Some(12.5),
        throttled_ms: None,
        source: "cgroup".into(),
    });
    tap.record(Event::Alert {
        name: "LeakyDown".into(),
        target: "leaky-0".into(),
        firing: true,
        fingerprint: "f1".into(),
        starts_at_unix_ms: Some(7),
    });
    let (status, probes) = client.get("/v1/targets/leaky-0/probes").await;
    assert_eq!(status, StatusCode::OK, "{probes}");
    let oks: Vec<&Value> = probes["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["ok"])
        .collect();
    assert_eq!(oks, [true, false], "{probes}");
    assert_eq!(probes["probes"][1]["error"], "connection refused");
    let (_, stats) = client.get("/v1/targets/leaky-0/stats").await;
    assert_eq!(stats["sample"]["memory_limit_bytes"], 64 << 20, "{stats}");
    assert_eq!(stats["sample"]["cpu_percent"], 12.5, "{stats}");
    let (status, alerts) = client.get("/v1/alerts").await;
    assert_eq!(status, StatusCode::OK, "{alerts}");
    assert_eq!(alerts["alerts"][0]["name"], "LeakyDown", "{alerts}");
    assert_eq!(alerts["alerts"][0]["target"], "leaky-0", "{alerts}");
    let (status, _) = client.get("/v1/targets/leaky-9/probes").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// An `update_limits` through the API changes the container's limit in place.
async fn limits(client: &Client, docker: &Docker, id: &str) {
    let body = r#"{"action": "update_limits", "memory_bytes": 134217728}"#;
    let (status, answer) = client.post("/v1/targets/leaky-0/actions", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let memory = docker
        .inspect_container(id, None)
        .await
        .unwrap()
        .host_config
        .and_then(|h| h.memory);
    assert_eq!(memory, Some(134_217_728));
}

/// A restart through the API restarts the target and is journalled as the call and an action.
async fn restart(client: &Client, docker: &Docker, id: &str, sink: &MemorySink) {
    let (_, started_before) = state(docker, id).await;
    let body = r#"{"action": "restart", "grace_ms": 0}"#;
    let (status, answer) = client.post("/v1/targets/leaky-0/actions", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["ok"], true);
    assert!(answer["duration_ms"].as_f64().unwrap() > 0.0);
    let (state_after, started_after) = state(docker, id).await;
    assert_eq!(state_after, "running");
    assert_ne!(started_after, started_before, "it did not restart");

    let events = sink.events();
    assert!(events.iter().any(|e| matches!(e,
        Event::AgentCall { method, path, status: 200, target: Some(t), action: Some(a), .. }
            if method == "POST" && path == "/v1/targets/leaky-0/actions" && t == "leaky-0" && a == "restart")));
    assert!(events.iter().any(|e| matches!(e,
        Event::Detected { target, incident, .. } if target == "leaky-0" && incident == "agent-1")));
    assert!(events.iter().any(|e| matches!(e,
        Event::ActionStarted { target, incident, runbook, action }
            if target == "leaky-0" && incident == "agent-1" && runbook == "external" && action == "restart")));
    assert!(events.iter().any(|e| matches!(e,
        Event::ActionFinished { target, incident, runbook, ok: true, .. }
            if target == "leaky-0" && incident == "agent-1" && runbook == "external")));
    // sim verifies the restart on the agent's behalf, as a runbook's verification would.
    let verified = |events: &[Event]| {
        events.iter().any(|e| {
            matches!(e,
            Event::Verified { target, incident, runbook, ok: true, .. }
                if target == "leaky-0" && incident == "agent-1" && runbook == "external")
        })
    };
    for _ in 0..100 {
        if verified(&sink.events()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(verified(&sink.events()), "the restart was not verified");
}

/// 401, 403, 400 and 413.
async fn refusals(client: &Client, (outsider_name, outsider_id): &(String, String)) {
    let without_token = |client: &Client| {
        client
            .http
            .get(format!("{}/v1/targets", client.url))
            .header("X-Sim-Caller", "agent-api-test")
    };
    let (status, body) = Client::send(without_token(client)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let wrong = without_token(client).bearer_auth("0".repeat(64));
    assert_eq!(Client::send(wrong).await.0, StatusCode::UNAUTHORIZED);

    let (status, body) = client.act(outsider_name, "kill").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        client.act(outsider_id, "restart").await.0,
        StatusCode::FORBIDDEN
    );
    let by_name = client.get(&format!("/v1/targets/{outsider_name}")).await;
    assert_eq!(by_name.0, StatusCode::FORBIDDEN);
    let logs = client.get(&format!("/v1/targets/{outsider_id}/logs")).await;
    assert_eq!(logs.0, StatusCode::FORBIDDEN);

    let path = "/v1/targets/leaky-1/actions";
    let (status, body) = client.post(path, r#"{"action": "restart""#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = client.act("leaky-1", "reboot").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().unwrap().contains("unknown variant"));
    let (status, body) = client.act("leaky-1", "scale").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().unwrap().contains("needs replicas"));
    let oversized = format!(
        r#"{{"action": "restart", "pad": "{}"}}"#,
        "x".repeat(17 * 1024)
    );
    let (status, body) = client.post(path, oversized).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let (status, body) = client.act("leaky-9", "restart").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

/// 1,000 calls as fast as they go: some get 429, and the API answers again a second later; then
/// 1,000 without the token, which do not use up the agent's budget.
async fn flood(client: &Client) {
    let statuses: Vec<StatusCode> = futures_util::stream::iter(0..1000)
        .map(|_| async { client.get("/v1/targets").await.0 })
        .buffer_unordered(50)
        .collect()
        .await;
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert!(limited > 0, "no 429 among 1,000 calls");
    assert_eq!(ok + limited, 1000, "other answers: {statuses:?}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(client.get("/v1/targets").await.0, StatusCode::OK);
    let (_, list) = client.get("/v1/targets").await;
    assert_eq!(list[0]["state"], "running", "the flood changed nothing");

    // 1,000 calls without the token: 401 or 429, and the agent's own budget is untouched.
    let strangers: Vec<StatusCode> = futures_util::stream::iter(0..1000)
        .map(|_| async {
            let request = client.http.get(format!("{}/v1/targets", client.url));
            Client::send(request.header("X-Sim-Caller", "agent-api-test"))
                .await
                .0
        })
        .buffer_unordered(50)
        .collect()
        .await;
    assert!(strangers.contains(&StatusCode::TOO_MANY_REQUESTS));
    assert!(strangers
        .iter()
        .all(|s| [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(s)));
    assert_eq!(
        client.get("/v1/targets").await.0,
        StatusCode::OK,
        "a flood without the token held the agent back"
    );
}
