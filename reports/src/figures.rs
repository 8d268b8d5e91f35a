//! The run-wide figures of every report (terminal table, HTML, Markdown, JUnit): one list of
//! lines of figures, so that every report shows the same figures under the same names, computed
//! and formatted the same way. A new figure is one entry here. The per-trial figures are the
//! trial columns of `columns`.

use crate::fmt::{opt_secs, Amount};
use crate::summary::{percentile, RunSummary};
use crate::TrialOutcome;

/// One run-wide figure.
pub(crate) struct Figure {
    /// Its name within its line (terminal, Markdown); empty when the line's heading names it.
    pub name: &'static str,
    /// Its name on its own (a row of the HTML's figures table).
    pub label: &'static str,
    /// Its name among JUnit's properties.
    pub key: &'static str,
    /// Its amount for a run; `None` leaves it out: a figure only some runs have.
    pub value: fn(&RunSummary) -> Option<Amount>,
}

impl Figure {
    /// Its value's text for `summary`, if the run has it.
    pub fn text(&self, summary: &RunSummary) -> Option<String> {
        (self.value)(summary).map(|amount| amount.to_string())
    }

    /// Its text within its line: the name, then the value.
    fn item(&self, summary: &RunSummary) -> Option<String> {
        let value = self.text(summary)?;
        Some(if self.name.is_empty() {
            value
        } else {
            format!("{} {value}", self.name)
        })
    }
}

/// Figures that read together: a line of the terminal's figures, a list item in Markdown.
pub(crate) struct Line {
    /// The terminal's first column and Markdown's bold lead: `Some("")` continues the line
    /// above, `None` is a line without one.
    pub heading: Option<&'static str>,
    /// Between two figures: `", "`, or [`WIDE`] between figures of one kind.
    pub separator: &'static str,
    pub figures: &'static [Figure],
    /// What the figures are out of (outages, trials, requests), after them in parentheses.
    pub context: Option<Figure>,
    /// Whether the run has the line's figures at all.
    pub shown: fn(&RunSummary) -> bool,
}

/// The terminal's separator between figures of one kind (Markdown writes ` · `).
pub(crate) const WIDE: &str = "  ";

impl Line {
    /// The line's figures, its context last.
    pub fn figures(&self) -> impl Iterator<Item = &Figure> {
        self.figures.iter().chain(&self.context)
    }

    /// The line without its heading: the figures the run has, `separator` between them, then
    /// the context in parentheses (`context_gap` before it).
    pub fn body(&self, summary: &RunSummary, separator: &str, context_gap: &str) -> String {
        let items: Vec<String> = self
            .figures
            .iter()
            .filter_map(|f| f.item(summary))
            .collect();
        let mut body = items.join(separator);
        if let Some(context) = self.context.as_ref().and_then(|c| c.text(summary)) {
            body.push_str(&format!("{context_gap}({context})"));
        }
        body
    }
}

/// The run-wide figures the run has, line by line.
pub(crate) fn shown(summary: &RunSummary) -> impl Iterator<Item = &'static Line> + '_ {
    RUN_FIGURES.iter().filter(|line| (line.shown)(summary))
}

