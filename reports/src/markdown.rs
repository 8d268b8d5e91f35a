//! A GitHub-flavoured Markdown summary of a run, for CI job summaries: verdicts, the run-wide
//! figures (a list item per line of them) with the MTTR broken into phases, and one row per
//! trial.

use std::fmt::Write;

use crate::columns::{PHASES, TRIAL_COLUMNS};
use crate::figures::{self, WIDE};
use crate::markup::esc;
use crate::{RunInfo, RunSummary};

/// Text safe inside a Markdown table cell: HTML escaped, pipes escaped, one line.
fn cell(text: &str) -> String {
    esc(text).replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The run's result, expectations, run-wide figures and one table row per trial (with its notes).
pub fn render_markdown(summary: &RunSummary, info: &RunInfo) -> String {
    let passed = summary.passed() && !info.interrupted;
    let interrupted = summary.interrupted || info.interrupted;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### {} `{}` run `{}`: {}{}\n",
        if passed { "✅" } else { "❌" },
        cell(&info.scenario),
        cell(&info.run_id),
        if passed { "PASS" } else { "FAIL" },
        if interrupted { " (interrupted)" } else { "" }
    );
    if !summary.verdicts.is_empty() {
        out.push_str("| expectation | result | detail |\n|---|---|---|\n");
        for v in &summary.verdicts {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                cell(&v.expectation),
                if v.passed { "PASS" } else { "**FAIL**" },
                cell(&v.detail)
            );
        }
        out.push('\n');
    }
    for line in figures::shown(summary) {
        let separator = if line.separator == WIDE {
            " · "
        } else {
            line.separator
        };
        let body = line.body(summary, separator, " ");
        match line.heading {
            Some(heading) if !heading.is_empty() => {
                let _ = writeln!(out, "- **{heading}** {body}");
            }
            _ => {
                let _ = writeln!(out, "- {body}");
            }
        }
    }
    out.push('\n');
    let _ = writeln!(out, "{}.\n", PHASES.join("; "));
    out.push_str("| trial |");
    for c in &TRIAL_COLUMNS {
        let _ = write!(out, " {} |", c.name);
    }
    out.push_str(" result |\n|---:|");
    for c in &TRIAL_COLUMNS {
        out.push_str(if c.numeric { "---:|" } else { "---|" });
    }
    out.push_str("---|\n");
    for t in &summary.trials {
        let _ = write!(out, "| {} |", t.trial);
        for c in &TRIAL_COLUMNS {
            let _ = write!(out, " {} |", cell(&c.text(t)));
        }
        let mut result = match &t.failure_reason {
            None => "ok".to_owned(),
            Some(reason) => format!("**FAIL**: {}", cell(reason)),
        };
        for note in &t.notes {
            let _ = write!(result, " (note: {})", cell(note));
        }
        let _ = writeln!(out, " {result} |");
    }
    out
}
