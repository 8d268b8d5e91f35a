//! `sim compare`: the same scenario under several healing strategies, side by side. Per
//! strategy: MTTR p50/p95/max, the p50 of each MTTR phase (detect, act, platform call, start →
//! first good answer), recoveries, downtime, failed requests, OOM kills, actions, false
//! positives and the Agent API's refused calls and errors, as a terminal table and a
//! self-contained HTML page with a chart. When the `floor` strategy (a bare Docker
//! `start` on every `die`) is among them, each strategy's MTTR p50 is also shown as a multiple
//! of the floor's. Computed from each trial's outcome, which comes from the recorded journals
//! like every other figure.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use journal::{Event, Record};
use plotters::prelude::*;

use crate::fmt::{percent, secs};
use crate::markup::esc;
use crate::summary::percentile;
use crate::TrialOutcome;

/// The file `Comparison::write` creates.
pub const COMPARE_HTML: &str = "compare.html";

/// The strategy the others are measured against: the physical floor of a restart-based heal.
pub const FLOOR: &str = "floor";

/// Every trial one strategy ran.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyTrials {
    /// `none`, `docker-restart`, `autoheal`, `embedded`…
    pub strategy: String,
    pub trials: Vec<TrialOutcome>,
    /// The length of each trial (first to last record), milliseconds.
    pub trial_lengths_ms: Vec<f64>,
    /// How long its trials could observe past the load's planned end (`--observe-up-to`), as
    /// `run_started` recorded it; `None`: they ended with their load.
    pub observe_up_to_ms: Option<f64>,
}

/// A time to recover as the comparison shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mttr {
    /// No trial of the strategy had an outage.
    NoOutage,
    /// Recovered after this many milliseconds.
    Ms(f64),
    /// Not recovered by the end of the trial, which lasted `within_ms`.
    Never { within_ms: f64 },
}

impl Mttr {
    fn render(self) -> String {
        match self {
            Mttr::NoOutage => "no outage".to_owned(),
            Mttr::Ms(ms) => secs(ms),
            Mttr::Never { within_ms } => format!("never (within {})", span(within_ms)),
        }
    }

    /// This MTTR as a multiple of `floor`'s: `3.40×`; `never` for an outage that never ended;
    /// `-` when either has no time.
    fn to_floor(self, floor: Mttr) -> String {
        match (self, floor) {
            (Mttr::Ms(ms), Mttr::Ms(floor)) if floor > 0.0 => times(ms / floor),
            (Mttr::Never { .. }, Mttr::Ms(_)) => "never".to_owned(),
            _ => "-".to_owned(),
        }
    }
}

/// A trial's length, rounded to the second: `16s`, `3m05s`.
fn span(ms: f64) -> String {
    let secs = (ms / 1000.0).round() as u64;
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

/// A ratio with three significant figures or so: `1.15×`, `34.0×`, `257×`.
fn times(ratio: f64) -> String {
    if ratio < 10.0 {
        format!("{ratio:.2}×")
    } else if ratio < 100.0 {
        format!("{ratio:.1}×")
    } else {
        format!("{ratio:.0}×")
    }
}

/// One strategy's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyRow {
    pub strategy: String,
    pub trials: u32,
    /// Trials with an outage.
    pub outages: u32,
    /// Trials that ended healthy: their outage recovered, or they had none.
    pub recovered: u32,
    /// Nearest-rank percentiles over the trials with an outage, an unrecovered outage counting
    /// as longer than any recovery: a p95 that lands on one is "never".
    pub mttr_p50: Mttr,
    pub mttr_p95: Mttr,
    pub mttr_max: Mttr,
    /// Nearest-rank p50 of each MTTR phase over the trials that have it: detect (TTD), act
    /// (TTA), platform call, and start → first good answer.
    pub phases_p50_ms: [Option<f64>; 4],
    pub downtime_ms: f64,
    pub requests_ok: u64,
    pub requests_failed: u64,
    pub oom_kills: u32,
    /// Remediation steps taken (the healer's or the autoheal poller's).
    pub actions: u32,
    /// Actions on targets that had shown nothing wrong.
    pub false_positives: u32,
    /// Agent API calls, those refused (403), and those answered with another error.
    pub agent_calls: u32,
    pub refused_calls: u32,
    pub api_errors: u32,
}

