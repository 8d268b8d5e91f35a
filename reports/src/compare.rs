//! `sim compare`: the same scenario under several healing strategies, side by side. Per
//! strategy: MTTR p50/p95/max, the p50 of each MTTR phase (detect, act, platform call, start →
//! first good answer), recoveries, downtime, failed requests and OOM kills, as a terminal table
//! and a self-contained HTML page with a chart. Computed from each trial's outcome, which
//! comes from the recorded journals like every other figure.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use journal::Record;
use plotters::prelude::*;

use crate::fmt::{percent, secs};
use crate::markup::esc;
use crate::summary::percentile;
use crate::TrialOutcome;

/// The file `Comparison::write` creates.
pub const COMPARE_HTML: &str = "compare.html";

/// Every trial one strategy ran.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyTrials {
    /// `none`, `docker-restart`, `autoheal`, `embedded`…
    pub strategy: String,
    pub trials: Vec<TrialOutcome>,
    /// The length of each trial (first to last record), milliseconds.
    pub trial_lengths_ms: Vec<f64>,
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
            Mttr::Never { within_ms } => format!("never (within {:.0}s)", within_ms / 1000.0),
        }
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
}

/// The comparison of one scenario under several strategies, in the order they were given.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub scenario: String,
    pub rows: Vec<StrategyRow>,
}

/// The phases' column: their p50s, `-` for one no trial has.
const PHASES_HEADER: &str = "p50 detect/act/platform/start→good";

/// The columns of the comparison, in the terminal table and in the HTML page.
const COLUMNS: [&str; 11] = [
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
];

impl Comparison {
    pub fn new(scenario: &str, strategies: &[StrategyTrials]) -> Comparison {
        Comparison {
            scenario: scenario.to_owned(),
            rows: strategies.iter().map(row).collect(),
        }
    }

