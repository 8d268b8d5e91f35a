//! `result.json`: the machine-readable result of a run, for CI and for aggregating runs.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use schemars::{JsonSchema, Schema};
use serde::{Deserialize, Serialize};

use crate::report::write_atomic_with;
use crate::summary::{Aggregate, RunSummary};
use crate::{Expectations, TrialOutcome, Verdict};

/// The version of the `result.json` layout. Bumped on any incompatible change: 2 measures probes
/// by send time, counts only verified heals, and adds the MTTR breakdown's phases, `unverified`
/// and `notes`.
pub const SCHEMA_VERSION: u32 = 2;

/// The `$id` of the `result.json` schema of [`SCHEMA_VERSION`] (bumped with it, as is the title
/// in [`ResultFile`]'s doc).
const SCHEMA_ID: &str = "https://sim.invalid/schema/result/2";

/// Facts about the run that the journal's figures do not carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RunInfo {
    /// The run's id (8 hex digits).
    pub run_id: String,
    /// The scenario's name.
    pub scenario: String,
    /// The journal the figures were computed from.
    pub journal: PathBuf,
    /// When the run started, milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    /// The runner says the run was interrupted (Ctrl-C/SIGTERM).
    pub interrupted: bool,
}

/// # sim result.json, schema version 2
///
/// The machine-readable result of one `sim run`, written to <run dir>/result.json and
/// recomputable from the run's journal.jsonl alone (`sim report`). Durations and instants are
/// milliseconds (floating point); instants named *_at_ms are on the journal's monotonic clock (ms
/// since the journal was opened). Probe figures use each probe's send time (its record's t_ms −
/// latency_ms), in send order. null means the figure does not exist (no outage, never
/// recovered…), never zero. schema_version is bumped on any incompatible change; additive changes
/// keep it. Generated from `reports::ResultFile` by `reports::result_schema`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, extend("$id" = SCHEMA_ID), transform = expect_is_optional)]
pub struct ResultFile {
    /// The layout version of this file.
    #[schemars(extend("const" = SCHEMA_VERSION))]
    pub schema_version: u32,
    /// Facts about the run that the journal's figures do not carry.
    pub run: RunInfo,
    /// The overall result, then the run-wide figures.
    pub summary: ResultSummary,
    /// Every trial, in trial order.
    pub trials: Vec<TrialOutcome>,
    /// The expectations the verdicts were computed against, so a report can be regenerated from
    /// the journal alone. Absent in files written before it existed: then it reads as empty.
    #[serde(default)]
    pub expect: Expectations,
    /// A verdict per expectation that is set.
    pub verdicts: Vec<Verdict>,
}

/// The `summary` object: the overall result, then the run-wide figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
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

/// The JSON Schema (draft 2020-12) of `result.json`, generated from [`ResultFile`] as it is
/// written (serde's serialize side): `reports/schema/result.schema.json` is this, pretty-printed.
pub fn result_schema() -> Schema {
    SchemaSettings::draft2020_12()
        .for_serialize()
        .with_transform(RecursiveTransform(unwrap_description))
        .into_generator()
        .into_root_schema_for::<ResultFile>()
}

/// Joins the lines of each paragraph of `schema`'s description: doc comments are wrapped at 100
/// columns, a description need not be.
fn unwrap_description(schema: &mut Schema) {
    if let Some(serde_json::Value::String(text)) = schema.get_mut("description") {
        let paragraphs: Vec<String> = text.split("\n\n").map(|p| p.replace('\n', " ")).collect();
        *text = paragraphs.join("\n\n");
    }
}

/// `expect` is always written but need not be there: readers take a file without it (written
/// before it existed) as expecting nothing.
fn expect_is_optional(schema: &mut Schema) {
    if let Some(serde_json::Value::Array(required)) = schema.get_mut("required") {
        required.retain(|field| field != "expect");
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
