//! Writing every report file of a run (`result.json`, `report.html`, `junit.xml`, `summary.md`),
//! and regenerating them from the run's journal alone (or, for a journal older than
//! `run_started.setup`, with the K and expectations of its previous `result.json`).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use journal::{Event, Record, RunSetup};

use crate::{
    render_html, render_junit, render_markdown, summarize, write_result_json, Expectations,
    ResultFile, RunInfo, RunSummary, Verdict,
};

/// The journal's file name inside a run directory.
pub const JOURNAL_FILE: &str = "journal.jsonl";
/// `result.json`'s file name inside a run directory.
pub const RESULT_FILE: &str = "result.json";

/// Where [`write_reports`] put each file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPaths {
    pub result_json: PathBuf,
    pub report_html: PathBuf,
    pub junit_xml: PathBuf,
    pub summary_md: PathBuf,
}

/// A run recomputed from its journal, and where its reports were written.
#[derive(Debug, Clone)]
pub struct Regenerated {
    pub summary: RunSummary,
    pub info: RunInfo,
    pub paths: ReportPaths,
}

/// Writes `result.json`, `report.html`, `junit.xml` and `summary.md` into `run_dir`. Each file is
/// written beside its final name and renamed over it, so a reader never sees half a file.
pub fn write_reports(
    run_dir: &Path,
    records: &[Record],
    summary: &RunSummary,
    info: &RunInfo,
) -> io::Result<ReportPaths> {
    let paths = ReportPaths {
        result_json: run_dir.join(RESULT_FILE),
        report_html: run_dir.join("report.html"),
        junit_xml: run_dir.join("junit.xml"),
        summary_md: run_dir.join("summary.md"),
    };
    write_result_json(summary, info, &paths.result_json)?;
    write_atomic(&paths.report_html, &render_html(records, summary, info))?;
    write_atomic(&paths.junit_xml, &render_junit(summary, info))?;
    write_atomic(&paths.summary_md, &render_markdown(summary, info))?;
    Ok(paths)
}

/// Re-reads `run_dir/journal.jsonl`, recomputes the run's figures and verdicts, and rewrites all
/// of its reports from the journal alone: K (`healthy_after`) and the expectations come from
/// `run_started`'s `setup`, the start time from that record's `unix_ms`, and `interrupted` from
/// `run_ended` (a journal without one was cut off: interrupted). A journal written before `setup`
/// existed does not hold K and the expectations: they are then read from the run's existing
/// `result.json`, which must exist.
pub fn regenerate(run_dir: &Path) -> io::Result<Regenerated> {
    let (records, summary, info) = load_run(run_dir)?;
    let paths = write_reports(run_dir, &records, &summary, &info)?;
    Ok(Regenerated {
        summary,
        info,
        paths,
    })
}

/// The journal of the run in `run_dir`, its recomputed summary and its run facts.
pub(crate) fn load_run(run_dir: &Path) -> io::Result<(Vec<Record>, RunSummary, RunInfo)> {
    let journal = run_dir.join(JOURNAL_FILE);
    let records = journal::read_journal(&journal)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    let started = records.iter().find_map(|r| match &r.event {
        Event::RunStarted {
            run_id,
            scenario,
            setup,
            ..
        } => Some((r, run_id, scenario, setup.as_ref())),
        _ => None,
    });
    if let Some((record, run_id, scenario, Some(setup))) = started {
        let expect = recorded_expectations(setup, &journal)?;
        let summary = summarize(&records, setup.healthy_after, &expect);
        let interrupted = records
            .iter()
            .rev()
            .find_map(|r| match r.event {
                Event::RunEnded { interrupted } => Some(interrupted),
                _ => None,
            })
            .unwrap_or(true);
        let info = RunInfo {
            run_id: run_id.clone(),
            scenario: scenario.clone(),
            journal,
            started_unix_ms: record.unix_ms,
            interrupted,
        };
        return Ok((records, summary, info));
    }
    let ids = started.map(|(_, run_id, scenario, _)| (run_id.clone(), scenario.clone()));
    from_previous_result(run_dir, records, ids, journal)
}

