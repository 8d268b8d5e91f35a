//! Bodies of `notify` webhooks: Slack-compatible `{"text": …}` and PagerDuty Events v2.

use serde_json::json;

use crate::runbook::NotifyFormat;

/// The JSON body for `format`; the incident id is PagerDuty's `dedup_key`, so repeated
/// notifications about one incident stay one page.
pub(crate) fn body(format: &NotifyFormat, text: &str, incident: &str, target: &str) -> String {
    let value = match format {
        NotifyFormat::Slack => json!({ "text": text }),
        NotifyFormat::PagerDuty { routing_key } => json!({
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": incident,
            "payload": {
                "summary": text,
                "source": target,
                "severity": "critical",
                "component": target,
            },
        }),
    };
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_and_pagerduty_bodies() {
        let slack: serde_json::Value =
            serde_json::from_str(&body(&NotifyFormat::Slack, "hi \"x\"", "i-1", "t")).unwrap();
        assert_eq!(slack, json!({"text": "hi \"x\""}));
        let format = NotifyFormat::PagerDuty {
            routing_key: "key".into(),
        };
        let pd: serde_json::Value =
            serde_json::from_str(&body(&format, "down", "i-1", "t")).unwrap();
        assert_eq!(pd["routing_key"], "key");
        assert_eq!(pd["event_action"], "trigger");
        assert_eq!(pd["dedup_key"], "i-1");
        assert_eq!(pd["payload"]["summary"], "down");
        assert_eq!(pd["payload"]["source"], "t");
        assert_eq!(pd["payload"]["severity"], "critical");
    }
}