/// The comparison of one scenario under several strategies, in the order they were given.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub scenario: String,
    pub rows: Vec<StrategyRow>,
    /// The `floor` strategy's MTTR p50, when it is among the strategies: the column
    /// [`TO_FLOOR_HEADER`] shows every strategy's p50 as a multiple of it.
    pub floor_p50: Option<Mttr>,
    /// The longest any trial could observe past its load's planned end (`--observe-up-to`).
    pub observe_up_to_ms: Option<f64>,
}

/// The phases' column: their p50s, `-` for one no trial has.
const PHASES_HEADER: &str = "p50 detect/act/platform/start→good";

/// The column of the MTTR p50 as a multiple of the floor's, when `floor` is compared.
pub const TO_FLOOR_HEADER: &str = "MTTR p50 / floor";

/// The columns of the comparison, in the terminal table and in the HTML page, without the
/// floor's column (which follows "MTTR p50" when `floor` is compared).
const COLUMNS: [&str; 13] = [
    "strategy",
    "outages",
    "recovered",
    "MTTR p50",
    "MTTR p95",
    "MTTR max",
    PHASES_HEADER,
    "downtime",
    "failed requests",
    "OOM kills",
    "actions",
    "false positives",
    AGENT_API_HEADER,
];

/// The Agent API's column: refused calls / other errors, `-` for a strategy that made no call.
const AGENT_API_HEADER: &str = "API refused/errors";

impl Comparison {
    pub fn new(scenario: &str, strategies: &[StrategyTrials]) -> Comparison {
        let rows: Vec<StrategyRow> = strategies.iter().map(row).collect();
        Comparison {
            scenario: scenario.to_owned(),
            floor_p50: rows
                .iter()
                .find(|r| r.strategy == FLOOR)
                .map(|r| r.mttr_p50),
            rows,
            observe_up_to_ms: strategies
                .iter()
                .filter_map(|s| s.observe_up_to_ms)
                .reduce(f64::max),
        }
    }

    /// The column headings, with the floor's column when `floor` was compared.
    fn columns(&self) -> Vec<&'static str> {
        let mut columns = COLUMNS.to_vec();
        if self.floor_p50.is_some() {
            columns.insert(TO_FLOOR_AT, TO_FLOOR_HEADER);
        }
        columns
    }

    /// A row's cells, under [`Comparison::columns`].
    fn cells(&self, row: &StrategyRow) -> Vec<String> {
        let mut cells = cells(row).to_vec();
        if let Some(floor) = self.floor_p50 {
            cells.insert(TO_FLOOR_AT, row.mttr_p50.to_floor(floor));
        }
        cells
    }

    /// How long trials went on past their load, when they could: one sentence.
    fn observation(&self) -> Option<String> {
        self.observe_up_to_ms.map(|ms| {
            format!(
                "Each trial kept its load running and went on observing up to {} past the \
                 load's planned end, until every outage had recovered.",
                span(ms)
            )
        })
    }

    /// The terminal table: one line per strategy.
    pub fn render_table(&self) -> String {
        let header = self.columns();
        let rows: Vec<Vec<String>> = self.rows.iter().map(|r| self.cells(r)).collect();
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            padded.join("  ").trim_end().to_owned()
        };
        let mut out = format!("sim compare: {}\n", self.scenario);
        out.push_str(&line(header.clone()));
        for row in &rows {
            out.push('\n');
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        if let Some(observation) = self.observation() {
            out.push('\n');
            out.push_str(&observation);
        }
        out
    }

    /// A self-contained HTML page: the table and a chart of MTTR per strategy.
    pub fn render_html(&self) -> String {
        let chart = mttr_chart(&self.rows).unwrap_or_else(|e| {
            format!(
                "<p>(the chart could not be drawn: {})</p>",
                esc(&e.to_string())
            )
        });
        let mut html = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>sim compare: {scenario}</title><style>\
             body{{font-family:sans-serif;margin:2em;max-width:1100px}}\
             table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}\
             .never{{color:#c00;font-weight:bold}}</style></head><body>\n\
             <h1>sim compare: {scenario}</h1>\n<p>The same scenario, load and faults under each \
             healing strategy. Recovered: trials that ended healthy (their outage recovered, or they had \
             none). MTTR: outage start to the first of K good probes in a row (by send time); \
             \"never (within D)\": the outage had not ended when the trial, D long, did. The \
             phases (detect, act, platform call, start → first good answer) add up to a trial's \
             MTTR; their p50s are each over the trials that have the phase.{floor}</p>\n{observation}\
             <table>\n<tr>",
            scenario = esc(&self.scenario),
            floor = if self.floor_p50.is_some() {
                " MTTR p50 / floor: the strategy's MTTR p50 as a multiple of the floor's, the \
                 Docker API <code>start</code> called on a target the moment its <code>die</code> \
                 event arrives (no runbook, no verification): the fastest a restart can heal on \
                 this machine, measured in the same run."
            } else {
                ""
            },
            observation = self
                .observation()
                .map(|o| format!("<p>{}</p>\n", esc(&o)))
                .unwrap_or_default(),
        );
        for head in self.columns() {
            let _ = write!(html, "<th>{head}</th>");
        }
        html.push_str("</tr>\n");
        for row in &self.rows {
            html.push_str("<tr>");
            for cell in self.cells(row) {
                let class = if cell.starts_with("never") {
                    " class=\"never\""
                } else {
                    ""
                };
                let _ = write!(html, "<td{class}>{}</td>", esc(&cell));
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</table>\n");
        html.push_str(&chart);
        html.push_str("\n</body></html>\n");
        html
    }

    /// Writes `compare.html` into `dir` and returns its path.
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = dir.join(COMPARE_HTML);
        std::fs::write(&path, self.render_html())?;
        Ok(path)
    }
}