/// The expectations `run_started` recorded, as this crate wrote them.
fn recorded_expectations(setup: &RunSetup, journal: &Path) -> io::Result<Expectations> {
    serde_json::from_value(setup.expect.clone()).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: run_started.setup.expect is not a set of expectations: {e}",
                journal.display()
            ),
        )
    })
}

/// For a journal without `setup`: K, the expectations and the start time from the run's
/// previous `result.json`.
fn from_previous_result(
    run_dir: &Path,
    records: Vec<Record>,
    ids: Option<(String, String)>,
    journal: PathBuf,
) -> io::Result<(Vec<Record>, RunSummary, RunInfo)> {
    let result_path = run_dir.join(RESULT_FILE);
    let text = std::fs::read_to_string(&result_path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot read {}: {e} (the journal predates run_started.setup, so K and the \
                 expectations are only in result.json)",
                result_path.display()
            ),
        )
    })?;
    let previous: ResultFile = serde_json::from_str(&text).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a result.json: {e}", result_path.display()),
        )
    })?;
    let expect = if previous.expect == Expectations::default() {
        expectations_from_verdicts(&previous.verdicts)
    } else {
        previous.expect.clone()
    };
    let summary = summarize(&records, previous.summary.healthy_after, &expect);
    let (run_id, scenario) = ids.unwrap_or((previous.run.run_id, previous.run.scenario));
    let info = RunInfo {
        run_id,
        scenario,
        journal,
        started_unix_ms: previous.run.started_unix_ms,
        interrupted: previous.run.interrupted,
    };
    Ok((records, summary, info))
}

/// The expectations behind verdicts written by this crate (`recovered_within 10s`,
/// `max_error_rate 10%`, `min_success_rate 100%`), for `result.json` files written before they
/// carried their expectations. Labels it does not know are skipped.
fn expectations_from_verdicts(verdicts: &[Verdict]) -> Expectations {
    let mut expect = Expectations::default();
    for v in verdicts {
        let Some((name, value)) = v.expectation.split_once(' ') else {
            continue;
        };
        let percent = || Some(value.strip_suffix('%')?.parse::<f64>().ok()? / 100.0);
        let seconds = || {
            let secs = value.strip_suffix('s')?.parse::<f64>().ok()?;
            Duration::try_from_secs_f64(secs).ok()
        };
        match name {
            "recovered_within" => expect.recovered_within = seconds(),
            "max_error_rate" => expect.max_error_rate = percent(),
            "min_success_rate" => expect.min_success_rate = percent(),
            "max_oom_kills" => expect.max_oom_kills = value.parse().ok(),
            "escalations" => expect.escalations = value.parse().ok(),
            "healed" => expect.healed = value.parse().ok(),
            "max_p99_latency" => expect.max_p99_latency = seconds(),
            _ => {}
        }
    }
    expect
}

fn write_atomic(path: &Path, text: &str) -> io::Result<()> {
    write_atomic_with(path, |file| file.write_all(text.as_bytes()))
}

/// Writes `path` through a temporary file beside it, which `write` fills and which is then renamed
/// over `path`, so a reader never sees half a file; on any failure the temporary file is removed.
/// It is created with the mode `fs::write` would give (0o666 less the umask), not tempfile's
/// owner-only 0o600.
pub(crate) fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(path.parent().unwrap_or(Path::new(".")))?;
    write(tmp.as_file_mut())?;
    tmp.persist(path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_come_back_from_verdict_labels() {
        let verdict = |label: &str| Verdict {
            expectation: label.to_owned(),
            passed: true,
            detail: String::new(),
        };
        let expect = expectations_from_verdicts(&[
            verdict("recovered_within 1.5s"),
            verdict("max_error_rate 12.5%"),
            verdict("min_success_rate 100%"),
            verdict("healed false"),
            verdict("max_p99_latency 0.6s"),
            verdict("something_else 3"),
        ]);
        assert_eq!(expect.healed, Some(false));
        assert_eq!(expect.max_p99_latency, Some(Duration::from_millis(600)));
        assert_eq!(expect.recovered_within, Some(Duration::from_millis(1500)));
        assert_eq!(expect.max_error_rate, Some(0.125));
        assert_eq!(expect.min_success_rate, Some(1.0));
    }
}
