//! The recorded runs in `tests/fixtures/` (real journals and the `result.json` their live runs
//! wrote), and helpers to regenerate them in a scratch directory.
#![allow(dead_code)] // Each test file uses a different subset.

use std::path::{Path, PathBuf};

use journal::Record;
use reports::{Regenerated, ResultFile};

/// A 10-trial `oom-recovery` run.
pub const OOM: &str = "oom-recovery/20261122T052953Z-97b1aacb";
/// A 3-trial `crash-recovery` run.
pub const CRASH: &str = "crash-recovery/20261122T052514Z-4a00b1e7";
pub const RUNS: [&str; 2] = [OOM, CRASH];

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The `result.json` the live run wrote.
pub fn recorded(run: &str) -> ResultFile {
    let text = std::fs::read_to_string(fixtures().join(run).join("result.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Copies the fixture run's directory to `<root>/<run>` and returns that directory.
pub fn copy_run(run: &str, root: &Path) -> PathBuf {
    let to = root.join(run);
    std::fs::create_dir_all(&to).unwrap();
    for file in ["journal.jsonl", "result.json"] {
        std::fs::copy(fixtures().join(run).join(file), to.join(file)).unwrap();
    }
    to
}

/// The fixture run regenerated in a scratch copy, with its records.
pub fn regenerated(run: &str) -> (tempfile::TempDir, Vec<Record>, Regenerated) {
    let scratch = tempfile::tempdir().unwrap();
    let dir = copy_run(run, scratch.path());
    let regenerated = reports::regenerate(&dir).unwrap();
    let records = journal::read_journal(&dir.join("journal.jsonl")).unwrap();
    (scratch, records, regenerated)
}

/// The `id`s of every `<figure class="chart" …>` in `html`.
pub fn chart_ids(html: &str) -> Vec<String> {
    html.split("<figure class=\"chart\" id=\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(id, _)| id.to_owned()))
        .collect()
}

/// The `<figure class="chart" …>` with `id` in `html`, up to its `</figure>`.
pub fn figure<'h>(html: &'h str, id: &str) -> &'h str {
    element(html, &format!("id=\"{id}\""), "</figure>")
}

/// `html` from `start` up to the first `end` after it.
pub fn element<'h>(html: &'h str, start: &str, end: &str) -> &'h str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in the page"));
    let to = html[from..]
        .find(end)
        .unwrap_or_else(|| panic!("no {end} after {start}"));
    &html[from..from + to]
}
