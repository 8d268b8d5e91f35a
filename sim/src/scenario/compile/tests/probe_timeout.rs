//! `healer.probe_timeout`: the embedded healer's own probe timeout, checked and located.

use std::time::Duration;

use super::*;

#[test]
fn a_probe_timeout_reaches_the_plan_and_its_absence_is_the_healers_default() {
    let scratch = Scratch::new();
    assert_eq!(scratch.compile(MINIMAL).unwrap().probe_timeout, None);
    let text = format!("{MINIMAL}healer:\n  probe_timeout: 1s\n");
    assert_eq!(
        scratch.compile(&text).unwrap().probe_timeout,
        Some(Duration::from_secs(1))
    );
}

#[test]
fn a_bad_probe_timeout_is_located_with_its_fix() {
    let timeout = |value: &str| format!("{MINIMAL}healer:\n  probe_timeout: {value}\n");
    check(&timeout("0s"), 4, "healer.probe_timeout", "longer than 0");
    check(
        &timeout("1m"),
        4,
        "healer.probe_timeout",
        "at most 30s, got `1m`",
    );
    check(&timeout("soon"), 4, "healer.probe_timeout", "soon");
}