/// How long the run's trials could observe past their load's planned end, as its
/// `run_started` recorded it (`--observe-up-to`).
pub fn observe_up_to_ms(records: &[Record]) -> Option<f64> {
    records.iter().find_map(|record| match &record.event {
        Event::RunStarted {
            setup: Some(setup), ..
        } => setup.observe_up_to_ms,
        _ => None,
    })
}

/// The length of each trial in `records`, first record to last, in trial order.
pub fn trial_lengths_ms(records: &[Record]) -> Vec<f64> {
    let mut spans: Vec<(u32, f64, f64)> = Vec::new();
    for record in records {
        let Some(trial) = record.trial else { continue };
        match spans.iter_mut().find(|(t, _, _)| *t == trial) {
            Some(span) => span.2 = span.2.max(record.t_ms),
            None => spans.push((trial, record.t_ms, record.t_ms)),
        }
    }
    spans.sort_by_key(|(t, _, _)| *t);
    spans.into_iter().map(|(_, from, to)| to - from).collect()
}

fn row(runs: &StrategyTrials) -> StrategyRow {
    let trials = &runs.trials;
    let within_ms = runs.trial_lengths_ms.iter().copied().fold(0.0, f64::max);
    // Unrecovered outages rank above every recovery.
    let mttrs: Vec<f64> = trials
        .iter()
        .filter(|t| t.outage)
        .map(|t| t.mttr_ms.unwrap_or(f64::INFINITY))
        .collect();
    let at = |p: f64| match percentile(mttrs.clone(), p) {
        None => Mttr::NoOutage,
        Some(ms) if ms.is_finite() => Mttr::Ms(ms),
        Some(_) => Mttr::Never { within_ms },
    };
    let count = |f: fn(&TrialOutcome) -> bool| trials.iter().filter(|t| f(t)).count() as u32;
    let p50 = |f: fn(&TrialOutcome) -> Option<f64>| {
        percentile(trials.iter().filter_map(f).collect(), 50.0)
    };
    StrategyRow {
        strategy: runs.strategy.clone(),
        trials: trials.len() as u32,
        outages: count(|t| t.outage),
        recovered: count(|t| !t.outage || t.recovered_at_ms.is_some()),
        mttr_p50: at(50.0),
        mttr_p95: at(95.0),
        mttr_max: at(100.0),
        phases_p50_ms: [
            p50(|t| t.ttd_ms),
            p50(|t| t.tta_ms),
            p50(|t| t.platform_call_ms),
            p50(|t| t.finished_to_recovered_ms),
        ],
        downtime_ms: trials.iter().map(|t| t.downtime_ms).sum(),
        requests_ok: trials.iter().map(|t| t.requests_ok).sum(),
        requests_failed: trials.iter().map(|t| t.requests_failed).sum(),
        oom_kills: trials.iter().map(|t| t.oom_kills).sum(),
        actions: trials.iter().map(|t| t.actions).sum(),
        false_positives: trials.iter().map(|t| t.false_positives).sum(),
        agent_calls: trials.iter().map(|t| t.agent_calls).sum(),
        refused_calls: trials.iter().map(|t| t.refused_calls).sum(),
        api_errors: trials.iter().map(|t| t.api_errors).sum(),
    }
}

