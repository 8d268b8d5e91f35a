//! `sim list`: the scenarios of the scenarios directory, as a table or as JSON.

use std::path::Path;

use crate::exit;
use crate::scenario::{self, Context};

pub(super) fn list(scenarios_dir: &Path, context: &Context, json: bool) -> i32 {
    let entries = scenario::list(scenarios_dir, context);
    if json {
        let rows: Vec<serde_json::Value> = entries
            .iter()
            .map(|(name, path, plan)| {
                serde_json::json!({
                    "name": name,
                    "path": path,
                    "valid": plan.is_ok(),
                    "description": plan.as_ref().map(|p| p.description.clone()).unwrap_or_default(),
                    "trials": plan.as_ref().map(|p| p.trials).ok(),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return exit::OK;
    }
    if entries.is_empty() {
        eprintln!("no scenarios in {}", scenarios_dir.display());
        return exit::BAD_INPUT;
    }
    let width = entries.iter().map(|(n, _, _)| n.len()).max().unwrap_or(4);
    for (name, _, plan) in &entries {
        match plan {
            Ok(plan) => println!(
                "{name:<width$}  {} trial(s)  {}",
                plan.trials, plan.description
            ),
            Err(problems) => println!(
                "{name:<width$}  INVALID ({} problem(s); see `sim validate`)",
                problems.0.len()
            ),
        }
    }
    exit::OK
}
