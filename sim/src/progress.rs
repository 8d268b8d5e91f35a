//! Progress on long work: a live status line on a terminal, plain phase lines otherwise (CI).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Phase lines and a live status for `sim run`.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
    live: bool,
}

impl Progress {
    /// A status line on stderr when it is a terminal and `enabled`; plain lines otherwise.
    pub fn new(enabled: bool) -> Self {
        let target = ProgressDrawTarget::stderr();
        let live = enabled && !target.is_hidden();
        let bar = if live {
            let bar = ProgressBar::with_draw_target(None, target);
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        Progress { bar, live }
    }

    /// A new phase: printed as its own line, above the status line.
    pub fn phase(&self, line: impl AsRef<str>) {
        if self.live {
            self.bar.println(line.as_ref());
        } else {
            eprintln!("{}", line.as_ref());
        }
    }

    /// Replaces the live status (terminal only).
    pub fn status(&self, status: impl Into<String>) {
        self.bar.set_message(status.into());
    }

    /// Removes the status line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A sink that records every event in the journal and narrates the ones a person watching the
/// run wants to see (OOM kills, crashes, the healer's decisions, a source of its signals lost
/// and back) as phase lines. Between trials
/// (teardown, preflight) nothing is narrated: those deaths are sim's own doing.
pub struct Narrator {
    pub journal: std::sync::Arc<journal::Journal>,
    pub progress: Progress,
}

impl journal::Sink for Narrator {
    fn record(&self, event: journal::Event) {
        if self.journal.trial().is_some() {
            if let Some(line) = narration(&event) {
                self.progress.phase(line);
            }
        }
        self.journal.record(event);
    }
}

/// The phase line for an event worth narrating.
fn narration(event: &journal::Event) -> Option<String> {
    use journal::Event;
    Some(match event {
        Event::Docker {
            target,
            action,
            exit_code,
        } if action == "oom" || action == "die" => match exit_code {
            Some(code) => format!("docker: {target}: {action} (exit {code})"),
            None => format!("docker: {target}: {action}"),
        },
        Event::Alert {
            name,
            target,
            firing,
            ..
        } => format!(
            "alert: {name} {} for {target}",
            if *firing { "firing" } else { "resolved" }
        ),
        Event::RunbookSelected {
            target, runbook, ..
        } => format!("healer: {target}: running runbook {runbook}"),
        Event::ActionFinished {
            target,
            action,
            ok,
            duration_ms,
            ..
        } => format!(
            "healer: {target}: {action} {} after {:.0} ms",
            if *ok { "done" } else { "FAILED" },
            duration_ms
        ),
        Event::Verified {
            target,
            ok,
            duration_ms,
            ..
        } => format!(
            "healer: {target}: {} after {:.0} ms",
            if *ok {
                "verified healthy"
            } else {
                "NOT healthy"
            },
            duration_ms
        ),
        Event::Escalated { target, reason, .. } => {
            format!("healer: {target}: ESCALATED: {reason}")
        }
        Event::AdvisorConsulted {
            target,
            model,
            decision,
            latency_ms,
            ..
        } => {
            format!("healer: {target}: advisor {model} answered in {latency_ms:.0} ms: {decision}")
        }
        Event::SourceLost {
            source,
            detail,
            fallback,
        } => format!("healer: LOST {source}: {detail}; meanwhile: {fallback}"),
        Event::SourceRestored {
            source,
            down_ms,
            detail,
        } => {
            let back = format!("healer: {source} back after {:.1} s", down_ms / 1000.0);
            match detail.as_str() {
                "" => back,
                detail => format!("{back}: {detail}"),
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use journal::Event;

    use super::*;

    #[test]
    fn only_notable_events_are_narrated() {
        let oom = Event::Docker {
            target: "leaky-0".into(),
            action: "oom".into(),
            exit_code: None,
        };
        assert_eq!(narration(&oom).as_deref(), Some("docker: leaky-0: oom"));
        let start = Event::Docker {
            target: "leaky-0".into(),
            action: "start".into(),
            exit_code: None,
        };
        assert_eq!(narration(&start), None);
        let probe = Event::Probe {
            target: "leaky-0".into(),
            ok: true,
            status: Some(200),
            latency_ms: 1.0,
            error: None,
        };
        assert_eq!(narration(&probe), None);
    }

    #[test]
    fn a_lost_source_is_narrated_with_its_fallback_and_its_return_with_how_long() {
        let lost = Event::SourceLost {
            source: "alertmanager".into(),
            detail: "http://127.0.0.1:1/-/healthy: cannot connect".into(),
            fallback: "runbook r on `probe_failures: 3`".into(),
        };
        assert_eq!(
            narration(&lost).as_deref(),
            Some(
                "healer: LOST alertmanager: http://127.0.0.1:1/-/healthy: cannot connect; \
                 meanwhile: runbook r on `probe_failures: 3`"
            )
        );
        let restored = |detail: &str| Event::SourceRestored {
            source: "docker events".into(),
            down_ms: 5240.0,
            detail: detail.into(),
        };
        assert_eq!(
            narration(&restored("")).as_deref(),
            Some("healer: docker events back after 5.2 s")
        );
        assert_eq!(
            narration(&restored("leaky-0 died meanwhile")).as_deref(),
            Some("healer: docker events back after 5.2 s: leaky-0 died meanwhile")
        );
    }
}
