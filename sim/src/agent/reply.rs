//! The Agent API's answers: JSON bodies ([`json`]); every error is `{"error": "..."}`; and what a
//! handler tells the journal about its call ([`Call`], a response extension).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answer: its status and a message saying what to fix.
#[derive(Debug)]
pub(super) struct ApiError {
    pub(super) status: StatusCode,
    pub(super) message: String,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub(super) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub(super) fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// A failed Docker call, named by what it tried.
    pub(super) fn docker(what: &str, error: bollard::errors::Error) -> ApiError {
        ApiError::internal(format!("cannot {what}: {error}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json(self.status, &serde_json::json!({ "error": self.message }))
    }
}

/// `value` as a JSON answer with `status`.
pub(super) fn json(status: StatusCode, value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the answer: {error}"),
        )
            .into_response(),
    }
}

/// What the journal records of a call beyond its method, path and status: the target its
/// path names and the action its body asks for.
#[derive(Debug, Clone, Default)]
pub(super) struct Call {
    pub(super) target: Option<String>,
    pub(super) action: Option<String>,
}

impl Call {
    /// Attaches the call's details to `answer` for the journal.
    pub(super) fn on(self, answer: impl IntoResponse) -> Response {
        let mut response = answer.into_response();
        response.extensions_mut().insert(self);
        response
    }
}
