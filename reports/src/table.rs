//! The plain-text summary table printed at the end of a run.

use std::fmt::Write;

use crate::columns::{PHASES, TRIAL_COLUMNS};
use crate::figures::{self, WIDE};
use crate::summary::RunSummary;
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

    /// The run-wide figures, a line each, behind a first column of their headings.
    fn aggregate_lines(&self, out: &mut String) {
        for line in figures::shown(self) {
            let heading = line
                .heading
                .map_or_else(String::new, |h| format!("{h:<HEADING_WIDTH$}"));
            let _ = writeln!(out, "{heading}{}", line.body(self, line.separator, WIDE));
        }
    }
}

/// The width of the figures' first column.
const HEADING_WIDTH: usize = 14;

/// The trial, its columns, and ok or FAIL (the reasons follow the table).
fn row(t: &TrialOutcome) -> Vec<String> {
    let mut cells = vec![t.trial.to_string()];
    cells.extend(TRIAL_COLUMNS.iter().map(|c| c.text(t)));
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
