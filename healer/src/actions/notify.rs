//! `notify`: a webhook to humans, in Slack's body format or as a PagerDuty event (see
//! [`crate::notify`]); it runs even when the guardrails allow notifying only.

use std::fmt;
use std::time::Duration;

use specfile::Scalar;

use super::http::{send, DEFAULT_TIMEOUT};
use super::ActionKind;
use crate::incident::Incident;
use crate::notify;
use crate::runbook::StepFields;
use crate::signal::TargetRef;
use crate::template::Template;

/// The text of a notification whose step names none.
const DEFAULT_TEXT: &str = "{{class}} incident {{incident}} on {{target}}";

#[derive(Debug, Clone)]
pub(crate) struct Notify {
    pub(crate) url: Template,
    pub(crate) format: NotifyFormat,
    pub(crate) text: Template,
}

/// The body a `notify` step posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotifyFormat {
    /// `{"text": …}`, which Slack incoming webhooks and many chat tools accept.
    Slack,
    /// A PagerDuty Events v2 `trigger` event with this routing key.
    PagerDuty { routing_key: String },
}

impl ActionKind for Notify {
    const NAME: &'static str = "notify";
    const FIELDS: &'static [&'static str] = &["url", "format", "text", "routing_key"];

    fn compile(step: &mut StepFields<'_>) -> Option<Self> {
        let url = step.required("url", StepFields::template);
        let text = step
            .optional("text", StepFields::template)
            .and_then(|text| text.or_else(|| Template::parse(DEFAULT_TEXT).ok()));
        let format = match step.get("format").map(Scalar::as_str) {
            None | Some("slack") => {
                if step.get("routing_key").is_some() {
                    let field = step.field("routing_key");
                    step.push(&field, "`routing_key` goes only with `format: pagerduty`");
                }
                Some(NotifyFormat::Slack)
            }
            Some("pagerduty") => step
                .required_text("routing_key")
                .map(|routing_key| NotifyFormat::PagerDuty { routing_key }),
            Some(other) => {
                let field = step.field("format");
                step.bad_choice(&field, other, &["slack", "pagerduty"])
            }
        };
        Some(Notify {
            url: url?,
            format: format?,
            text: text?,
        })
    }

    fn default_timeout(_: Option<&Self>) -> Option<Duration> {
        Some(DEFAULT_TIMEOUT)
    }

    async fn execute(&self, incident: &Incident, _: &TargetRef, _: Duration) -> Result<(), String> {
        let context = incident.template_context();
        let url = self.url.render(&context)?;
        let text = self.text.render(&context)?;
        let body = notify::body(&self.format, &text, &incident.id, &incident.target.name);
        let request = incident
            .client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        send(request, &url).await
    }

    fn holds_permit(&self) -> bool {
        false
    }

    fn only_notifies(&self) -> bool {
        true
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.format {
            NotifyFormat::Slack => f.write_str(Self::NAME),
            NotifyFormat::PagerDuty { .. } => f.write_str("notify (pagerduty)"),
        }
    }
}
