//! Runbook validation: the shipped files load, every problem of a file is reported at once.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::actions::restart::Restart;
use crate::actions::stop::Stop;
use crate::signal::SignalKind;
use crate::triggers::alert::Alert;
use crate::triggers::anomaly::Anomaly;
use crate::triggers::docker_event::DockerEvent;
use crate::triggers::health::Unhealthy;
use crate::triggers::probe_failures::ProbeFailures;
use crate::triggers::threshold::Threshold;
use crate::triggers::trend::Trend;

const SHIPPED: &str = include_str!("../../runbooks/restart-on-oom.yaml");

fn parse(yaml: &str) -> Result<Runbook, RunbookError> {
    Runbook::parse(yaml, Path::new("rb.yaml"))
}

/// The shipped runbook with `from` replaced by `to` (which must occur).
fn shipped_with(from: &str, to: &str) -> String {
    assert!(SHIPPED.contains(from), "fixture drifted: {from}");
    SHIPPED.replacen(from, to, 1)
}

fn problems(yaml: &str) -> Vec<String> {
    parse(yaml)
        .unwrap_err()
        .0
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn every_shipped_runbook_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    let mut loaded = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if let Err(problems) = Runbook::load(&path) {
            panic!("{problems}");
        }
        loaded += 1;
    }
    assert!(loaded >= 2);
}

#[test]
fn shipped_runbook_loads_with_its_values() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks/restart-on-oom.yaml");
    let runbook = Runbook::load(&path).unwrap();
    assert_eq!(runbook.name(), "restart-on-oom");
    assert_eq!(runbook.class(), "oom");
    assert_eq!(runbook.when, [Trigger::DockerEvent(DockerEvent::Oom)]);
    assert_eq!(runbook.steps.len(), 1);
    assert!(matches!(
        runbook.steps[0].action,
        Action::Restart(Restart { grace }) if grace == Duration::from_secs(1)
    ));
    assert_eq!(runbook.steps[0].timeout, Duration::from_secs(10));
    assert_eq!(runbook.steps[0].retries, 1);
    assert_eq!(
        runbook.verify.http_path, None,
        "the target's own health path"
    );
    assert_eq!(runbook.verify.port, Some(8080));
    assert_eq!(runbook.verify.within, Duration::from_secs(15));
    assert_eq!(runbook.verify.consecutive.get(), 1);
    assert_eq!(runbook.cooldown, Duration::from_secs(5));
    assert_eq!(runbook.max_actions.get(), 5);
    assert_eq!(runbook.window, Duration::from_secs(600));
    assert!((runbook.confidence - 1.0).abs() < f64::EPSILON);
}

#[test]
fn verify_names_a_path_only_when_it_must_and_needs_time() {
    let named = shipped_with("  within: 15s", "  http_path: /ready\n  within: 15s");
    assert_eq!(
        parse(&named).unwrap().verify.http_path.as_deref(),
        Some("/ready")
    );
    let found = problems(&shipped_with("  within: 15s", "  within: 0s"));
    assert_eq!(
        found,
        ["rb.yaml:14:3: verify.within: must be longer than 0s: no probe can answer in no time\n  \
          fix: write e.g. `within: 15s`"]
    );
}

#[test]
fn triggers_parse_and_match_their_signals() {
    let yaml = shipped_with(
        "  - docker_event: oom\n",
        "  - docker_event: die\n    exit_code: 137\n  - health: unhealthy\n",
    );
    let runbook = parse(&yaml).unwrap();
    assert_eq!(
        runbook.when,
        [
            Trigger::DockerEvent(DockerEvent::Died {
                exit_code: Some(137)
            }),
            Trigger::Unhealthy(Unhealthy)
        ]
    );
    let died = |exit_code| SignalKind::Died { exit_code };
    assert!(runbook.when[0].matches(&died(Some(137))));
    assert!(!runbook.when[0].matches(&died(Some(1))));
    assert!(!runbook.when[0].matches(&died(None)));
    assert!(Trigger::DockerEvent(DockerEvent::Died { exit_code: None }).matches(&died(Some(1))));
    assert!(runbook.when[1].matches(&SignalKind::Health { healthy: false }));
    assert!(!runbook.when[1].matches(&SignalKind::Health { healthy: true }));
    assert!(!Trigger::DockerEvent(DockerEvent::Oom).matches(&SignalKind::Started));
}

