//! `http`: a request to the target itself, e.g. its clear-cache endpoint; the path is a
//! template, the port defaults to the target's `healer.port` label.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::ActionKind;
use crate::incident::Incident;
use crate::runbook::StepFields;
use crate::signal::TargetRef;
use crate::template::Template;
use crate::verify;

/// The timeout of an `http` or `notify` step that names none.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE"];

#[derive(Debug, Clone)]
pub(crate) struct Http {
    pub(crate) method: reqwest::Method,
    pub(crate) path: Template,
    pub(crate) port: Option<u16>,
}

impl ActionKind for Http {
    const NAME: &'static str = "http";
    const FIELDS: &'static [&'static str] = &["method", "path", "port"];

    fn compile(step: &mut StepFields<'_>) -> Option<Self> {
        let method = step.optional("method", |step, field, value| match value.as_str() {
            method if METHODS.contains(&method) => reqwest::Method::from_str(method).ok(),
            other => step.bad_choice(field, other, METHODS),
        });
        let path = step.required("path", |step, field, value| {
            if !value.as_str().starts_with('/') {
                step.push(field, format!("must start with `/`, got `{value}`"));
                return None;
            }
            step.template(field, value)
        });
        let port = step.optional("port", |step, field, value| {
            step.whole::<u16>(field, value, "a port number")
        });
        Some(Http {
            method: method?.unwrap_or(reqwest::Method::POST),
            path: path?,
            port: port?,
        })
    }

    fn default_timeout(_: Option<&Self>) -> Option<Duration> {
        Some(DEFAULT_TIMEOUT)
    }

    async fn execute(
        &self,
        incident: &Incident,
        target: &TargetRef,
        _: Duration,
    ) -> Result<(), String> {
        let path = self.path.render(&incident.template_context())?;
        let port = self.port.unwrap_or_else(|| verify::label_port(target));
        let endpoint = incident
            .platform
            .http_endpoint(target, port)
            .await
            .map_err(|e| e.to_string())?;
        let url = format!("http://{endpoint}{path}");
        send(incident.client.request(self.method.clone(), &url), &url).await
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http {} {}", self.method, self.path)
    }
}

/// Sends `request`; a non-2xx answer is an error.
pub(super) async fn send(request: reqwest::RequestBuilder, url: &str) -> Result<(), String> {
    let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("{url}: HTTP {}", response.status()))
    }
}
