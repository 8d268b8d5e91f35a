//! `sim report`: regenerates run reports from their journals, and the history index.

use std::path::{Path, PathBuf};

use crate::exit;

pub(super) fn report(runs: &[PathBuf], out: &Path) -> i32 {
    let history = match reports::History::load(out) {
        Ok(history) => history,
        Err(e) => {
            eprintln!("error: cannot read the runs under {}: {e}", out.display());
            return exit::BAD_INPUT;
        }
    };
    let dirs: Vec<PathBuf> = if runs.is_empty() {
        history
            .runs()
            .iter()
            .map(|run| out.join(&run.dir))
            .collect()
    } else {
        runs.to_vec()
    };
    let mut code = exit::OK;
    for dir in &dirs {
        match reports::regenerate(dir) {
            Ok(regenerated) => println!(
                "{}: {} ({})",
                dir.display(),
                // A journal without `run_ended` was cut off: interrupted, so failed, even
                // when the trials it holds met every expectation.
                if regenerated.summary.passed() && !regenerated.info.interrupted {
                    "PASS"
                } else {
                    "FAIL"
                },
                regenerated.paths.report_html.display()
            ),
            Err(e) => {
                eprintln!("error: {}: {e}", dir.display());
                code = exit::BAD_INPUT;
            }
        }
    }
    match history.write_index() {
        Ok(index) => println!("history: {}", index.display()),
        Err(e) => {
            eprintln!("error: cannot write the history index: {e}");
            code = exit::RUN_FAILED;
        }
    }
    code
}