/// Where the floor's column goes: right after "MTTR p50".
const TO_FLOOR_AT: usize = 4;

/// `0.003/0.000/0.411/0.750s`: the phases' p50s in seconds; `-` when no trial has any.
fn phases_cell(phases: &[Option<f64>; 4]) -> String {
    if phases.iter().all(Option::is_none) {
        return "-".to_owned();
    }
    let parts: Vec<String> = phases
        .iter()
        .map(|p| p.map_or_else(|| "-".to_owned(), |ms| format!("{:.3}", ms / 1000.0)))
        .collect();
    format!("{}s", parts.join("/"))
}

fn cells(row: &StrategyRow) -> [String; 13] {
    let total = row.requests_ok + row.requests_failed;
    let failed = if total == 0 {
        "0".to_owned()
    } else {
        format!(
            "{} ({})",
            row.requests_failed,
            percent(row.requests_failed as f64 / total as f64)
        )
    };
    [
        row.strategy.clone(),
        format!("{}/{}", row.outages, row.trials),
        format!("{}/{}", row.recovered, row.trials),
        row.mttr_p50.render(),
        row.mttr_p95.render(),
        row.mttr_max.render(),
        phases_cell(&row.phases_p50_ms),
        secs(row.downtime_ms),
        failed,
        row.oom_kills.to_string(),
        row.actions.to_string(),
        row.false_positives.to_string(),
        if row.agent_calls == 0 {
            "-".to_owned()
        } else {
            format!("{}/{}", row.refused_calls, row.api_errors)
        },
    ]
}

const GREEN: RGBColor = RGBColor(0, 140, 70);
const RED: RGBColor = RGBColor(220, 40, 40);

/// MTTR p50 per strategy as bars (p95 as a thin bar beside it); a "never" reaches the trial's
/// length in red and says so.
fn mttr_chart(rows: &[StrategyRow]) -> Result<String, Box<dyn Error>> {
    let height = |m: Mttr| match m {
        Mttr::NoOutage => 0.0,
        Mttr::Ms(ms) => ms / 1000.0,
        Mttr::Never { within_ms } => within_ms / 1000.0,
    };
    let top = rows
        .iter()
        .flat_map(|r| [height(r.mttr_p50), height(r.mttr_p95)])
        .fold(0.1_f64, f64::max)
        * 1.25;
    let n = rows.len().max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 380)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "MTTR by strategy (p50 wide, p95 narrow)",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.5..n as f64 + 0.5, 0.0..top)?;
        let names: Vec<String> = rows.iter().map(|r| r.strategy.clone()).collect();
        let label = move |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-9 && i >= 1.0 {
                names.get(i as usize - 1).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .x_desc("strategy")
            .y_desc("MTTR (s)")
            .x_labels(n)
            .x_label_formatter(&label)
            .disable_x_mesh()
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for (i, row) in rows.iter().enumerate() {
            let x = (i + 1) as f64;
            for (m, from, to) in [(row.mttr_p50, -0.3, 0.1), (row.mttr_p95, 0.12, 0.3)] {
                let color = if matches!(m, Mttr::Never { .. }) {
                    RED
                } else {
                    GREEN
                };
                let h = height(m);
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x + from, 0.0), (x + to, h)],
                    color.mix(0.8).filled(),
                )))?;
            }
            chart.draw_series(std::iter::once(Text::new(
                row.mttr_p50.render(),
                (x - 0.3, height(row.mttr_p50) + top * 0.04),
                ("sans-serif", 13),
            )))?;
        }
        root.present()?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests;
