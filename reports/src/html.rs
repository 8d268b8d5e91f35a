//! The self-contained HTML report of one run: inline CSS and inline SVG charts, no scripts and
//! no external assets, so it opens offline and can be attached to a CI job as one file.

use std::fmt::Write;

use journal::Record;

use crate::chart;
use crate::columns::{PHASES, TRIAL_COLUMNS};
use crate::figures;
use crate::fmt::{secs, Amount};
use crate::markup::{esc, utc};
use crate::outcome::rate;
use crate::over_time;
use crate::over_time_chart;
use crate::timeline::{audit, timeline, LoadTotals};
use crate::{RunInfo, RunSummary, TrialOutcome};

pub(crate) const CSS: &str = "
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1060px;color:#222;padding:0 12px}
h1{margin-bottom:4px}h2{margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0;font-size:14px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.pass{color:#067a3a;font-weight:bold}.fail{color:#c62828;font-weight:bold}
tr.regression td{background:#ffe3e3}
figure.chart{margin:12px 0}figure.chart svg{max-width:100%;height:auto}
figcaption{font-size:13px;color:#555}.note{color:#555;font-style:italic}
";

/// The HTML report of the run recorded in `records`, whose figures are `summary`.
pub fn render_html(records: &[Record], summary: &RunSummary, info: &RunInfo) -> String {
    let mut out = String::new();
    let passed = summary.passed() && !info.interrupted;
    let title = format!("{} run {}", info.scenario, info.run_id);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{}</title><style>{CSS}</style></head><body>\n",
        esc(&title)
    );
    let _ = writeln!(
        out,
        "<h1>{}</h1><p>Run <code>{}</code> started {}; journal <code>{}</code>. Result: {}{}.</p>",
        esc(&info.scenario),
        esc(&info.run_id),
        utc(info.started_unix_ms),
        esc(&info.journal.display().to_string()),
        pass_fail(passed),
        if summary.interrupted || info.interrupted {
            " (run interrupted)"
        } else {
            ""
        }
    );
    expectations(&mut out, summary);
    figures(&mut out, summary);
    out.push_str("<h2>Across trials</h2>\n");
    figure(
        &mut out,
        "mttr-distribution",
        chart::mttr_distribution(&summary.trials, summary.aggregate.mttr_p50_ms),
        "MTTR of each trial (outage start → first of K good probes); dashed: the median.",
    );
    figure(
        &mut out,
        "mttr-breakdown",
        chart::breakdown(&summary.trials),
        "Each trial's MTTR in its phases, on a time axis whose zero is the outage start: detect \
         (to the healer's detection; below zero: the healer saw the fault before users did), act \
         (to its first action), platform call (until that call returned), start → first good \
         answer (to the first good probe answer), then confirm (until the K-th good probe \
         answered). Grey: recovered without a healer action.",
    );
    trial_table(&mut out, summary);
    for t in &summary.trials {
        trial_section(&mut out, records, t);
    }
    audit_table(&mut out, records);
    out.push_str("</body></html>\n");
    out
}

pub(crate) fn pass_fail(passed: bool) -> &'static str {
    if passed {
        "<span class=\"pass\">PASS</span>"
    } else {
        "<span class=\"fail\">FAIL</span>"
    }
}

/// A `<figure class="chart">` holding the chart, or the reason it could not be drawn.
pub(crate) fn figure(
    out: &mut String,
    id: &str,
    svg: Result<String, Box<dyn std::error::Error>>,
    caption: &str,
) {
    let body = svg.unwrap_or_else(|e| {
        format!(
            "<p class=\"note\">chart could not be drawn: {}</p>",
            esc(&e.to_string())
        )
    });
    let _ = writeln!(
        out,
        "<figure class=\"chart\" id=\"{}\">{body}<figcaption>{}</figcaption></figure>",
        esc(id),
        esc(caption)
    );
}

fn expectations(out: &mut String, summary: &RunSummary) {
    out.push_str("<h2>Expectations</h2>\n");
    if summary.verdicts.is_empty() {
        out.push_str("<p class=\"note\">The scenario sets no expectations.</p>\n");
        return;
    }
    out.push_str(
        "<table id=\"expectations\"><tr><th>expectation</th><th>result</th><th>detail</th></tr>\n",
    );
    for v in &summary.verdicts {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&v.expectation),
            pass_fail(v.passed),
            esc(&v.detail)
        );
    }
    out.push_str("</table>\n");
}