/// Every run-wide figure, line by line: the MTTR, its phases, the alerting pipeline's share,
/// then what users and the healer saw, and how an agent used the Agent API.
const RUN_FIGURES: [Line; 8] = [
    Line {
        heading: Some("MTTR"),
        separator: WIDE,
        figures: &[
            Figure {
                name: "p50",
                label: "MTTR p50",
                key: "mttr_p50",
                value: |s| Some(Amount::Ms(s.aggregate.mttr_p50_ms)),
            },
            Figure {
                name: "p95",
                label: "MTTR p95",
                key: "mttr_p95",
                value: |s| Some(Amount::Ms(s.aggregate.mttr_p95_ms)),
            },
            Figure {
                name: "max",
                label: "MTTR max",
                key: "mttr_max",
                value: |s| Some(Amount::Ms(s.aggregate.mttr_max_ms)),
            },
        ],
        context: Some(Figure {
            name: "",
            label: "outages / recovered",
            key: "outages",
            value: |s| {
                let a = &s.aggregate;
                Some(Amount::Text(format!(
                    "{} outage(s), {} recovered, K = {}",
                    a.trials_with_outage, a.recovered_trials, s.healthy_after
                )))
            },
        }),
        shown: always,
    },
    Line {
        heading: Some("MTTR phases"),
        separator: ", ",
        figures: &[
            Figure {
                name: "p50 detect",
                label: "detect p50",
                key: "detect_p50",
                value: |s| {
                    let ttd = s.aggregate.ttd_p50_ms;
                    let first = if ttd.is_some_and(|ttd| ttd < 0.0) {
                        " (healer first)"
                    } else {
                        ""
                    };
                    Some(Amount::Text(format!("{}{first}", opt_secs(ttd))))
                },
            },
            Figure {
                name: "act",
                label: "act p50",
                key: "act_p50",
                value: |s| Some(Amount::Ms(s.aggregate.tta_p50_ms)),
            },
            Figure {
                name: "platform",
                label: "platform call p50",
                key: "platform_call_p50",
                value: |s| Some(Amount::Ms(s.aggregate.platform_call_p50_ms)),
            },
            Figure {
                name: "start→good",
                label: "start→good p50",
                key: "start_to_good_p50",
                value: |s| Some(Amount::Ms(s.aggregate.finished_to_recovered_p50_ms)),
            },
        ],
        context: None,
        shown: always,
    },
    Line {
        heading: Some(""),
        separator: ", ",
        figures: &[
            Figure {
                name: "p50 confirm",
                label: "confirm p50",
                key: "confirm_p50",
                value: |s| Some(Amount::Ms(s.aggregate.confirmation_p50_ms)),
            },
            Figure {
                name: "container start→good",
                label: "container start→good p50",
                key: "container_start_to_good_p50",
                value: |s| {
                    let ms = s.aggregate.container_start_to_recovered_p50_ms?;
                    Some(Amount::Ms(Some(ms)))
                },
            },
        ],
        context: None,
        shown: always,
    },
    Line {
        heading: Some("alerting p50"),
        separator: ", ",
        figures: &[
            Figure {
                name: "fault→firing",
                label: "fault→firing p50",
                key: "fault_to_firing_p50",
                value: |s| Some(trials_p50(s, |t| t.fault_to_firing_ms)),
            },
            Figure {
                name: "firing→webhook",
                label: "firing→webhook p50",
                key: "firing_to_webhook_p50",
                value: |s| Some(trials_p50(s, |t| t.firing_to_webhook_ms)),
            },
            Figure {
                name: "webhook→action",
                label: "webhook→action p50",
                key: "webhook_to_action_p50",
                value: |s| Some(trials_p50(s, |t| t.webhook_to_action_ms)),
            },
        ],
        context: None,
        shown: |s| s.trials.iter().any(|t| t.alert_received_at_ms.is_some()),
    },
    Line {
        heading: Some("success rate"),
        separator: WIDE,
        figures: &[Figure {
            name: "",
            label: "success rate",
            key: "success_rate",
            value: |s| Some(Amount::Fraction(s.aggregate.success_rate)),
        }],
        context: Some(Figure {
            name: "",
            label: "successful trials",
            key: "successful_trials",
            value: |s| {
                let a = &s.aggregate;
                Some(Amount::Text(format!(
                    "{} of {} trials",
                    a.successful_trials, a.trials
                )))
            },
        }),
        shown: always,
    },
    Line {
        heading: Some("error rate"),
        separator: WIDE,
        figures: &[Figure {
            name: "",
            label: "error rate",
            key: "error_rate",
            value: |s| Some(Amount::Fraction(s.aggregate.error_rate)),
        }],
        context: Some(Figure {
            name: "",
            label: "failed requests",
            key: "failed_requests",
            value: |s| {
                let a = &s.aggregate;
                let all = a.requests_ok.saturating_add(a.requests_failed);
                Some(Amount::Text(format!(
                    "{} failed of {all} requests",
                    a.requests_failed
                )))
            },
        }),
        shown: always,
    },
    Line {
        heading: None,
        separator: ", ",
        figures: &[
            Figure {
                name: "OOM kills",
                label: "OOM kills",
                key: "oom_kills",
                value: |s| Some(Amount::Count(s.aggregate.oom_kills)),
            },
            Figure {
                name: "verified heals",
                label: "verified heals",
                key: "heals",
                value: |s| Some(Amount::Count(s.aggregate.heals)),
            },
            Figure {
                name: "actions",
                label: "actions",
                key: "actions",
                value: |s| Some(Amount::Count(s.aggregate.actions)),
            },
            Figure {
                name: "unverified",
                label: "unverified",
                key: "unverified",
                value: |s| Some(Amount::Count(s.aggregate.unverified)),
            },
            Figure {
                name: "escalations",
                label: "escalations",
                key: "escalations",
                value: |s| Some(Amount::Count(s.aggregate.escalations)),
            },
            Figure {
                name: "false positives",
                label: "false positives",
                key: "false_positives",
                value: |s| Some(Amount::Count(s.aggregate.false_positives)),
            },
            Figure {
                name: "downtime",
                label: "downtime",
                key: "downtime",
                value: |s| Some(Amount::Ms(Some(s.aggregate.downtime_ms))),
            },
        ],
        context: None,
        shown: always,
    },
    Line {
        heading: Some("Agent API"),
        separator: ", ",
        figures: &[
            Figure {
                name: "calls",
                label: "Agent API calls",
                key: "agent_calls",
                value: |s| Some(Amount::Count(s.aggregate.agent_calls)),
            },
            Figure {
                name: "refused",
                label: "refused calls",
                key: "refused_calls",
                value: |s| Some(Amount::Count(s.aggregate.refused_calls)),
            },
            Figure {
                name: "errors",
                label: "API errors",
                key: "api_errors",
                value: |s| Some(Amount::Count(s.aggregate.api_errors)),
            },
        ],
        context: None,
        shown: |s| s.aggregate.agent_calls > 0,
    },
];

fn always(_: &RunSummary) -> bool {
    true
}

/// The median of a per-trial figure over the trials that have it.
fn trials_p50(summary: &RunSummary, figure: fn(&TrialOutcome) -> Option<f64>) -> Amount {
    Amount::Ms(percentile(
        summary.trials.iter().filter_map(figure).collect(),
        50.0,
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_figure_has_its_own_label_and_key() {
        let figures: Vec<&Figure> = RUN_FIGURES.iter().flat_map(Line::figures).collect();
        let labels: HashSet<&str> = figures.iter().map(|f| f.label).collect();
        let keys: HashSet<&str> = figures.iter().map(|f| f.key).collect();
        assert_eq!(labels.len(), figures.len());
        assert_eq!(keys.len(), figures.len());
    }
}