#[test]
fn detector_entries_parse_with_their_settings() {
    let yaml = shipped_with(
        "  - docker_event: oom\n",
        "  - probe_failures: 3\n  - alert: HighMemory\n    labels: {severity: page}\n  - alert: '*'\n\
         \x20 - threshold: memory_percent\n    above: 90\n    for: 5s\n\
         \x20 - trend: memory_percent\n    reaches: 100\n    within: 30s\n\
         \x20 - anomaly: p95_latency_ms\n    z: 4\n",
    );
    let runbook = parse(&yaml).unwrap();
    assert_eq!(
        runbook.when,
        [
            Trigger::ProbeFailures(ProbeFailures {
                count: NonZeroU32::new(3).unwrap()
            }),
            Trigger::Alert(Alert {
                name: Some("HighMemory".into()),
                labels: BTreeMap::from([("severity".into(), "page".into())])
            }),
            Trigger::Alert(Alert {
                name: None,
                labels: BTreeMap::new()
            }),
            Trigger::Threshold(Threshold {
                metric: "memory_percent".into(),
                above: 90.0,
                hold: Duration::from_secs(5)
            }),
            Trigger::Trend(Trend {
                metric: "memory_percent".into(),
                reaches: 100.0,
                within: Duration::from_secs(30),
                samples: 5
            }),
            Trigger::Anomaly(Anomaly {
                metric: "p95_latency_ms".into(),
                z: 4.0,
                warmup: 20
            }),
        ]
    );
}

#[test]
fn alert_triggers_match_name_labels_and_firing_only() {
    let trigger = Trigger::Alert(Alert {
        name: Some("HighMemory".into()),
        labels: BTreeMap::from([("severity".into(), "page".into())]),
    });
    let alert = |name: &str, firing, severity: &str| {
        SignalKind::Alert(crate::signal::Alert {
            name: name.into(),
            firing,
            labels: BTreeMap::from([("severity".into(), severity.into())]),
            fingerprint: "f".into(),
        })
    };
    assert!(trigger.matches(&alert("HighMemory", true, "page")));
    assert!(!trigger.matches(&alert("HighMemory", false, "page")));
    assert!(!trigger.matches(&alert("HighMemory", true, "info")));
    assert!(!trigger.matches(&alert("Other", true, "page")));
}

#[test]
fn every_problem_of_a_file_is_reported_at_once_with_its_place() {
    let yaml = "name: r\nclass: oom\nconfidence: 2\nwhen:\n  - docker_event: oom\n    exit_code: 1\n  - threshold: cpu\n\
                steps:\n  - action: restart\n    timeout: 10s\n    retry: 2\n  - action: reboot\n    timeout: 1s\n\
                verify:\n  http_path: health\n  within: 15\ncooldown: 5s\nmax_actions: 0\nwindow: 10m\ncolor: red\n";
    let found = problems(yaml);
    let expected = [
        "rb.yaml:3:1: confidence: must be between 0 and 1, got 2",
        "rb.yaml:6:5: when[0].exit_code: `exit_code` goes only with `docker_event: die`",
        "rb.yaml:7:5: when[1].above: missing field `above`",
        "rb.yaml:11:5: steps[0].retry: unknown field `retry`",
        "rb.yaml:12:5: steps[1].action: unknown value `reboot`",
        "rb.yaml:15:3: verify.http_path: `http_path` must start with `/`",
        "rb.yaml:16:3: verify.within: invalid duration \"15\"",
        "rb.yaml:18:1: max_actions: expected a whole number of at least 1, got `0`",
        "rb.yaml:20:1: color: unknown field `color`",
    ];
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for (found, expected) in found.iter().zip(expected) {
        assert!(
            found.starts_with(expected),
            "{found}\n  expected: {expected}"
        );
    }
}

