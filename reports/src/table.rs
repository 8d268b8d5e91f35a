//! The plain-text summary table printed at the end of a run.

use std::fmt::Write;

use crate::columns::{PHASES, TRIAL_COLUMNS};
use crate::fmt::{opt_secs, percent, secs};
use crate::summary::{percentile, RunSummary};
use crate::TrialOutcome;

impl RunSummary {
    /// A plain-text table for the terminal: one row per trial with its MTTR broken into phases,
    /// failure reasons and notes, the run-wide figures, then each verdict with PASS or FAIL.
    /// Columns are aligned; text columns to the left, numbers right.
    pub fn render_table(&self) -> String {
        let header: Vec<String> = std::iter::once("trial")
            .chain(TRIAL_COLUMNS.iter().map(|c| c.name))
            .chain(["result"])
            .map(str::to_owned)
            .collect();
        let rows: Vec<Vec<String>> = self.trials.iter().map(row).collect();
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        line(&mut out, &header, &widths);
        for row in &rows {
            line(&mut out, row, &widths);
        }
        if self.trials.iter().any(|t| t.outage) {
            for line in PHASES {
                let _ = writeln!(out, "  {line}");
            }
        }
        for t in &self.trials {
            if let Some(reason) = &t.failure_reason {
                let _ = writeln!(out, "  trial {}: {reason}", t.trial);
            }
            for note in &t.notes {
                let _ = writeln!(out, "  trial {} (note): {note}", t.trial);
            }
        }
        out.push('\n');
        self.aggregate_lines(&mut out);
        if !self.verdicts.is_empty() {
            out.push('\n');
        }
        for v in &self.verdicts {
            let mark = if v.passed { "PASS" } else { "FAIL" };
            let _ = writeln!(out, "{mark}  {}: {}", v.expectation, v.detail);
        }
        let overall = if self.passed() { "PASS" } else { "FAIL" };
        let interrupted = if self.interrupted {
            " (run interrupted)"
        } else {
            ""
        };
        let _ = writeln!(out, "\nresult: {overall}{interrupted}");
        out
    }

    fn aggregate_lines(&self, out: &mut String) {
        let a = &self.aggregate;
        let _ = writeln!(
            out,
            "MTTR          p50 {}  p95 {}  max {}  ({} outage(s), {} recovered, K = {})",
            opt_secs(a.mttr_p50_ms),
            opt_secs(a.mttr_p95_ms),
            opt_secs(a.mttr_max_ms),
            a.trials_with_outage,
            a.recovered_trials,
            self.healthy_after
        );
        let before = if a.ttd_p50_ms.is_some_and(|ttd| ttd < 0.0) {
            " (healer first)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "MTTR phases   p50 detect {}{before}, act {}, platform {}, start→good {}",
            opt_secs(a.ttd_p50_ms),
            opt_secs(a.tta_p50_ms),
            opt_secs(a.platform_call_p50_ms),
            opt_secs(a.finished_to_recovered_p50_ms),
        );
        let container = a
            .container_start_to_recovered_p50_ms
            .map_or_else(String::new, |ms| {
                format!(", container start→good {}", secs(ms))
            });
        let _ = writeln!(
            out,
            "              p50 confirm {}{container}",
            opt_secs(a.confirmation_p50_ms),
        );
        if self.trials.iter().any(|t| t.alert_received_at_ms.is_some()) {
            let p50 = |figure: fn(&TrialOutcome) -> Option<f64>| {
                opt_secs(percentile(
                    self.trials.iter().filter_map(figure).collect(),
                    50.0,
                ))
            };
            let _ = writeln!(
                out,
                "alerting p50  fault→firing {}, firing→webhook {}, webhook→action {}",
                p50(|t| t.fault_to_firing_ms),
                p50(|t| t.firing_to_webhook_ms),
                p50(|t| t.webhook_to_action_ms)
            );
        }
        let success = a.success_rate.map_or_else(|| "-".to_owned(), percent);
        let _ = writeln!(
            out,
            "success rate  {success}  ({} of {} trials)",
            a.successful_trials, a.trials
        );
        let errors = a.error_rate.map_or_else(|| "-".to_owned(), percent);
        let _ = writeln!(
            out,
            "error rate    {errors}  ({} failed of {} requests)",
            a.requests_failed,
            a.requests_ok.saturating_add(a.requests_failed)
        );
        let _ = writeln!(
            out,
            "OOM kills {}, verified heals {}, actions {}, unverified {}, escalations {}, downtime {}",
            a.oom_kills,
            a.heals,
            a.actions,
            a.unverified,
            a.escalations,
            secs(a.downtime_ms)
        );
    }
}

/// The trial, its columns, and ok or FAIL (the reasons follow the table).
fn row(t: &TrialOutcome) -> Vec<String> {
    let mut cells = vec![t.trial.to_string()];
    cells.extend(TRIAL_COLUMNS.iter().map(|c| (c.value)(t)));
    cells.push(if t.success { "ok" } else { "FAIL" }.to_owned());
    cells
}

/// One line: text columns (and the result) left-aligned, the figures right-aligned.
fn line(out: &mut String, cells: &[String], widths: &[usize]) {
    let mut text = String::new();
    for (i, (cell, &width)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            text.push_str("  ");
        }
        let pad = width.saturating_sub(cell.chars().count());
        let left = i == cells.len() - 1 || i > 0 && !TRIAL_COLUMNS[i - 1].numeric;
        if left {
            text.push_str(cell);
            text.extend(std::iter::repeat_n(' ', pad));
        } else {
            text.extend(std::iter::repeat_n(' ', pad));
            text.push_str(cell);
        }
    }
    out.push_str(text.trim_end());
    out.push('\n');
}
