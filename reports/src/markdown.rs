//! A GitHub-flavoured Markdown summary of a run, for CI job summaries: verdicts, run-wide
//! figures with the MTTR broken into phases, and one row per trial.

use std::fmt::Write;

use crate::columns::{PHASES, TRIAL_COLUMNS};
use crate::fmt::{opt_secs, percent, secs};
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
    let a = &summary.aggregate;
    let rate = |r: Option<f64>| r.map_or_else(|| "-".to_owned(), percent);
    let _ = writeln!(
        out,
        "**MTTR** p50 {} · p95 {} · max {} ({} outage(s), {} recovered, K = {}) · **success** {} \
         ({} of {}) · **errors** {} ({} of {} requests) · **downtime** {} · **verified heals** {} \
         of {} action(s), {} unverified\n",
        opt_secs(a.mttr_p50_ms),
        opt_secs(a.mttr_p95_ms),
        opt_secs(a.mttr_max_ms),
        a.trials_with_outage,
        a.recovered_trials,
        summary.healthy_after,
        rate(a.success_rate),
        a.successful_trials,
        a.trials,
        rate(a.error_rate),
        a.requests_failed,
        a.requests_ok.saturating_add(a.requests_failed),
        secs(a.downtime_ms),
        a.heals,
        a.actions,
        a.unverified,
    );
    let _ = writeln!(
        out,
        "**MTTR by phase** (p50): detect {} → act {} → platform call {} → start→good {} · then \
         confirm {} · container start→good {}\n",
        opt_secs(a.ttd_p50_ms),
        opt_secs(a.tta_p50_ms),
        opt_secs(a.platform_call_p50_ms),
        opt_secs(a.finished_to_recovered_p50_ms),
        opt_secs(a.confirmation_p50_ms),
        opt_secs(a.container_start_to_recovered_p50_ms),
    );
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
            let _ = write!(out, " {} |", cell(&(c.value)(t)));
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
