//! Shared helpers of the integration tests: start a leaky service in-process, scrape it.

use leaky::Config;
use prometheus_parse::{Sample, Scrape, Value};

/// One running service and a client for it.
pub struct Service {
    pub base: String,
    pub client: reqwest::Client,
}

/// Starts `serve` on an ephemeral local port.
pub async fn start(config: Config) -> Service {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(leaky::serve(config, listener));
    Service {
        base,
        client: reqwest::Client::new(),
    }
}

impl Service {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// POSTs a chaos control, asserts 200, returns the JSON reply.
    pub async fn control(&self, path_and_query: &str) -> serde_json::Value {
        let response = self
            .client
            .post(format!("{}{path_and_query}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path_and_query}");
        serde_json::from_str(&response.text().await.unwrap()).unwrap()
    }

    pub async fn scrape(&self) -> Scrape {
        let response = self.get("/metrics").await;
        assert_eq!(response.status(), 200);
        let body = response.text().await.unwrap();
        Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).unwrap()
    }

    /// The value of the unlabelled gauge `name`.
    pub async fn gauge(&self, name: &str) -> f64 {
        let scrape = self.scrape().await;
        match find(&scrape, name, &[]).map(|s| &s.value) {
            Some(Value::Gauge(v)) => *v,
            other => panic!("{name}: expected a gauge, got {other:?}"),
        }
    }
}

/// The sample of `name` whose labels include `labels`.
pub fn find<'a>(scrape: &'a Scrape, name: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
}