    /// The terminal table: one line per strategy.
    pub fn render_table(&self) -> String {
        let header = COLUMNS;
        let rows: Vec<[String; 11]> = self.rows.iter().map(cells).collect();
        let mut widths = header.map(|h| h.chars().count());
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            padded.join("  ").trim_end().to_owned()
        };
        let mut out = format!("sim compare: {}\n", self.scenario);
        out.push_str(&line(header.to_vec()));
        for row in &rows {
            out.push('\n');
            out.push_str(&line(row.iter().map(String::as_str).collect()));
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
             MTTR; their p50s are each over the trials that have the phase.</p>\n<table>\n<tr>",
            scenario = esc(&self.scenario),
        );
        for head in COLUMNS {
            let _ = write!(html, "<th>{head}</th>");
        }
        html.push_str("</tr>\n");
        for row in &self.rows {
            html.push_str("<tr>");
            for cell in cells(row) {
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
    }
}

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

fn cells(row: &StrategyRow) -> [String; 11] {
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
mod tests {
    use super::*;
    use journal::Event;

    /// A trial; one that recovered was healed in phases of 50 + 1 + 300 ms, then the rest.
    fn trial(n: u32, outage: bool, mttr_ms: Option<f64>) -> TrialOutcome {
        let healed = |ms: f64| mttr_ms.map(|_| ms);
        TrialOutcome {
            trial: n,
            success: !outage || mttr_ms.is_some(),
            outage,
            outage_target: outage.then(|| "leaky-0".to_owned()),
            fault_at_ms: Some(3000.0),
            outage_start_ms: outage.then_some(5000.0),
            recovered_at_ms: mttr_ms.map(|m| 5000.0 + m),
            ttd_ms: healed(50.0),
            tta_ms: healed(1.0),
            platform_call_ms: healed(300.0),
            finished_to_recovered_ms: mttr_ms.map(|m| m - 351.0),
            mttr_ms,
            downtime_ms: mttr_ms.unwrap_or(10_000.0),
            requests_ok: 900,
            requests_failed: 100,
            error_rate: Some(0.1),
            oom_kills: u32::from(outage),
            actions: u32::from(mttr_ms.is_some()),
            ..TrialOutcome::default()
        }
    }

    fn comparison() -> Comparison {
        Comparison::new(
            "oom-recovery",
            &[
                StrategyTrials {
                    strategy: "none".into(),
                    trials: vec![trial(1, true, None), trial(2, true, None)],
                    trial_lengths_ms: vec![15_200.0, 15_900.0],
                },
                StrategyTrials {
                    strategy: "embedded".into(),
                    trials: vec![
                        trial(1, true, Some(400.0)),
                        trial(2, true, Some(600.0)),
                        trial(3, false, None),
                    ],
                    trial_lengths_ms: vec![15_000.0; 3],
                },
                StrategyTrials {
                    strategy: "half".into(),
                    trials: vec![trial(1, true, Some(1_000.0)), trial(2, true, None)],
                    trial_lengths_ms: vec![20_000.0; 2],
                },
            ],
        )
    }

    #[test]
    fn rows_count_recoveries_and_rank_never_above_any_recovery() {
        let c = comparison();
        let none = &c.rows[0];
        assert_eq!((none.recovered, none.trials, none.outages), (0, 2, 2));
        assert_eq!(
            none.mttr_p50,
            Mttr::Never {
                within_ms: 15_900.0
            }
        );
        assert_eq!(none.oom_kills, 2);
        assert_eq!(none.requests_failed, 200);
        let embedded = &c.rows[1];
        assert_eq!((embedded.recovered, embedded.outages), (3, 2));
        assert_eq!(embedded.mttr_p50, Mttr::Ms(400.0));
        assert_eq!(embedded.mttr_max, Mttr::Ms(600.0));
        let half = &c.rows[2];
        assert_eq!(half.mttr_p50, Mttr::Ms(1_000.0));
        assert_eq!(
            half.mttr_p95,
            Mttr::Never {
                within_ms: 20_000.0
            }
        );
    }

    #[test]
    fn the_table_says_never_with_the_trial_length_not_a_number() {
        let table = comparison().render_table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "sim compare: oom-recovery");
        assert!(lines[1].starts_with("strategy"), "{table}");
        assert!(lines[2].starts_with("none"), "{table}");
        let columns = |line: &str| {
            line.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(columns(lines[2]), "none 2/2 0/2", "{table}");
        assert!(lines[2].contains("never (within 16s)"), "{table}");
        assert!(lines[3].starts_with("embedded"), "{table}");
        assert!(lines[3].contains("0.400s"), "{table}");
        assert_eq!(columns(lines[3]), "embedded 2/3 3/3", "{table}");
        assert!(lines[3].contains("300 (10%)"), "{table}");
        assert!(lines[4].contains("1.000s") && lines[4].contains("never (within 20s)"));
        // The phases' p50s: over the trials that have each phase; none for a strategy that
        // never acted.
        assert!(
            lines[1].contains("p50 detect/act/platform/start→good"),
            "{table}"
        );
        assert!(lines[2].contains(")  -  "), "{table}");
        assert!(lines[3].contains("0.050/0.001/0.300/0.049s"), "{table}");
        assert!(lines[4].contains("0.050/0.001/0.300/0.649s"), "{table}");
    }

    #[test]
    fn the_html_has_the_table_and_an_svg_chart() {
        let html = comparison().render_html();
        assert!(html.starts_with("<!doctype html>"));
        assert!(
            html.contains("<td class=\"never\">never (within 16s)</td>"),
            "{html}"
        );
        assert!(html.contains("<td>embedded</td>"));
        assert!(html.contains("<svg"), "chart missing");
        assert!(html.contains(">embedded</text>") || html.contains("embedded\n</text>"));
        let dir = tempfile::tempdir().unwrap();
        let path = comparison().write(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(path).unwrap(), html);
    }

    #[test]
    fn trial_lengths_come_from_each_trials_records() {
        let record = |t_ms: f64, trial: Option<u32>, event: Event| Record {
            t_ms,
            unix_ms: 0,
            trial,
            event,
        };
        let records = vec![
            record(0.0, None, Event::TrialStarted),
            record(100.0, Some(1), Event::TrialStarted),
            record(5_100.0, Some(1), Event::TrialEnded { interrupted: false }),
            record(6_000.0, Some(2), Event::TrialStarted),
            record(8_500.0, Some(2), Event::TrialEnded { interrupted: false }),
            record(9_000.0, None, Event::RunEnded { interrupted: false }),
        ];
        assert_eq!(trial_lengths_ms(&records), vec![5_000.0, 2_500.0]);
    }
}
