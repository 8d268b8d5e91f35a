//! `healer.strategy` and `healer.external`: who heals when `--strategy` does not say.

use super::*;
use crate::scenario::plan::StrategyPlan;

#[test]
fn a_file_names_its_strategy_and_the_external_healers_command_or_webhook() {
    let scratch = Scratch::new();
    assert_eq!(scratch.compile(MINIMAL).unwrap().strategy, None);
    let text = format!(
        "{MINIMAL}healer:\n  strategy: external\n  external:\n    command: python3 agent.py\n    \
         webhook: http://127.0.0.1:9095/alerts\n"
    );
    assert_eq!(
        scratch.compile(&text).unwrap().strategy,
        Some(StrategyPlan {
            name: "external".into(),
            external_command: Some("python3 agent.py".into()),
            external_webhook: Some("http://127.0.0.1:9095/alerts".into()),
        })
    );
    let text = format!("{MINIMAL}healer: {{ strategy: autoheal }}\n");
    let plan = scratch.compile(&text).unwrap();
    assert_eq!(plan.strategy.map(|s| s.name), Some("autoheal".into()));
}

#[test]
fn a_bad_strategy_section_is_located_with_its_fix() {
    let healer = |body: &str| format!("{MINIMAL}healer:\n{body}");
    check(
        &healer("  strategy: embeded\n"),
        4,
        "healer.strategy",
        "unknown strategy `embeded`",
    );
    check(
        &healer("  strategy: external\n"),
        4,
        "healer.strategy",
        "needs `healer.external`",
    );
    check(
        &healer("  strategy: autoheal\n  external: { command: x }\n"),
        5,
        "healer.external",
        "`strategy: external` only",
    );
    check(
        &healer("  external: { command: x }\n"),
        4,
        "healer.external",
        "without `strategy: external`",
    );
    check(
        &healer("  strategy: external\n  external: { command: '  ' }\n"),
        5,
        "healer.external",
        "neither a `command` nor a `webhook`",
    );
    check(
        &healer("  strategy: external\n  external: { webhook: 'http://10.0.0.1:80/' }\n"),
        5,
        "healer.external.webhook",
        "not on this machine's loopback",
    );
    check(
        &healer("  strategy: external\n  external: { comand: x, command: y }\n"),
        5,
        "healer.external.comand",
        "unknown field",
    );
}
