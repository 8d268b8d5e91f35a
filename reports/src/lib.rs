//! Reports computed from recorded journals: per-trial MTTR with its breakdown detect → act →
//! platform call → start → first good answer (then the confirmation), run summaries,
//! expectation verdicts, `result.json`, and the files people and CI read: a self-contained HTML
//! report with charts, JUnit XML, a Markdown summary, and an index of every run's MTTR and
//! success rate over time.
//!
//! Every figure is computed by replaying `journal::Record`s, never from live state: the journal
//! is the single source of truth, and a report can be recomputed from it at any time.

mod chart;
mod columns;
pub mod compare;
pub mod expect;
mod figures;
mod fmt;
mod history;
mod html;
mod junit;
mod markdown;
mod markup;
mod outcome;
mod over_time;
mod over_time_chart;
mod report;
mod result;
mod summary;
mod table;
mod timeline;

pub use expect::{Expectations, Verdict};
pub use history::{History, HistoryRun, Regression, RunFigures, MTTR_REGRESSION_FACTOR};
pub use html::render_html;
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use markup::utc;
pub use outcome::{trial_outcomes, OutageCause, TrialOutcome};
pub use report::{regenerate, write_reports, Regenerated, ReportPaths, JOURNAL_FILE, RESULT_FILE};
pub use result::{
    result_schema, write_result_json, ResultFile, ResultSummary, RunInfo, SCHEMA_VERSION,
};
pub use summary::{percentile, summarize, Aggregate, RunSummary};
