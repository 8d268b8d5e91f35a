//! The history of every run under a runs root (`<root>/<scenario>/<stamp>-<id>/journal.jsonl`),
//! each recomputed from its journal, and an HTML index with MTTR and success-rate trends per
//! scenario that makes a regression stand out.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::io;
use std::path::{Path, PathBuf};

use crate::chart;
use crate::fmt::{opt_secs, percent};
use crate::html::{figure, pass_fail, CSS};
use crate::markup::{esc, utc};
use crate::percentile;
use crate::report::{load_run, JOURNAL_FILE};

/// The latest run's MTTR p50 above this multiple of the earlier runs' median is a regression.
pub const MTTR_REGRESSION_FACTOR: f64 = 1.5;

/// One run's figures, recomputed from its journal.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFigures {
    pub passed: bool,
    pub trials: u32,
    pub mttr_p50_ms: Option<f64>,
    pub success_rate: Option<f64>,
}

/// One run found under the root.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRun {
    pub scenario: String,
    /// The run's directory, relative to the root (`<scenario>/<stamp>-<id>`).
    pub dir: PathBuf,
    pub run_id: String,
    pub started_unix_ms: u64,
    /// The figures, or why they could not be recomputed.
    pub figures: Result<RunFigures, String>,
}

/// Why a scenario's latest run is a regression.
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    pub mttr: bool,
    pub success_rate: bool,
}

/// Every run under a runs root, oldest first within each scenario.
#[derive(Debug, Clone)]
pub struct History {
    root: PathBuf,
    runs: Vec<HistoryRun>,
}

impl History {
    /// Finds `<root>/<scenario>/<run>/journal.jsonl` for every run and recomputes its figures.
    /// A run whose figures cannot be recomputed is kept, with the reason.
    pub fn load(root: &Path) -> io::Result<History> {
        let mut runs = Vec::new();
        for scenario in sorted_dirs(root)? {
            for run_dir in sorted_dirs(&scenario)? {
                if !run_dir.join(JOURNAL_FILE).is_file() {
                    continue;
                }
                runs.push(history_run(root, &scenario, &run_dir));
            }
        }
        runs.sort_by(|a, b| {
            (&a.scenario, a.started_unix_ms, &a.dir).cmp(&(&b.scenario, b.started_unix_ms, &b.dir))
        });
        Ok(History {
            root: root.to_owned(),
            runs,
        })
    }

    /// Every run, by scenario, oldest first.
    pub fn runs(&self) -> &[HistoryRun] {
        &self.runs
    }

    /// The runs of each scenario, oldest first.
    fn by_scenario(&self) -> BTreeMap<&str, Vec<&HistoryRun>> {
        let mut map: BTreeMap<&str, Vec<&HistoryRun>> = BTreeMap::new();
        for run in &self.runs {
            map.entry(run.scenario.as_str()).or_default().push(run);
        }
        map
    }

    /// Whether the latest run of `scenario` regressed against the earlier runs with figures:
    /// its MTTR p50 is above [`MTTR_REGRESSION_FACTOR`] × the median of theirs, or its success
    /// rate is below the median of theirs (medians by nearest rank). `None` without an earlier run.
    pub fn regression(&self, scenario: &str) -> Option<Regression> {
        let figures: Vec<&RunFigures> = self
            .runs
            .iter()
            .filter(|r| r.scenario == scenario)
            .filter_map(|r| r.figures.as_ref().ok())
            .collect();
        let (latest, earlier) = figures.split_last()?;
        if earlier.is_empty() {
            return None;
        }
        let median = |f: fn(&RunFigures) -> Option<f64>| {
            percentile(earlier.iter().filter_map(|r| f(r)).collect(), 50.0)
        };
        let mttr = matches!(
            (latest.mttr_p50_ms, median(|r| r.mttr_p50_ms)),
            (Some(now), Some(before)) if now > MTTR_REGRESSION_FACTOR * before
        );
        let success_rate = matches!(
            (latest.success_rate, median(|r| r.success_rate)),
            (Some(now), Some(before)) if now < before
        );
        Some(Regression { mttr, success_rate })
    }

