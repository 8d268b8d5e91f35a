//! `sim compare`: runs a scenario under several healing strategies and prints their comparison.

use crate::compare::{self, CompareOptions};
use crate::exit;
use crate::scenario;

/// `sim compare`: the table on stdout, where the runs and compare.html are. Exit 0 when it ran.
pub(super) async fn run_compare(
    plan: scenario::Plan,
    options: &CompareOptions,
    cancel: tokio_util::sync::CancellationToken,
) -> i32 {
    match compare::compare(plan, options, cancel).await {
        Ok(outcome) => {
            println!("{}", outcome.comparison.render_table());
            println!("runs:    {}", outcome.dir.display());
            println!("report:  {}", outcome.html.display());
            if outcome.interrupted {
                exit::INTERRUPTED
            } else {
                exit::OK
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}
