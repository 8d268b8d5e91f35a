//! JUnit XML for CI systems: one `<testsuite>` per run, its properties the run's facts and every
//! run-wide figure, a `<testcase>` per expectation (its failure message is the verdict's detail)
//! and one per trial (its failure message the trial's columns and why it failed). Valid against
//! the Ant/Jenkins JUnit schema committed at `reports/schema/junit-10.xsd`.

use std::fmt::Write;

use crate::columns::TRIAL_COLUMNS;
use crate::figures;
use crate::markup::{esc, utc};
use crate::{RunInfo, RunSummary};

/// The JUnit XML of the run. A trial's `time` is its MTTR in seconds (0 without an outage or
/// when it never recovered); expectations take no time.
pub fn render_junit(summary: &RunSummary, info: &RunInfo) -> String {
    let interrupted = summary.interrupted || info.interrupted;
    let mut cases = String::new();
    let mut failures = 0;
    let suite = format!("sim.{}", info.scenario);
    for v in &summary.verdicts {
        cases.push_str(&testcase(
            &format!("{suite}.expectations"),
            &v.expectation,
            0.0,
            (!v.passed).then_some(("expectation", v.detail.as_str())),
        ));
        failures += u32::from(!v.passed);
    }
    for t in &summary.trials {
        let columns: Vec<String> = TRIAL_COLUMNS
            .iter()
            .map(|c| format!("{} {}", c.name, (c.value)(t)))
            .collect();
        let reason = t
            .failure_reason
            .as_deref()
            .map_or_else(String::new, |r| format!(": {r}"));
        let detail = format!("{}{reason}", columns.join(", "));
        cases.push_str(&testcase(
            &format!("{suite}.trials"),
            &format!("trial {}", t.trial),
            t.mttr_ms.unwrap_or(0.0).max(0.0) / 1000.0,
            (!t.success).then_some(("trial", detail.as_str())),
        ));
        failures += u32::from(!t.success);
    }
    if interrupted {
        cases.push_str(&testcase(
            &format!("{suite}.run"),
            "run completed",
            0.0,
            Some((
                "interrupted",
                "the run was interrupted: its figures are incomplete",
            )),
        ));
        failures += 1;
    }
    let tests = summary.verdicts.len() + summary.trials.len() + usize::from(interrupted);
    let total_s: f64 = summary.trials.iter().filter_map(|t| t.mttr_ms).sum::<f64>() / 1000.0;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"sim\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{total_s:.3}\">"
    );
    let stamp = utc(info.started_unix_ms);
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" package=\"sim\" id=\"0\" tests=\"{tests}\" failures=\"{failures}\" \
         errors=\"0\" skipped=\"0\" time=\"{total_s:.3}\" timestamp=\"{}\" hostname=\"localhost\">",
        esc(&suite),
        stamp.trim_end_matches('Z')
    );
    out.push_str("    <properties>\n");
    let run = [
        ("run_id", info.run_id.clone()),
        ("scenario", info.scenario.clone()),
        ("journal", info.journal.display().to_string()),
        ("started", stamp),
        ("healthy_after", summary.healthy_after.to_string()),
        ("interrupted", interrupted.to_string()),
    ];
    let figures = figures::shown(summary)
        .flat_map(|line| line.figures())
        .filter_map(|f| Some((f.key, f.text(summary)?)));
    for (name, value) in run.into_iter().chain(figures) {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            esc(&value)
        );
    }
    out.push_str("    </properties>\n");
    out.push_str(&cases);
    out.push_str("    <system-out/>\n    <system-err/>\n  </testsuite>\n</testsuites>\n");
    out
}

fn testcase(classname: &str, name: &str, time_s: f64, failure: Option<(&str, &str)>) -> String {
    let open = format!(
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{time_s:.3}\"",
        esc(classname),
        esc(name)
    );
    match failure {
        None => format!("{open}/>\n"),
        Some((kind, message)) => format!(
            "{open}>\n      <failure message=\"{}\" type=\"{kind}\">{}</failure>\n    </testcase>\n",
            esc(message),
            esc(message)
        ),
    }
}
