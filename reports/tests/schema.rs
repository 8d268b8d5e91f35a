//! `result.json` validates against the committed JSON Schema, and the JUnit XML against the
//! committed JUnit XSD (checked with `xmllint`, from Debian's `libxml2-utils`).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schema")
}

fn result_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(schema_dir().join("result.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft202012::new(&schema).expect("the committed schema is valid draft 2020-12")
}

fn errors(validator: &jsonschema::Validator, value: &Value) -> Vec<String> {
    validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The command that rewrites `schema/result.schema.json` from `reports::result_schema`.
const REGENERATE: &str =
    "UPDATE_SCHEMA=1 cargo nextest run -p reports committed_schema_is_generated";

#[test]
fn committed_schema_is_generated() {
    let path = schema_dir().join("result.schema.json");
    let generated = serde_json::to_string_pretty(&reports::result_schema()).unwrap() + "\n";
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        // Beside it, then renamed over it: the other tests read it meanwhile.
        let scratch = path.with_extension("json.new");
        std::fs::write(&scratch, &generated).unwrap();
        std::fs::rename(&scratch, &path).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    assert!(
        committed == generated,
        "reports/schema/result.schema.json is not the schema generated from reports::ResultFile; \
         regenerate it with `{REGENERATE}` and review the diff"
    );
}

#[test]
fn result_json_validates_against_the_committed_schema() {
    let validator = result_validator();
    for run in support::RUNS {
        let (_scratch, _records, again) = support::regenerated(run);
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(&again.paths.result_json).unwrap())
                .unwrap();
        assert_eq!(errors(&validator, &written), Vec::<String>::new(), "{run}");
        assert_eq!(written["schema_version"], reports::SCHEMA_VERSION);
        // The file the live run wrote is schema 1: the schema of version 2 says so first.
        let live: Value = serde_json::from_str(
            &std::fs::read_to_string(support::fixtures().join(run).join("result.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(live["schema_version"], 1);
        let old = errors(&validator, &live);
        assert_eq!(
            old.first().map(String::as_str),
            Some("2 was expected at /schema_version"),
            "{run}: {old:?}"
        );
    }
}

#[test]
fn schema_rejects_missing_renamed_and_mistyped_fields() {
    let validator = result_validator();
    let (_scratch, _records, again) = support::regenerated(support::CRASH);
    let good: Value =
        serde_json::from_str(&std::fs::read_to_string(&again.paths.result_json).unwrap()).unwrap();
    let mut missing = good.clone();
    missing["summary"]
        .as_object_mut()
        .unwrap()
        .remove("mttr_p50_ms");
    let mut renamed = good.clone();
    let trial = renamed["trials"][0].as_object_mut().unwrap();
    let mttr = trial.remove("mttr_ms").unwrap();
    trial.insert("mttr".into(), mttr);
    let mut mistyped = good.clone();
    mistyped["summary"]["success_rate"] = Value::from("100%");
    let mut version = good.clone();
    version["schema_version"] = Value::from(1);
    let mut unverified = good;
    let trial = unverified["trials"][0].as_object_mut().unwrap();
    trial.remove("unverified").unwrap();
    for (name, bad) in [
        ("missing", missing),
        ("renamed", renamed),
        ("mistyped", mistyped),
        ("version", version),
        ("missing new field", unverified),
    ] {
        assert!(!errors(&validator, &bad).is_empty(), "{name} was accepted");
    }
}

/// `xmllint --schema junit-10.xsd` on `xml`: Ok, or xmllint's complaint.
fn xmllint(xml: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema_dir().join("junit-10.xsd"))
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run xmllint ({e}): install Debian's `libxml2-utils` \
                 (apt-get install libxml2-utils); CI installs it in .ci/run"
            )
        });
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn junit_validates_against_the_junit_schema() {
    for run in support::RUNS {
        let (_scratch, _records, again) = support::regenerated(run);
        let xml = std::fs::read_to_string(&again.paths.junit_xml).unwrap();
        xmllint(&xml).unwrap_or_else(|e| panic!("{run}: {e}\n{xml}"));
        let cases = xml.matches("<testcase ").count();
        assert_eq!(
            cases,
            again.summary.verdicts.len() + again.summary.trials.len()
        );
        assert!(xml.contains(&format!("tests=\"{cases}\" failures=\"0\"")));
    }
}

#[test]
fn failing_and_interrupted_runs_give_valid_junit_with_failures() {
    let (_scratch, _records, again) = support::regenerated(support::CRASH);
    let mut summary = again.summary;
    summary.verdicts[0].passed = false;
    summary.verdicts[0].detail = "trial 2 MTTR 12.000s > 10s; <b>&\"'\u{1}".into();
    summary.trials[1].success = false;
    summary.trials[1].failure_reason = Some("never recovered within the trial".into());
    let mut info = again.info;
    info.interrupted = true;
    let xml = reports::render_junit(&summary, &info);
    xmllint(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_eq!(xml.matches("<failure ").count(), 3, "{xml}");
    assert!(xml.contains("failures=\"3\""));
    assert!(xml.contains("message=\"trial 2 MTTR 12.000s &gt; 10s; &lt;b&gt;&amp;&quot;&#39;"));
}

#[test]
fn the_junit_check_rejects_a_malformed_report() {
    // Proves the check can fail: a testcase without its required name.
    let bad = "<?xml version=\"1.0\"?>\n<testsuites><testsuite name=\"x\" tests=\"1\">\
               <testcase classname=\"c\"/></testsuite></testsuites>\n";
    assert!(xmllint(bad).is_err());
}