/// A row per run-wide figure the run has, under its name on its own.
fn figures(out: &mut String, summary: &RunSummary) {
    out.push_str("<h2>Figures</h2>\n<table id=\"figures\">\n");
    for figure in figures::shown(summary).flat_map(|line| line.figures()) {
        if let Some(value) = figure.text(summary) {
            let _ = writeln!(
                out,
                "<tr><th>{}</th><td class=\"n\">{}</td></tr>",
                esc(figure.label),
                esc(&value)
            );
        }
    }
    out.push_str("</table>\n");
}

/// One row per trial with the terminal table's columns and its result, then, when any trial has
/// one, why it failed or what its figures do not say (its notes); what the phase columns mean
/// beneath.
fn trial_table(out: &mut String, summary: &RunSummary) {
    let said: Vec<Vec<String>> = summary
        .trials
        .iter()
        .map(|t| {
            let reason = t.failure_reason.iter().map(|reason| esc(reason));
            let notes = t.notes.iter().map(|note| format!("note: {}", esc(note)));
            reason.chain(notes).collect()
        })
        .collect();
    let any_said = said.iter().any(|s| !s.is_empty());
    out.push_str("<h2>Trials</h2>\n<table id=\"trials\"><tr><th>trial</th>");
    for c in &TRIAL_COLUMNS {
        let _ = write!(out, "<th>{}</th>", esc(c.name));
    }
    out.push_str("<th>result</th>");
    if any_said {
        out.push_str("<th>reason and notes</th>");
    }
    out.push_str("</tr>\n");
    for (t, said) in summary.trials.iter().zip(&said) {
        let _ = write!(
            out,
            "<tr><td class=\"n\"><a href=\"#trial-{0}\">{0}</a></td>",
            t.trial
        );
        for c in &TRIAL_COLUMNS {
            let class = if c.numeric { " class=\"n\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", esc(&c.text(t)));
        }
        let _ = write!(out, "<td>{}</td>", pass_fail(t.success));
        if any_said {
            let _ = write!(out, "<td>{}</td>", said.join("<br>"));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    if summary.trials.iter().any(|t| t.outage) {
        let _ = writeln!(out, "<p class=\"note\">{}.</p>", esc(&PHASES.join("; ")));
    }
}

fn trial_section(out: &mut String, records: &[Record], t: &TrialOutcome) {
    let tl = timeline(records, t.trial, t.recovered_at_ms);
    let _ = writeln!(out, "<h2 id=\"trial-{0}\">Trial {0}</h2>", t.trial);
    figure(
        out,
        &format!("timeline-trial-{}", t.trial),
        over_time_chart::probes(&tl),
        "Latency of the independent prober's requests, each drawn at the time it was sent (log \
         scale; red crosses: failed probes; shaded: downtime, from a failed probe's send to the \
         first good answer after it), with vertical lines where the fault was injected, the \
         healer detected it, each remediation step started and finished, and the target \
         recovered (its first good answer).",
    );
    over_time::section(out, records, &tl);
    load_table(out, &tl.load);
}

fn load_table(out: &mut String, load: &[LoadTotals]) {
    if load.is_empty() {
        out.push_str("<p class=\"note\">No load results recorded for this trial.</p>\n");
        return;
    }
    out.push_str(
        "<p>Load totals over the whole trial (the load generator's final report):</p>\n\
         <table class=\"load\"><tr><th>requests ok</th><th>failed</th>\
         <th>error rate</th><th>rate</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>\n",
    );
    for l in load {
        let error_rate = Amount::Fraction(rate(l.requests_failed, l.requests_ok));
        let _ = writeln!(
            out,
            "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{error_rate}</td>\
             <td class=\"n\">{:.1} req/s</td><td class=\"n\">{:.3} ms</td><td class=\"n\">{:.3} ms</td>\
             <td class=\"n\">{:.3} ms</td><td class=\"n\">{:.3} ms</td></tr>",
            l.requests_ok, l.requests_failed, l.rps, l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms
        );
    }
    out.push_str("</table>\n");
}

fn audit_table(out: &mut String, records: &[Record]) {
    let entries = audit(records);
    out.push_str("<h2>Healer audit</h2>\n");
    if entries.is_empty() {
        out.push_str("<p class=\"note\">The healer recorded no decisions.</p>\n");
        return;
    }
    out.push_str(
        "<table id=\"audit\"><tr><th>trial</th><th>time since run start</th><th>target</th><th>what</th><th>why</th></tr>\n",
    );
    for e in entries {
        let _ = writeln!(
            out,
            "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.trial.map_or_else(|| "-".to_owned(), |t| t.to_string()),
            secs(e.t_ms),
            esc(&e.target),
            esc(&e.what),
            esc(&e.why)
        );
    }
    out.push_str("</table>\n");
}
