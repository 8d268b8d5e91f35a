//! A receiver for Alertmanager's webhook: a small HTTP server on the run network's gateway IP
//! (the host as containers see it) that parses each version-4 notification and hands it over
//! with the moment it arrived.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::MonitoringError;
use healer::alertmanager::{parse_payload, WebhookPayload};

/// The path Alertmanager posts to.
pub const WEBHOOK_PATH: &str = "/alerts";

/// A notification and when it arrived.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub received_at: Instant,
    pub payload: WebhookPayload,
}

/// A running webhook receiver; dropping it stops the server.
#[derive(Debug)]
pub struct WebhookReceiver {
    url: String,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
    _stop: DropGuard,
}

impl WebhookReceiver {
    /// Serves on `ip` at an ephemeral port.
    pub async fn bind(ip: IpAddr) -> Result<Self, MonitoringError> {
        let wanted = SocketAddr::new(ip, 0);
        let bind_error = |source| MonitoringError::Receiver {
            addr: wanted,
            source,
        };
        let listener = tokio::net::TcpListener::bind(wanted)
            .await
            .map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let (tx, deliveries) = mpsc::unbounded_channel();
        let app = Router::new()
            .route(WEBHOOK_PATH, post(receive))
            .with_state(tx);
        let stop = CancellationToken::new();
        let stopped = stop.clone().cancelled_owned();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await;
            if let Err(e) = served {
                tracing::warn!("webhook receiver stopped: {e}");
            }
        });
        Ok(WebhookReceiver {
            url: format!("http://{addr}{WEBHOOK_PATH}"),
            deliveries,
            _stop: stop.drop_guard(),
        })
    }

    /// The URL to give Alertmanager.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The next notification, in arrival order.
    pub async fn next(&mut self) -> Option<Delivery> {
        self.deliveries.recv().await
    }
}

async fn receive(
    State(tx): State<mpsc::UnboundedSender<Delivery>>,
    body: Bytes,
) -> (StatusCode, String) {
    let received_at = Instant::now();
    match parse_payload(&body) {
        Ok(payload) => {
            // The receiver may be gone while the server winds down: nothing left to tell.
            let _ = tx.send(Delivery {
                received_at,
                payload,
            });
            (StatusCode::OK, "ok".to_owned())
        }
        Err(e) => {
            tracing::warn!("refused a webhook: {e}");
            (StatusCode::BAD_REQUEST, e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_posted_payload_arrives_and_garbage_is_refused() {
        let mut receiver = WebhookReceiver::bind(IpAddr::from([127, 0, 0, 1]))
            .await
            .unwrap();
        let client = reqwest::Client::new();
        let bad = client.post(receiver.url()).body("{}").send().await.unwrap();
        assert_eq!(bad.status(), 400);
        let body = r#"{"version":"4","groupKey":"{}:{}","truncatedAlerts":0,"status":"firing",
            "receiver":"sim","groupLabels":{},"commonLabels":{},"commonAnnotations":{},
            "externalURL":"http://am","alerts":[{"status":"firing","labels":{"alertname":"A"},
            "annotations":{},"startsAt":"2024-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z",
            "generatorURL":"","fingerprint":"f"}]}"#;
        let good = client.post(receiver.url()).body(body).send().await.unwrap();
        assert_eq!(good.status(), 200);
        let delivery = receiver.next().await.unwrap();
        assert_eq!(delivery.payload.alerts[0].name(), Some("A"));
    }
}
