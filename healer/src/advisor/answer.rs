//! The advisor's answer: the first choice's message of a chat-completions response, which must
//! be exactly one JSON object `{class, runbook, confidence, rationale}`: every field there, no
//! other field, a class of at most 64 word characters, a confidence in 0..=1. Anything else is
//! an error, and the error is the outcome (the healer escalates).

use serde::{Deserialize, Serialize};

/// The longest class accepted.
const CLASS_CHARS: usize = 64;
/// The longest runbook name accepted (longer cannot be in the library's files anyway).
const RUNBOOK_CHARS: usize = 200;
/// A longer rationale is cut to this.
const RATIONALE_CHARS: usize = 1_000;

/// A valid answer: which runbook, how sure, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Answer {
    pub(crate) class: String,
    /// A runbook's name, or `none`.
    pub(crate) runbook: String,
    pub(crate) confidence: f64,
    pub(crate) rationale: String,
}

impl Answer {
    /// The answer as one line of JSON, for the audit.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("unprintable answer: {e}"))
    }
}

/// The answer in a chat-completions response body.
pub(crate) fn parse(body: &str) -> Result<Answer, String> {
    let response: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| format!("the response is not JSON ({e}): {body}"))?;
    let content = response
        .pointer("/choices/0/message/content")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| format!("the response has no choices[0].message.content: {body}"))?;
    let mut answer: Answer = serde_json::from_str(content.trim()).map_err(|e| {
        format!(
            "the answer is not the JSON object {{class, runbook, confidence, rationale}} ({e}): {content}"
        )
    })?;
    if !(0.0..=1.0).contains(&answer.confidence) {
        return Err(format!(
            "confidence {} is outside 0..=1: {content}",
            answer.confidence
        ));
    }
    let class_ok = (1..=CLASS_CHARS).contains(&answer.class.chars().count())
        && answer
            .class
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if !class_ok {
        return Err(format!(
            "class {:?} is not 1 to {CLASS_CHARS} letters, digits, `_`, `-` or `.`",
            answer.class
        ));
    }
    if answer.runbook.trim().is_empty() || answer.runbook.chars().count() > RUNBOOK_CHARS {
        return Err(format!(
            "runbook must name a runbook (or `none`), got {:?}",
            answer.runbook
        ));
    }
    if let Some((end, _)) = answer.rationale.char_indices().nth(RATIONALE_CHARS) {
        answer.rationale.truncate(end);
        answer.rationale.push('…');
    }
    Ok(answer)
}
