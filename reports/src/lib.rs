//! Reports computed from recorded journals: per-trial MTTR with its detect → act → recovered
//! breakdown, run summaries, expectation verdicts and `result.json`.
//!
//! Every figure is computed by replaying `journal::Record`s, never from live state: the journal
//! is the single source of truth, and a report can be recomputed from it at any time.

pub mod expect;
mod fmt;
mod outcome;
mod result;
mod summary;
mod table;

pub use expect::{Expectations, Verdict};
pub use outcome::{trial_outcomes, OutageCause, TrialOutcome};
pub use result::{write_result_json, ResultFile, ResultSummary, RunInfo, SCHEMA_VERSION};
pub use summary::{percentile, summarize, Aggregate, RunSummary};
