//! `healer.advisor`: the embedded healer's model advisor, every field checked and located.

use std::time::Duration;

use super::*;

#[test]
fn an_advisor_section_reaches_the_plan_with_its_defaults() {
    let scratch = Scratch::new();
    assert_eq!(scratch.compile(MINIMAL).unwrap().advisor, None);
    let text = format!(
        "{MINIMAL}healer:\n  advisor:\n    url: http://127.0.0.1:11434\n    model: qwen2.5:0.5b\n"
    );
    let advisor = scratch.compile(&text).unwrap().advisor.unwrap();
    assert_eq!(
        advisor.endpoint(),
        "http://127.0.0.1:11434/v1/chat/completions"
    );
    let want = healer::Advisor::new("http://127.0.0.1:11434", "qwen2.5:0.5b").unwrap();
    assert_eq!(advisor, want);
    let text = format!(
        "{MINIMAL}healer:\n  advisor: {{ url: 'http://127.0.0.1:8000', model: m, timeout: 2s, min_confidence: 0.9 }}\n"
    );
    let advisor = scratch.compile(&text).unwrap().advisor.unwrap();
    let want = healer::Advisor::new("http://127.0.0.1:8000", "m")
        .unwrap()
        .timeout(Duration::from_secs(2))
        .unwrap()
        .min_confidence(0.9)
        .unwrap();
    assert_eq!(advisor, want);
}

#[test]
fn a_bad_advisor_section_is_located_with_its_fix() {
    let advisor = |body: &str| format!("{MINIMAL}healer:\n  advisor:\n{body}");
    check(
        &advisor("    url: ftp://127.0.0.1\n    model: m\n"),
        5,
        "healer.advisor.url",
        "the scheme must be http",
    );
    check(
        &advisor("    model: m\n"),
        4,
        "healer.advisor.url",
        "is required",
    );
    check(
        &advisor("    url: http://127.0.0.1:11434\n"),
        4,
        "healer.advisor.model",
        "is required",
    );
    check(
        &advisor("    url: http://127.0.0.1:11434\n    model: m\n    min_confidence: 1.5\n"),
        7,
        "healer.advisor.min_confidence",
        "must be a number from 0 to 1",
    );
    check(
        &advisor("    url: http://127.0.0.1:11434\n    model: m\n    timeout: 0s\n"),
        7,
        "healer.advisor.timeout",
        "must be longer than 0",
    );
    check(
        &advisor("    url: http://127.0.0.1:11434\n    model: m\n    modle: x\n"),
        7,
        "healer.advisor.modle",
        "unknown field `modle`",
    );
}