    /// The HTML index: per scenario, MTTR p50 and success-rate trends and a table of runs linking
    /// to each run's `report.html` (links relative to the root, where the index is written).
    pub fn render_index(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>sim run history</title><style>{CSS}</style></head><body>\n\
             <h1>Run history</h1><p>{} run(s) under <code>{}</code>, figures recomputed from each \
             run's journal.</p>\n",
            self.runs.len(),
            esc(&self.root.display().to_string())
        );
        if self.runs.is_empty() {
            out.push_str("<p class=\"note\">No runs found.</p>\n");
        }
        for (scenario, runs) in self.by_scenario() {
            self.scenario_section(&mut out, scenario, &runs);
        }
        out.push_str("</body></html>\n");
        out
    }

    fn scenario_section(&self, out: &mut String, scenario: &str, runs: &[&HistoryRun]) {
        let regression = self.regression(scenario);
        let flagged = regression
            .as_ref()
            .is_some_and(|r| r.mttr || r.success_rate);
        let id = slug(scenario);
        let _ = writeln!(out, "<h2 id=\"scenario-{id}\">{}</h2>", esc(scenario));
        if let Some(r) = regression.as_ref().filter(|_| flagged) {
            let mut what = Vec::new();
            if r.mttr {
                what.push(format!(
                    "MTTR p50 is more than {MTTR_REGRESSION_FACTOR}× the median of earlier runs"
                ));
            }
            if r.success_rate {
                what.push("success rate is below the median of earlier runs".to_owned());
            }
            let _ = writeln!(
                out,
                "<p class=\"fail regression\">Regression in the latest run: {}.</p>",
                esc(&what.join("; "))
            );
        }
        let fig = |f: fn(&RunFigures) -> Option<f64>| -> Vec<Option<f64>> {
            runs.iter()
                .map(|r| r.figures.as_ref().ok().and_then(f))
                .collect()
        };
        let mttr: Vec<Option<f64>> = fig(|f| f.mttr_p50_ms.map(|m| m / 1000.0));
        let success: Vec<Option<f64>> = fig(|f| f.success_rate.map(|s| s * 100.0));
        figure(
            out,
            &format!("mttr-trend-{id}"),
            chart::trend(
                "MTTR p50 per run",
                "MTTR p50 (s)",
                &mttr,
                None,
                regression.as_ref().is_some_and(|r| r.mttr),
            ),
            "MTTR p50 of each run, oldest first.",
        );
        figure(
            out,
            &format!("success-trend-{id}"),
            chart::trend(
                "Success rate per run",
                "successful trials (%)",
                &success,
                Some(105.0),
                regression.as_ref().is_some_and(|r| r.success_rate),
            ),
            "Share of successful trials of each run, oldest first.",
        );
        out.push_str(
            "<table class=\"runs\"><tr><th>#</th><th>started</th><th>run</th><th>trials</th>\
             <th>MTTR p50</th><th>success rate</th><th>result</th></tr>\n",
        );
        let last = runs.len().saturating_sub(1);
        for (i, run) in runs.iter().enumerate() {
            let class = if i == last && flagged {
                " class=\"regression\""
            } else {
                ""
            };
            let link = run.dir.join("report.html");
            let cells = match &run.figures {
                Ok(f) => format!(
                    "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td>",
                    f.trials,
                    opt_secs(f.mttr_p50_ms),
                    f.success_rate.map_or_else(|| "-".to_owned(), percent),
                    pass_fail(f.passed)
                ),
                Err(why) => format!("<td colspan=\"4\" class=\"note\">{}</td>", esc(why)),
            };
            let _ = writeln!(
                out,
                "<tr{class}><td class=\"n\">{}</td><td>{}</td><td><a href=\"{}\">{}</a></td>{cells}</tr>",
                i + 1,
                utc(run.started_unix_ms),
                esc(&link.to_string_lossy()),
                esc(&run.run_id)
            );
        }
        out.push_str("</table>\n");
    }

    /// Writes the index to `<root>/index.html` and returns its path.
    pub fn write_index(&self) -> io::Result<PathBuf> {
        let path = self.root.join("index.html");
        std::fs::write(&path, self.render_index())?;
        Ok(path)
    }
}

/// The subdirectories of `dir`, sorted by name.
fn sorted_dirs(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            dirs.push(entry.path());
        }
    }
    dirs.sort();
    Ok(dirs)
}

fn history_run(root: &Path, scenario_dir: &Path, run_dir: &Path) -> HistoryRun {
    let name = |p: &Path| {
        p.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    };
    let dir = run_dir.strip_prefix(root).unwrap_or(run_dir).to_owned();
    let fallback_id = name(run_dir)
        .rsplit_once('-')
        .map_or_else(|| name(run_dir), |(_, id)| id.to_owned());
    match load_run(run_dir) {
        Ok((_, summary, info)) => HistoryRun {
            scenario: info.scenario,
            dir,
            run_id: info.run_id,
            started_unix_ms: info.started_unix_ms,
            figures: Ok(RunFigures {
                passed: summary.passed() && !info.interrupted,
                trials: summary.aggregate.trials,
                mttr_p50_ms: summary.aggregate.mttr_p50_ms,
                success_rate: summary.aggregate.success_rate,
            }),
        },
        Err(e) => HistoryRun {
            scenario: name(scenario_dir),
            dir,
            run_id: fallback_id,
            started_unix_ms: first_unix_ms(run_dir).unwrap_or(0),
            figures: Err(e.to_string()),
        },
    }
}

/// The wall-clock time of the journal's first record, when it can be read.
fn first_unix_ms(run_dir: &Path) -> Option<u64> {
    let records = journal::read_journal(&run_dir.join(JOURNAL_FILE)).ok()?;
    records.first().map(|r| r.unix_ms)
}

/// `text` reduced to `[a-z0-9-]`, for element ids.
fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}
