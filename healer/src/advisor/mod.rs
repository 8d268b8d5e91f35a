//! The model advisor: off by default, consulted when no runbook's `when` matches an incident's
//! evidence, or when one matches below the confidence guardrail. It speaks the OpenAI-compatible
//! chat-completions API (`POST {url}/v1/chat/completions`) that Ollama, llama.cpp's server, vLLM
//! and hosted services share; [`request`] builds what is sent (the evidence, with the log excerpt
//! marked as untrusted data), [`answer`] reads the strict JSON answer back, and [`decision`]
//! decides whether the healer may act on it.
//!
//! The guarantee is the validation, not the prompt: whatever the model says (or fails to say),
//! the healer runs only a runbook of its library, on a target in its scope, through the same
//! guardrails as a runbook a rule selected; anything else is an escalation.

mod answer;
mod decision;
mod request;

use std::time::Duration;

use tokio::time::Instant;

pub(crate) use answer::Answer;
pub(crate) use decision::{decide, Decision};
pub(crate) use request::{Candidate, Evidence};

/// How long the advisor may take to answer when the configuration does not say.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The confidence an answer needs when the configuration does not say.
pub const DEFAULT_MIN_CONFIDENCE: f64 = 0.7;
/// The most of an answer (or of an error) kept in the audit.
const AUDIT_CHARS: usize = 2_000;
/// The largest answer body read.
const MAX_BODY: usize = 64 * 1024;

/// Where the advisor is and how far the healer trusts it. Build it with [`Advisor::new`]; give it
/// to [`Healer::with_advisor`](crate::Healer::with_advisor).
///
/// The incident's evidence is sent to `url`: the signal, the candidate classes, the runbooks'
/// names and descriptions, and the target's last log lines (redacted of token-like secrets, but
/// otherwise as the target wrote them). Point it at a server you would show those logs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Advisor {
    pub(crate) endpoint: reqwest::Url,
    pub(crate) model: String,
    pub(crate) timeout: Duration,
    pub(crate) min_confidence: f64,
}

/// Why an advisor's settings are refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AdvisorError {
    /// The URL does not parse, or is not `http://host[:port][/path]`.
    #[error("{url:?} is not an http URL: {why}")]
    Url { url: String, why: String },
    /// No model name.
    #[error("the advisor needs a model name, such as `qwen2.5:0.5b`")]
    NoModel,
    /// `min_confidence` outside 0..=1.
    #[error("min_confidence must be between 0 and 1, got {0}")]
    Confidence(f64),
    /// A timeout of zero.
    #[error("the advisor's timeout must be longer than 0s")]
    Timeout,
}

impl Advisor {
    /// The advisor at `url` (the server's base, e.g. `http://127.0.0.1:11434`; requests go to
    /// `{url}/v1/chat/completions`) asked for `model`, with [`DEFAULT_TIMEOUT`] and
    /// [`DEFAULT_MIN_CONFIDENCE`].
    pub fn new(url: &str, model: &str) -> Result<Advisor, AdvisorError> {
        let bad = |why: &str| AdvisorError::Url {
            url: url.to_owned(),
            why: why.to_owned(),
        };
        let base = reqwest::Url::parse(url.trim()).map_err(|e| bad(&e.to_string()))?;
        match base.scheme() {
            "http" => {}
            // reqwest is built without TLS (the dependency tree stays lean): refuse here rather
            // than fail every consultation at run time.
            "https" => {
                return Err(bad(
                    "this build speaks plain http to the advisor: serve the model on this \
                     machine (Ollama, llama.cpp's server, vLLM) or put a local TLS proxy in front",
                ))
            }
            _ => return Err(bad("the scheme must be http")),
        }
        if base.host_str().is_none_or(str::is_empty) {
            return Err(bad("it names no host"));
        }
        if base.query().is_some() || base.fragment().is_some() || !base.username().is_empty() {
            return Err(bad(
                "give the server's base URL, without credentials, query or fragment",
            ));
        }
        let path = format!("{}/v1/chat/completions", base.path().trim_end_matches('/'));
        let mut endpoint = base;
        endpoint.set_path(&path);
        let model = model.trim();
        if model.is_empty() {
            return Err(AdvisorError::NoModel);
        }
        Ok(Advisor {
            endpoint,
            model: model.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            min_confidence: DEFAULT_MIN_CONFIDENCE,
        })
    }

    /// An answer later than this counts as no answer (the healer escalates).
    pub fn timeout(mut self, timeout: Duration) -> Result<Advisor, AdvisorError> {
        if timeout.is_zero() {
            return Err(AdvisorError::Timeout);
        }
        self.timeout = timeout;
        Ok(self)
    }

    /// The healer acts on an answer only at this confidence (0..=1) or more, and never below
    /// the operator-wide [`Guardrails::min_confidence`](crate::Guardrails::min_confidence).
    pub fn min_confidence(mut self, confidence: f64) -> Result<Advisor, AdvisorError> {
        if !(0.0..=1.0).contains(&confidence) {
            return Err(AdvisorError::Confidence(confidence));
        }
        self.min_confidence = confidence;
        Ok(self)
    }

    /// Where requests go.
    pub fn endpoint(&self) -> &str {
        self.endpoint.as_str()
    }

    /// Asks about `evidence`; never fails: an error is the consultation's outcome.
    pub(crate) async fn consult(
        &self,
        client: &reqwest::Client,
        evidence: &Evidence<'_>,
    ) -> Consultation {
        let started = Instant::now();
        let body = request::body(&self.model, evidence);
        let call = async {
            let response = client
                .post(self.endpoint.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await
                .map_err(|e| format!("no answer from {}: {e}", self.endpoint))?;
            let status = response.status();
            let text = read_body(response).await?;
            if !status.is_success() {
                return Err(format!("HTTP {status}: {text}"));
            }
            answer::parse(&text)
        };
        let outcome = match tokio::time::timeout(self.timeout, call).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
        };
        Consultation {
            latency: started.elapsed(),
            outcome: outcome.map_err(|error| bounded(&error)),
        }
    }
}

/// What one consultation gave.
#[derive(Debug)]
pub(crate) struct Consultation {
    pub(crate) latency: Duration,
    /// The valid answer, or why there is none (bounded, redacted).
    pub(crate) outcome: Result<Answer, String>,
}

impl Consultation {
    /// The answer or the error, for the audit.
    pub(crate) fn audit(&self) -> String {
        match &self.outcome {
            Ok(answer) => bounded(&answer.to_json()),
            Err(error) => error.clone(),
        }
    }
}

/// The body of `response`, at most [`MAX_BODY`] bytes (more is an error).
async fn read_body(mut response: reqwest::Response) -> Result<String, String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("the answer broke off: {e}"))?
    {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_BODY {
            return Err(format!("the answer is longer than {MAX_BODY} bytes"));
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `text` redacted and cut to [`AUDIT_CHARS`], for the audit.
fn bounded(text: &str) -> String {
    let text = crate::excerpt::redact(text);
    match text.char_indices().nth(AUDIT_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

#[cfg(test)]
mod tests;
