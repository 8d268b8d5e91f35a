//! `sim validate`: checks scenario files, their runbooks and their alert rules, and reports
//! every problem.

use std::path::PathBuf;

use crate::exit;
use crate::scenario::{self, Context};

pub(super) fn validate(files: &[PathBuf], context: &Context) -> i32 {
    let mut code = exit::OK;
    for file in files {
        let plan = match scenario::load(file, context) {
            Ok(plan) => plan,
            Err(problems) => {
                eprintln!("{problems}");
                code = exit::BAD_INPUT;
                continue;
            }
        };
        let mut runbook_errors: Vec<String> = plan
            .runbooks
            .iter()
            .filter_map(|runbook| healer::Runbook::load(runbook).err())
            .map(|e| e.to_string())
            .collect();
        // Alert rule files are checked with Prometheus's own promtool when it is installed.
        if let (Some(monitoring), Some(promtool)) =
            (&plan.monitoring, crate::monitoring::find_promtool())
        {
            if let Err(e) = crate::monitoring::check_rule_files(&promtool, &monitoring.rules) {
                runbook_errors.push(e.to_string());
            }
        }
        if runbook_errors.is_empty() {
            println!(
                "{}: ok ({}, {} trial(s), {} fault(s), {} runbook(s))",
                file.display(),
                plan.name,
                plan.trials,
                plan.faults.len(),
                plan.runbooks.len()
            );
        } else {
            eprintln!("{}", runbook_errors.join("\n"));
            code = exit::BAD_INPUT;
        }
    }
    code
}
