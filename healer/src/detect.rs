//! Detection and runbook selection: which incident class a signal is, and which runbook handles
//! it. Today a detection is a fault signal matched by a runbook's `when`; threshold, trend and
//! anomaly detectors over metrics will feed the same [`Detection`] later.

use std::sync::Arc;

use crate::runbook::Runbook;
use crate::signal::SignalKind;

/// A fault worth an incident, and the runbook chosen to handle it.
#[derive(Debug)]
pub(crate) struct Detection {
    pub(crate) runbook: Arc<Runbook>,
    /// Why this runbook, for the journal's `RunbookSelected`.
    pub(crate) reason: String,
}

/// Picks the first runbook (in the order given) whose `when` matches `kind`.
pub(crate) fn detect(kind: &SignalKind, runbooks: &[Arc<Runbook>]) -> Option<Detection> {
    let mut matching = runbooks.iter().filter_map(|runbook| {
        let trigger = runbook.when.iter().find(|trigger| trigger.matches(kind))?;
        Some((runbook, trigger))
    });
    let (runbook, trigger) = matching.next()?;
    let others = matching.count();
    let mut reason = format!("`when: {trigger}` matches {kind}");
    if others > 0 {
        reason.push_str(&format!("; first of {} matching runbooks", others + 1));
    }
    Some(Detection {
        runbook: Arc::clone(runbook),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn runbook(name: &str, when: &str) -> Arc<Runbook> {
        let yaml = format!(
            "name: {name}\nclass: c-{name}\nwhen: [{when}]\nsteps: [{{action: restart, timeout: 1s}}]\n\
             verify: {{http_path: /health, within: 1s}}\ncooldown: 0s\nmax_actions: 1\nwindow: 1m\n"
        );
        Arc::new(Runbook::parse(&yaml, Path::new("test")).unwrap())
    }

    #[test]
    fn first_matching_runbook_wins_and_says_why() {
        let runbooks = [
            runbook("oom", "{docker_event: oom}"),
            runbook("crash", "{docker_event: die, exit_code: 1}"),
            runbook("any-death", "{docker_event: die}"),
        ];
        let oom = detect(&SignalKind::Oom, &runbooks).unwrap();
        assert_eq!(oom.runbook.name(), "oom");
        assert_eq!(oom.reason, "`when: docker_event: oom` matches oom");

        let crash = detect(&SignalKind::Died { exit_code: Some(1) }, &runbooks).unwrap();
        assert_eq!(crash.runbook.class(), "c-crash");
        assert!(
            crash.reason.ends_with("first of 2 matching runbooks"),
            "{}",
            crash.reason
        );

        let killed = detect(
            &SignalKind::Died {
                exit_code: Some(137),
            },
            &runbooks,
        )
        .unwrap();
        assert_eq!(killed.runbook.name(), "any-death");

        assert!(detect(&SignalKind::Health { healthy: false }, &runbooks).is_none());
    }
}