#[test]
fn steps_check_their_parameters_and_templates() {
    let with_steps = |steps: &str| {
        shipped_with(
            "  - action: restart            # also works on a container that has already exited\n    timeout: 10s\n    retries: 1                 # further attempts after a failed one\n",
            steps,
        )
    };
    let runbook = parse(&with_steps(
        "  - action: http\n    path: /chaos/free?who={{target}}\n  - action: wait\n    duration: 2s\n\
         \x20 - action: notify\n    url: http://127.0.0.1:9/{{labels.team}}\n    format: pagerduty\n    routing_key: k\n\
         \x20 - action: signal\n    signal: SIGHUP\n    timeout: 1s\n  - action: stop\n    timeout: 5s\n",
    ))
    .unwrap();
    let shown: Vec<String> = runbook.steps.iter().map(|s| s.action.to_string()).collect();
    assert_eq!(
        shown,
        [
            "http POST /chaos/free?who={{target}}",
            "wait 2s",
            "notify (pagerduty)",
            "signal SIGHUP",
            "stop"
        ]
    );
    assert_eq!(runbook.steps[0].timeout, Duration::from_secs(5));
    assert_eq!(runbook.steps[1].timeout, Duration::from_secs(3));

    let found = problems(&with_steps(
        "  - action: http\n    path: /x/{{tagret}}\n    duration: 1s\n  - action: notify\n    format: pagerduty\n\
         \x20 - action: signal\n    signal: hup\n    timeout: 1s\n",
    ));
    let text = found.join("\n");
    for expected in [
        "steps[0].path: unknown placeholder `{{tagret}}`",
        "steps[0].duration: `duration` does not go with `http`",
        "steps[1].url: missing field `url`",
        "steps[1].routing_key: missing field `routing_key`",
        "steps[2].signal: expected a signal name such as SIGHUP",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
}

#[test]
fn missing_sections_and_structural_errors_are_reported() {
    let found = problems("name: r\n");
    let text = found.join("\n");
    for expected in [
        "class: missing field `class`",
        "when: needs at least one entry",
        "steps: needs at least one entry",
        "verify: missing field `verify`",
        "cooldown: missing field `cooldown`",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    let found = problems("name: r\nwhen: {a: 1}\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("rb.yaml:2:"), "{found:?}");
    let found = problems(&shipped_with("docker_event: oom", "{}"));
    assert!(
        found[0].contains("needs exactly one of: docker_event"),
        "{found:?}"
    );
    let err = Runbook::load(Path::new("/nonexistent/rb.yaml")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/rb.yaml:1:1: cannot read the runbook"),
        "{err}"
    );
}

#[test]
fn platform_actions_parse_with_their_parameters_and_problems() {
    let with_steps = |steps: &str| {
        shipped_with(
            "  - action: restart            # also works on a container that has already exited\n    timeout: 10s\n    retries: 1                 # further attempts after a failed one\n",
            steps,
        )
    };
    let runbook = parse(&with_steps(
        "  - { action: recreate, timeout: 20s }\n  - { action: rollback, timeout: 20s }\n\
         \x20 - { action: scale, replicas: 3, timeout: 20s }\n  - { action: scale, by: -1, timeout: 20s }\n\
         \x20 - { action: update_limits, memory: 256MiB, cpus: 1.5, timeout: 5s }\n",
    ))
    .unwrap();
    let shown: Vec<String> = runbook.steps.iter().map(|s| s.action.to_string()).collect();
    assert_eq!(
        shown,
        [
            "recreate",
            "rollback",
            "scale to 3",
            "scale by -1",
            "update_limits memory 268435456B cpus 1.5"
        ]
    );

    let found = problems(&with_steps(
        "  - { action: scale, timeout: 1s }\n  - { action: scale, replicas: 2, by: 1, timeout: 1s }\n\
         \x20 - { action: scale, by: lots, timeout: 1s }\n  - { action: update_limits, timeout: 1s }\n\
         \x20 - { action: update_limits, memory: huge, cpus: 0, timeout: 1s }\n  - { action: rollback, memory: 1MiB, timeout: 1s }\n",
    ));
    let text = found.join("\n");
    for expected in [
        "steps[0]: `scale` takes exactly one of `replicas` (how many) and `by` (+N or -N)",
        "steps[1]: `scale` takes exactly one",
        "steps[2].by: ",
        "steps[3]: `update_limits` needs `memory`, `cpus` or both",
        "steps[4].memory: ",
        "steps[4].cpus: must be between 0.01 and 1024",
        "steps[5].memory: `memory` does not go with `rollback`",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
}

#[test]
fn restart_and_stop_take_a_grace_before_sigkill_default_one_second() {
    let with_steps = |steps: &str| {
        shipped_with(
            "  - action: restart            # also works on a container that has already exited\n    timeout: 10s\n    retries: 1                 # further attempts after a failed one\n",
            steps,
        )
    };
    let runbook = parse(&with_steps(
        "  - { action: restart, grace: 0s, timeout: 5s }\n  - { action: restart, timeout: 5s }\n\
         \x20 - { action: stop, grace: 250ms, timeout: 5s }\n  - { action: stop, timeout: 5s }\n",
    ))
    .unwrap();
    let graces: Vec<Duration> = runbook
        .steps
        .iter()
        .map(|step| match step.action {
            Action::Restart(Restart { grace }) | Action::Stop(Stop { grace }) => grace,
            ref other => panic!("unexpected {other}"),
        })
        .collect();
    let ms = Duration::from_millis;
    assert_eq!(graces, [ms(0), ms(1000), ms(250), ms(1000)]);
    // Records name the action only.
    assert_eq!(runbook.steps[0].action.to_string(), "restart");

    let found = problems(&with_steps(
        "  - { action: restart, grace: soon, timeout: 5s }\n  - { action: wait, duration: 1s, grace: 1s }\n",
    ));
    let text = found.join("\n");
    for expected in [
        "steps[0].grace: invalid duration \"soon\"",
        "steps[1].grace: `grace` does not go with `wait`",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
}

#[test]
fn runbooks_for_processes_that_do_not_answer_kill_at_once() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    let grace = |name: &str| {
        let runbook = Runbook::load(&dir.join(format!("{name}.yaml"))).unwrap();
        let restart = runbook.steps.iter().find_map(|step| match step.action {
            Action::Restart(Restart { grace }) => Some(grace),
            _ => None,
        });
        restart.unwrap_or_else(|| panic!("{name} has no restart step"))
    };
    // Hung, paused, reported down: SIGTERM would only wait out the grace.
    for name in ["hang", "restart-on-down-alert"] {
        assert_eq!(grace(name), Duration::ZERO, "{name}");
    }
    // Slow or leaking but answering: it can finish its requests in flight.
    for name in ["latency", "memory-leak-preemptive", "restart-on-oom"] {
        assert_eq!(grace(name), Duration::from_secs(1), "{name}");
    }
}

#[test]
fn scaling_never_goes_below_one_replica() {
    use crate::platform::Scale;
    assert_eq!(Scale::To(3).wanted(1), 3);
    assert_eq!(Scale::To(0).wanted(4), 1);
    assert_eq!(Scale::By(2).wanted(1), 3);
    assert_eq!(Scale::By(-5).wanted(3), 1);
}

#[test]
fn unpause_takes_no_fields_and_needs_a_timeout() {
    let with_steps = |steps: &str| {
        shipped_with(
            "  - action: restart            # also works on a container that has already exited\n    timeout: 10s\n    retries: 1                 # further attempts after a failed one\n",
            steps,
        )
    };
    let runbook = parse(&with_steps("  - { action: unpause, timeout: 5s }\n")).unwrap();
    assert!(matches!(runbook.steps[0].action, Action::Unpause(_)));
    assert_eq!(runbook.steps[0].action.to_string(), "unpause");
    assert_eq!(runbook.steps[0].timeout, Duration::from_secs(5));

    let found = problems(&with_steps(
        "  - { action: unpause, grace: 0s, timeout: 5s }\n  - { action: unpause }\n  \
         - { action: unpuase, timeout: 5s }\n",
    ));
    assert_eq!(
        found,
        [
            "rb.yaml:7:24: steps[0].grace: `grace` does not go with `unpause`, which takes: no \
             other settings",
            "rb.yaml:8:7: steps[1].timeout: missing field `timeout`",
            "rb.yaml:9:7: steps[2].action: unknown value `unpuase`, expected one of: restart, \
             recreate, stop, scale, rollback, update_limits, wait, drain, http, notify, signal, \
             unpause\n  fix: did you mean `unpause`?",
        ]
    );
}

#[test]
fn a_list_or_map_where_an_action_field_belongs_is_a_problem_at_the_field() {
    let yaml = shipped_with("    timeout: 10s\n", "    timeout: 10s\n    grace: [1]\n");
    assert_eq!(
        problems(&yaml),
        [
            "rb.yaml:9:5: steps[0].grace: invalid type: sequence, expected a single value such as \
             30s, 64MiB, 5% or 2000"
        ]
    );
}
