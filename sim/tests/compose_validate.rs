//! `sim validate` on scenarios aimed at bad compose files: exit 2, every problem of the compose
//! file at its file:line:col with its key path, a YAML error located too.

mod common;

use common::{run, sim, text};

const STACK: &str = "sim/tests/fixtures/compose/bad-stack/compose.yaml";

/// Every problem of the bad stack: (line:col, key path, words of the message).
const BAD_STACK: &[(&str, &str, &str)] = &[
    (
        "5:5",
        "services.web.privileged",
        "sim does not support `privileged`",
    ),
    (
        "6:18",
        "services.web.depends_on[0]",
        "`dbb`, which is not a service",
    ),
    ("11:5", "services.lb.restart", "behind the healer's back"),
    ("12:3", "services.db", "neither `image` nor `build`"),
    ("13:5", "services.db.imgae", "unknown field `imgae`"),
    (
        "16:15",
        "services.cache.volumes[0]",
        "`data` is not declared",
    ),
];

#[test]
fn validate_reports_every_problem_of_the_compose_file_and_exits_2() {
    let output = run(sim().args(["validate", "sim/tests/fixtures/compose/bad-stack.yaml"]));
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    let located: Vec<&str> = stderr.lines().filter(|l| l.starts_with(STACK)).collect();
    assert_eq!(located.len(), BAD_STACK.len(), "{stderr}");
    for (line, (at, field, words)) in located.iter().zip(BAD_STACK) {
        assert!(
            line.starts_with(&format!("{STACK}:{at}: {field}: ")),
            "{line}"
        );
        assert!(line.contains(words), "{line}\n  does not say: {words}");
    }
    assert!(stderr.contains("fix: did you mean `db`?"), "{stderr}");
    assert!(stderr.contains("fix: did you mean `image`?"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn validate_locates_a_yaml_error_in_the_compose_file() {
    let output = run(sim().args(["validate", "sim/tests/fixtures/compose/broken-yaml.yaml"]));
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    let file = "sim/tests/fixtures/compose/broken-yaml/compose.yaml:";
    let line = stderr
        .lines()
        .find(|l| l.starts_with(file))
        .unwrap_or_else(|| panic!("{stderr}"));
    let at: Vec<usize> = line[file.len()..]
        .split(':')
        .take(2)
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(at[0] >= 2, "{line}");
}

/// A compose file in the style found in the wild, beside its scenario and named without a
/// directory (`docker-compose.yml`), as a user in that directory would run it.
#[test]
fn a_compose_file_sims_authors_did_not_write_is_accepted_unchanged() {
    let dir = common::workspace().join("sim/tests/fixtures/compose/heldout");
    let output = run(sim().current_dir(&dir).args(["validate", "heldout.yaml"]));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("heldout.yaml: ok"));
}
