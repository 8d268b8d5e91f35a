//! The proxy's HTTP control API, and the toxics as the fault injector asks for them.
//!
//! - `GET /toxics`: the toxics in force, as JSON
//!   (`{"latency_ms":0,"jitter_ms":0,"reset":0.0,"loss":0.0}`).
//! - `POST /toxics?latency_ms=400&jitter_ms=100&reset=0.5&loss=0.3`: sets the toxics given (any
//!   subset), leaves the others; answers the new state. Unknown parameters, or a `reset` or
//!   `loss` outside 0..=1, are refused (400).
//! - `DELETE /toxics?toxic=latency|reset|loss`: clears that toxic; without `toxic`, clears them
//!   all.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State as Shared};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::{State, Toxics};

/// One toxic, as a fault sets it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Toxic {
    /// Every chunk delayed by `fixed` ± up to `jitter`, in each direction.
    Latency { fixed: Duration, jitter: Duration },
    /// This fraction (0..=1) of new connections reset.
    Reset { fraction: f64 },
    /// This fraction (0..=1) of new connections blackholed: accepted, then never answered.
    Loss { fraction: f64 },
}

impl Toxic {
    /// Its name in `DELETE /toxics?toxic=`.
    pub fn name(&self) -> &'static str {
        match self {
            Toxic::Latency { .. } => "latency",
            Toxic::Reset { .. } => "reset",
            Toxic::Loss { .. } => "loss",
        }
    }

    /// The query of the `POST /toxics` that sets it.
    pub fn set_query(&self) -> String {
        match self {
            Toxic::Latency { fixed, jitter } => format!(
                "latency_ms={}&jitter_ms={}",
                fixed.as_millis(),
                jitter.as_millis()
            ),
            Toxic::Reset { fraction } => format!("reset={fraction}"),
            Toxic::Loss { fraction } => format!("loss={fraction}"),
        }
    }

    /// The query of the `DELETE /toxics` that clears it.
    pub fn clear_query(&self) -> String {
        format!("toxic={}", self.name())
    }
}

pub(super) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/toxics", get(show).post(set).delete(clear))
        .with_state(state)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetParams {
    latency_ms: Option<u64>,
    jitter_ms: Option<u64>,
    reset: Option<f64>,
    loss: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClearParams {
    toxic: Option<String>,
}

async fn show(Shared(state): Shared<Arc<State>>) -> Response {
    json(&state.toxics())
}

async fn set(Shared(state): Shared<Arc<State>>, Query(params): Query<SetParams>) -> Response {
    for (name, fraction) in [("reset", params.reset), ("loss", params.loss)] {
        if let Some(fraction) = fraction.filter(|f| !(0.0..=1.0).contains(f)) {
            return bad_request(format!(
                "{name} must be a fraction from 0 to 1, got {fraction}"
            ));
        }
    }
    let toxics = state.update(|toxics| {
        toxics.latency_ms = params.latency_ms.unwrap_or(toxics.latency_ms);
        toxics.jitter_ms = params.jitter_ms.unwrap_or(toxics.jitter_ms);
        toxics.reset = params.reset.unwrap_or(toxics.reset);
        toxics.loss = params.loss.unwrap_or(toxics.loss);
    });
    tracing::info!(?toxics, "toxics set");
    json(&toxics)
}

async fn clear(Shared(state): Shared<Arc<State>>, Query(params): Query<ClearParams>) -> Response {
    let toxics = match params.toxic.as_deref() {
        None => state.update(|toxics| *toxics = Toxics::default()),
        Some("latency") => state.update(|toxics| {
            toxics.latency_ms = 0;
            toxics.jitter_ms = 0;
        }),
        Some("reset") => state.update(|toxics| toxics.reset = 0.0),
        Some("loss") => state.update(|toxics| toxics.loss = 0.0),
        Some(other) => {
            return bad_request(format!(
                "unknown toxic {other:?}: expected `latency`, `reset` or `loss`"
            ))
        }
    };
    tracing::info!(?toxics, "toxics cleared");
    json(&toxics)
}

fn json(toxics: &Toxics) -> Response {
    let body = serde_json::to_string(toxics).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, message).into_response()
}
