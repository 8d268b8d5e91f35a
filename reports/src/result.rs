//! `result.json`: the machine-readable result of a run, for CI and for aggregating runs.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::report::write_atomic_with;
use crate::summary::{Aggregate, RunSummary};
use crate::{Expectations, TrialOutcome, Verdict};

/// The version of the `result.json` layout. Bumped on any incompatible change: 2 measures probes
/// by send time, counts only verified heals, and adds the MTTR breakdown's phases, `unverified`
/// and `notes`.
pub const SCHEMA_VERSION: u32 = 2;

/// Facts about the run that the journal's figures do not carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub run_id: String,
    pub scenario: String,
    /// The journal the figures were computed from.
    pub journal: PathBuf,
    /// When the run started, milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    pub interrupted: bool,
}

/// The layout of `result.json`:
/// `{"schema_version": 2, "run": {...}, "summary": {...}, "trials": [...], "expect": {...},
/// "verdicts": [...]}`, described by the JSON Schema `reports/schema/result.schema.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultFile {
    pub schema_version: u32,
    pub run: RunInfo,
    pub summary: ResultSummary,
    pub trials: Vec<TrialOutcome>,
    /// The expectations the verdicts were computed against, so a report can be regenerated from
    /// the journal alone. Absent in files written before it existed: then it reads as empty.
    #[serde(default)]
    pub expect: Expectations,
    pub verdicts: Vec<Verdict>,
}

/// The `summary` object: the overall result, then the run-wide figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultSummary {
    /// Not interrupted and every expectation passed.
    pub passed: bool,
    /// The journal or the runner says the run was interrupted.
    pub interrupted: bool,
    /// K, the consecutive ok probes that end an outage.
    pub healthy_after: u32,
    #[serde(flatten)]
    pub figures: Aggregate,
}

impl ResultFile {
    /// The result of `summary` for the run described by `run`. The run counts as interrupted
    /// (and failed) when either the journal or `run` says so.
    pub fn new(summary: &RunSummary, run: &RunInfo) -> ResultFile {
        let interrupted = summary.interrupted || run.interrupted;
        ResultFile {
            schema_version: SCHEMA_VERSION,
            run: run.clone(),
            summary: ResultSummary {
                passed: summary.passed() && !interrupted,
                interrupted,
                healthy_after: summary.healthy_after,
                figures: summary.aggregate.clone(),
            },
            trials: summary.trials.clone(),
            expect: summary.expect.clone(),
            verdicts: summary.verdicts.clone(),
        }
    }
}

/// Writes `result.json` for `summary` to `path`. The file is written beside `path` first and
/// then renamed over it, so a reader never sees half a file.
pub fn write_result_json(summary: &RunSummary, run: &RunInfo, path: &Path) -> io::Result<()> {
    let result = ResultFile::new(summary, run);
    write_atomic_with(path, |file| {
        let mut out = BufWriter::new(file);
        serde_json::to_writer_pretty(&mut out, &result).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    })
}
