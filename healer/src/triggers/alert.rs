//! `alert: NAME` (or `*`), with `labels` the alert must carry: an alert fed from outside
//! (Alertmanager), while it fires.

use std::collections::BTreeMap;
use std::fmt;

use specfile::Scalar;

use super::TriggerKind;
use crate::runbook::TriggerFields;
use crate::signal::SignalKind;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Alert {
    /// `None`: any alert (`*`).
    pub(crate) name: Option<String>,
    pub(crate) labels: BTreeMap<String, String>,
}

impl TriggerKind for Alert {
    const KEY: &'static str = "alert";
    const FIELDS: &'static [&'static str] = &["labels"];
    const MAPS: &'static [&'static str] = &["labels"];

    fn compile(value: &Scalar, when: &mut TriggerFields<'_>) -> Option<Self> {
        let name = match value.as_str() {
            "*" => None,
            name => Some(name.to_owned()),
        };
        let labels = when
            .map("labels")
            .into_iter()
            .flatten()
            .map(|(key, value)| (key.clone(), value.as_str().to_owned()))
            .collect();
        Some(Alert { name, labels })
    }

    fn matches(&self, kind: &SignalKind) -> bool {
        let SignalKind::Alert(alert) = kind else {
            return false;
        };
        alert.firing
            && self.name.as_ref().is_none_or(|want| *want == alert.name)
            && self
                .labels
                .iter()
                .all(|(key, value)| alert.labels.get(key) == Some(value))
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "alert: {}", self.name.as_deref().unwrap_or("*"))?;
        if !self.labels.is_empty() {
            write!(f, ", labels: {:?}", self.labels)?;
        }
        Ok(())
    }
}
