//! `fallback:` → the triggers that stand in for a runbook's alert triggers while the healer's
//! alert source is lost (see [`crate::alert_source`]). Entries are written like `when`'s and
//! compiled the same way; a fallback makes sense only beside an `alert` entry in `when`, must
//! read the healer's own signals (an alert cannot arrive while alerts are lost), and must not
//! repeat a `when` entry, which is live anyway.

use super::Compiler;
use crate::runbook::spec::TriggerSpec;
use crate::triggers::{alert, Trigger, TriggerKind};

impl Compiler {
    /// The `fallback` entries, each problem recorded at its place; `when` is given as written
    /// (to know whether it names an alert, even one with a problem) and as compiled.
    pub(super) fn fallback(
        &mut self,
        entries: Option<&[TriggerSpec]>,
        when_spec: &[TriggerSpec],
        when: &[Trigger],
    ) -> Vec<Trigger> {
        let Some(entries) = entries else {
            return Vec::new();
        };
        if entries.is_empty() {
            self.p.push(
                "fallback",
                "needs at least one entry",
                Some("add e.g. `fallback: [{probe_failures: 3}]`, or leave `fallback` out".into()),
            );
        }
        let key = alert::Alert::KEY;
        if !when_spec.iter().any(|entry| entry.fields.contains_key(key)) {
            self.p.push(
                "fallback",
                format!(
                    "a fallback stands in for alerts while the alert source is lost, and `when` \
                     has no `{key}` entry"
                ),
                Some(format!(
                    "add an `{key}:` entry to `when`, or move these entries into `when`"
                )),
            );
        }
        entries
            .iter()
            .enumerate()
            .filter_map(|(i, entry)| {
                let path = format!("fallback[{i}]");
                let trigger = self.trigger(&path, entry)?;
                if let Trigger::Alert(_) = trigger {
                    self.p.push(
                        &format!("{path}.{key}"),
                        "an alert cannot stand in for alerts: none arrives while the alert \
                         source is lost",
                        Some(
                            "use one of the healer's own signals, e.g. `probe_failures: 3`".into(),
                        ),
                    );
                    return None;
                }
                if when.contains(&trigger) {
                    self.p.push(
                        &path,
                        format!("`{trigger}` is already in `when`, where it is always live"),
                        Some("remove it from `fallback`".into()),
                    );
                    return None;
                }
                Some(trigger)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
