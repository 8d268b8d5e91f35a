//! Tests of the `faults` section, and of the target and dependency checks faults depend on.

use std::time::Duration;

use super::{check, Scratch, MINIMAL};
use crate::faults::kinds::{
    self, BadDeploy, CpuBurn, Crash, CrashLoop, DependencyOutage, Hang, Kill, Latency, LogError,
    MonitoringComponent, MonitoringOutage, NetworkErrors, NetworkLatency, NetworkLoss, NodeCrash,
    NodePartition, Pause, ResourceSqueeze,
};
use crate::scenario::plan::{FaultKind, Leak};

#[test]
fn fault_kind_names_round_trip() {
    let kinds = [
        FaultKind::MemoryLeak(Leak::Amount { bytes: 1 }),
        FaultKind::CpuBurn(CpuBurn { threads: 1 }),
        FaultKind::Latency(Latency {
            fixed: Duration::ZERO,
            jitter: Duration::ZERO,
        }),
        FaultKind::Hang(Hang),
        FaultKind::Crash(Crash { exit_code: 1 }),
        FaultKind::Kill(Kill),
        FaultKind::Pause(Pause),
        FaultKind::ResourceSqueeze(ResourceSqueeze {
            memory_bytes: None,
            nano_cpus: Some(1),
        }),
        FaultKind::CrashLoop(CrashLoop),
        FaultKind::BadDeploy(BadDeploy),
        FaultKind::NetworkLatency(NetworkLatency {
            fixed: Duration::ZERO,
            jitter: Duration::ZERO,
        }),
        FaultKind::NetworkErrors(NetworkErrors { rate: 1.0 }),
        FaultKind::NetworkLoss(NetworkLoss { rate: 1.0 }),
        FaultKind::DependencyOutage(DependencyOutage),
        FaultKind::MonitoringOutage(MonitoringOutage {
            component: MonitoringComponent::Alertmanager,
        }),
        FaultKind::LogError(LogError {
            line: "x".to_owned(),
            count: 1,
        }),
        FaultKind::NodeCrash(NodeCrash { node: None }),
        FaultKind::NodePartition(NodePartition { node: Some(2) }),
    ];
    let names: Vec<&str> = kinds.iter().map(FaultKind::name).collect();
    assert_eq!(names, kinds::names());
}

const SQUEEZABLE: &str = "target: { image: leaky, memory: 64MiB, cpus: 1 }\n\
                          load: { duration: 10s }\n";

#[test]
fn pause_and_squeeze_compile_with_their_windows() {
    let text = format!(
        "{SQUEEZABLE}faults:\n\
         \x20 - {{ kind: pause, at: 2s, duration: 3s, replica: 0 }}\n\
         \x20 - {{ kind: resource-squeeze, at: 1s, duration: 4s, memory: 32MiB, cpus: 0.25 }}\n\
         \x20 - {{ kind: resource-squeeze, at: 1s, memory: 16MiB }}\n"
    );
    let plan = Scratch::new().compile(&text).unwrap();
    let faults: Vec<(FaultKind, Option<Duration>)> = plan
        .faults
        .iter()
        .map(|f| (f.kind.clone(), f.duration))
        .collect();
    assert_eq!(
        faults,
        [
            (FaultKind::Pause(Pause), Some(Duration::from_secs(3))),
            (
                FaultKind::ResourceSqueeze(ResourceSqueeze {
                    memory_bytes: Some(32 << 20),
                    nano_cpus: Some(250_000_000),
                }),
                Some(Duration::from_secs(4))
            ),
            (
                FaultKind::ResourceSqueeze(ResourceSqueeze {
                    memory_bytes: Some(16 << 20),
                    nano_cpus: None,
                }),
                None
            ),
        ]
    );
}

#[test]
fn a_squeeze_needs_something_to_squeeze() {
    let text = format!("{SQUEEZABLE}faults:\n  - {{ kind: resource-squeeze, at: 1s }}\n");
    check(&text, 4, "faults[0]", "needs memory, cpus or both");
}

#[test]
fn a_squeeze_must_lower_an_existing_limit() {
    let cases = [
        (
            SQUEEZABLE,
            "memory: 64MiB",
            "faults[0].memory",
            "not below the target's memory limit",
        ),
        (
            SQUEEZABLE,
            "memory: 1MiB",
            "faults[0].memory",
            "below the 6MiB",
        ),
        (
            SQUEEZABLE,
            "cpus: 2",
            "faults[0].cpus",
            "not below the target's CPU limit (1 CPUs)",
        ),
        (
            SQUEEZABLE,
            "cpus: 0",
            "faults[0].cpus",
            "between 0.01 and 1024",
        ),
        (
            MINIMAL,
            "memory: 32MiB",
            "faults[0].memory",
            "no memory limit to squeeze",
        ),
        (
            MINIMAL,
            "cpus: 0.5",
            "faults[0].cpus",
            "no CPU limit to squeeze",
        ),
    ];
    for (head, field, at, words) in cases {
        let text = format!("{head}faults:\n  - {{ kind: resource-squeeze, at: 1s, {field} }}\n");
        let problems = Scratch::new().problems(&text);
        assert_eq!(problems.len(), 1, "{field}: {problems:#?}");
        let (_, got_field, message) = &problems[0];
        assert_eq!(got_field, at, "{message}");
        assert!(message.contains(words), "{message:?} lacks {words:?}");
    }
}

#[test]
fn a_crash_loop_points_the_target_at_its_marker() {
    let text = format!("{MINIMAL}faults:\n  - {{ kind: crash-loop, at: 1s, duration: 5s }}\n");
    let plan = Scratch::new().compile(&text).unwrap();
    assert_eq!(plan.faults[0].kind, FaultKind::CrashLoop(CrashLoop));
    assert_eq!(
        plan.target
            .env
            .get(leaky::CRASH_ON_START_VAR)
            .map(String::as_str),
        Some(crate::faults::CRASH_LOOP_MARKER)
    );
    let without = Scratch::new().compile(MINIMAL).unwrap();
    assert!(without.target.env.is_empty());
}

#[test]
fn a_crash_loop_needs_the_built_in_target() {
    let text = "target: { image: app:1 }\nload: { duration: 10s }\n\
                faults:\n  - { kind: crash-loop, at: 1s }\n";
    check(text, 4, "faults[0].kind", "needs the built-in target");
}

#[test]
fn a_bad_deploy_needs_the_built_in_target_and_lasts_until_rolled_back() {
    let text = format!("{MINIMAL}faults:\n  - {{ kind: bad-deploy, at: 1s, replica: 0 }}\n");
    let plan = Scratch::new().compile(&text).unwrap();
    assert_eq!(plan.faults[0].kind, FaultKind::BadDeploy(BadDeploy));
    assert_eq!(plan.faults[0].duration, None);
    let other = "target: { image: app:1 }\nload: { duration: 10s }\n\
                 faults:\n  - { kind: bad-deploy, at: 1s }\n";
    check(other, 4, "faults[0].kind", "needs the built-in target");
    let timed = format!("{MINIMAL}faults:\n  - {{ kind: bad-deploy, at: 1s, duration: 2s }}\n");
    check(&timed, 4, "faults[0].duration", "takes no duration");
}

#[test]
fn a_dependency_points_the_target_at_it_and_its_outage_needs_it() {
    let text = format!(
        "{MINIMAL}dependency: {{ name: db }}\n\
         faults:\n  - {{ kind: dependency-outage, at: 1s, duration: 5s }}\n"
    );
    let plan = Scratch::new().compile(&text).unwrap();
    assert_eq!(
        plan.faults[0].kind,
        FaultKind::DependencyOutage(DependencyOutage)
    );
    assert_eq!(plan.dependency.as_ref().unwrap().name, "db");
    assert_eq!(
        plan.target
            .env
            .get(leaky::DEPENDENCY_URL_VAR)
            .map(String::as_str),
        Some("http://db:8080/health")
    );
    let without = format!("{MINIMAL}faults:\n  - {{ kind: dependency-outage, at: 1s }}\n");
    check(&without, 4, "faults[0].kind", "it has none");
    let replica = format!(
        "{MINIMAL}dependency: {{}}\nfaults:\n  - {{ kind: dependency-outage, at: 1s, replica: 0 }}\n"
    );
    check(&replica, 5, "faults[0].replica", "not a replica");
    check(
        &format!("{MINIMAL}dependency: {{ name: leaky-db }}\n"),
        3,
        "dependency.name",
        "cannot name the dependency",
    );
}

#[test]
fn a_monitoring_outage_names_its_component_and_needs_a_required_monitoring_stack() {
    let monitored = |fault: &str, monitoring: &str| {
        format!("{MINIMAL}faults:\n  - {{ kind: monitoring-outage, at: 1s{fault} }}\n{monitoring}")
    };
    let required = "monitoring: { prometheus: required }\n";
    let plan = Scratch::new()
        .compile(&monitored(
            ", duration: 5s, component: prometheus",
            required,
        ))
        .unwrap();
    assert_eq!(
        plan.faults[0].kind,
        FaultKind::MonitoringOutage(MonitoringOutage {
            component: MonitoringComponent::Prometheus
        })
    );
    assert_eq!(plan.faults[0].duration, Some(Duration::from_secs(5)));
    check(
        &monitored("", required),
        4,
        "faults[0].component",
        "is required",
    );
    check(
        &monitored(", component: alertmanger", required),
        4,
        "faults[0].component",
        "unknown component `alertmanger`, expected one of: prometheus, alertmanager",
    );
    check(
        &monitored(", component: alertmanager", ""),
        4,
        "faults[0].kind",
        "the scenario has no `monitoring`",
    );
    check(
        &monitored(
            ", component: alertmanager",
            "monitoring: { prometheus: if-available }\n",
        ),
        4,
        "faults[0].kind",
        "needs `monitoring.prometheus: required`",
    );
    check(
        &format!("{MINIMAL}faults:\n  - {{ kind: hang, at: 1s, component: prometheus }}\n"),
        4,
        "faults[0].component",
        "does not apply to a hang fault",
    );
}

const BALANCED: &str = "target: { image: leaky, replicas: 3 }\nload: { duration: 10s }\n";

#[test]
fn network_faults_compile_behind_a_balancer() {
    let text = format!(
        "{BALANCED}faults:\n\
         \x20 - {{ kind: network-latency, at: 3s, duration: 6s, fixed: 400ms, jitter: 100ms, replica: 1 }}\n\
         \x20 - {{ kind: network-latency, at: 1s, fixed: 50ms }}\n\
         \x20 - {{ kind: network-errors, at: 1s, duration: 2s, rate: 50% }}\n"
    );
    let plan = Scratch::new().compile(&text).unwrap();
    let ms = Duration::from_millis;
    let kinds: Vec<&FaultKind> = plan.faults.iter().map(|f| &f.kind).collect();
    assert_eq!(
        kinds,
        [
            &FaultKind::NetworkLatency(NetworkLatency {
                fixed: ms(400),
                jitter: ms(100)
            }),
            &FaultKind::NetworkLatency(NetworkLatency {
                fixed: ms(50),
                jitter: Duration::ZERO
            }),
            &FaultKind::NetworkErrors(NetworkErrors { rate: 0.5 }),
        ]
    );
    assert_eq!(
        (plan.faults[0].duration, plan.faults[0].replica),
        (Some(ms(6000)), Some(1))
    );
    assert!(plan.faults.iter().all(|f| f.kind.is_network()));
}

#[test]
fn network_loss_compiles_behind_a_balancer_with_its_share_of_connections() {
    let text = format!(
        "{BALANCED}faults:\n  - {{ kind: network-loss, at: 2s, duration: 4s, rate: 30%, replica: 1 }}\n"
    );
    let plan = Scratch::new().compile(&text).unwrap();
    let fault = &plan.faults[0];
    assert_eq!(
        fault.kind,
        FaultKind::NetworkLoss(NetworkLoss { rate: 0.3 })
    );
    assert_eq!(
        (fault.duration, fault.replica),
        (Some(Duration::from_secs(4)), Some(1))
    );
    assert!(fault.kind.is_network());
    assert_eq!(
        crate::faults::describe(fault),
        "netproxy POST /toxics?loss=0.3"
    );
    let cases = [
        (
            MINIMAL,
            ", rate: 30%",
            "faults[0].kind",
            "needs a load balancer",
        ),
        (BALANCED, "", "faults[0].rate", "is required"),
        (BALANCED, ", rate: 0%", "faults[0].rate", "more than 0%"),
        (BALANCED, ", rate: 150%", "faults[0].rate", "above 100%"),
        (
            BALANCED,
            ", rate: 5%, fixed: 1s",
            "faults[0].fixed",
            "does not apply to a network-loss fault, which takes rate",
        ),
    ];
    for (head, fields, field, words) in cases {
        let text = format!("{head}faults:\n  - {{ kind: network-loss, at: 1s{fields} }}\n");
        check(&text, 4, field, words);
    }
}

#[test]
fn network_fault_problems_are_located() {
    let cases = [
        (
            MINIMAL,
            "{ kind: network-latency, at: 1s, fixed: 100ms }",
            "faults[0].kind",
            "needs a load balancer",
        ),
        (
            MINIMAL,
            "{ kind: network-errors, at: 1s, rate: 10% }",
            "faults[0].kind",
            "needs a load balancer",
        ),
        (
            BALANCED,
            "{ kind: network-latency, at: 1s }",
            "faults[0].fixed",
            "is required",
        ),
        (
            BALANCED,
            "{ kind: network-latency, at: 1s, fixed: soon }",
            "faults[0].fixed",
            "soon",
        ),
        (
            BALANCED,
            "{ kind: network-errors, at: 1s }",
            "faults[0].rate",
            "is required",
        ),
        (
            BALANCED,
            "{ kind: network-errors, at: 1s, rate: 0% }",
            "faults[0].rate",
            "more than 0%",
        ),
        (
            BALANCED,
            "{ kind: network-errors, at: 1s, rate: 150% }",
            "faults[0].rate",
            "above 100%",
        ),
        (
            BALANCED,
            "{ kind: network-errors, at: 1s, rate: 0.5 }",
            "faults[0].rate",
            "must end in %",
        ),
        (
            BALANCED,
            "{ kind: network-errors, at: 1s, rate: 5%, fixed: 1s }",
            "faults[0].fixed",
            "does not apply to a network-errors fault, which takes rate",
        ),
        (
            BALANCED,
            "{ kind: network-latency, at: 1s, fixed: 1s, rate: 5% }",
            "faults[0].rate",
            "does not apply to a network-latency fault, which takes fixed, jitter",
        ),
    ];
    for (head, fault, field, words) in cases {
        let text = format!("{head}faults:\n  - {fault}\n");
        let problems = Scratch::new().problems(&text);
        assert_eq!(problems.len(), 1, "{fault}: {problems:#?}");
        let (line, got_field, message) = &problems[0];
        assert_eq!(
            (*line, got_field.as_str()),
            (4, field),
            "{fault}: {message}"
        );
        assert!(message.contains(words), "{message:?} lacks {words:?}");
    }
}

#[test]
fn squeeze_fields_do_not_apply_to_a_pause() {
    let text = format!("{SQUEEZABLE}faults:\n  - {{ kind: pause, at: 1s, memory: 8MiB }}\n");
    check(
        &text,
        4,
        "faults[0].memory",
        "does not apply to a pause fault",
    );
}

#[test]
fn a_fault_must_start_before_the_load_ends() {
    let text = format!("{MINIMAL}faults:\n  - {{ kind: hang, at: 10s }}\n");
    check(
        &text,
        4,
        "faults[0].at",
        "starts at 10s, but the load lasts only 10s",
    );
}

#[test]
fn a_fault_time_may_be_a_range_to_draw_from() {
    let text = format!("{MINIMAL}faults:\n  - {{ kind: hang, at: 2s..6s }}\n");
    let plan = Scratch::new().compile(&text).unwrap();
    assert_eq!(plan.faults[0].at, Duration::from_secs(2));
    assert_eq!(plan.faults[0].at_latest, Some(Duration::from_secs(6)));

    let empty = format!("{MINIMAL}faults:\n  - {{ kind: hang, at: 6s..2s }}\n");
    check(&empty, 4, "faults[0].at", "the range 6s..2s is empty");
    let past = format!("{MINIMAL}faults:\n  - {{ kind: hang, at: 2s..12s }}\n");
    check(
        &past,
        4,
        "faults[0].at",
        "starts at 12s, but the load lasts only 10s",
    );
    let bad = format!("{MINIMAL}faults:\n  - {{ kind: hang, at: 2s..x }}\n");
    check(&bad, 4, "faults[0].at", "invalid duration \"x\"");
}

#[test]
fn a_memory_leak_needs_exactly_one_size() {
    let none = format!("{MINIMAL}faults:\n  - kind: memory-leak\n    at: 1s\n");
    check(
        &none,
        4,
        "faults[0]",
        "needs one of: rate, amount, per_request",
    );
    let two = format!(
        "{MINIMAL}faults:\n  - kind: memory-leak\n    at: 1s\n    rate: 1MiB/s\n    amount: 1MiB\n"
    );
    check(
        &two,
        7,
        "faults[0].amount",
        "this fault has rate and amount",
    );
    let zero = format!("{MINIMAL}faults:\n  - {{ kind: memory-leak, at: 1s, amount: 0 }}\n");
    check(&zero, 4, "faults[0].amount", "more than 0");
}

#[test]
fn unknown_fault_kinds_list_the_kinds() {
    let text = format!("{MINIMAL}faults:\n  - {{ kind: memory-leek, at: 1s }}\n");
    let problems = Scratch::new().compile(&text).unwrap_err().0;
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].field, "faults[0].kind");
    assert!(problems[0].message.ends_with(&kinds::names().join(", ")));
    assert!(problems[0]
        .message
        .contains("memory-leak, cpu-burn, latency, hang, crash, kill"));
    assert_eq!(
        problems[0].fix.as_deref(),
        Some("did you mean `memory-leak`?")
    );
}

#[test]
fn fields_of_other_kinds_are_refused() {
    let text = format!("{MINIMAL}faults:\n  - {{ kind: kill, at: 1s, threads: 2 }}\n");
    check(
        &text,
        4,
        "faults[0].threads",
        "does not apply to a kill fault",
    );
    let text = format!("{MINIMAL}faults:\n  - {{ kind: crash, at: 1s, duration: 2s }}\n");
    check(&text, 4, "faults[0].duration", "happens at once");
}

#[test]
fn a_fault_needs_kind_at_and_kind_fields() {
    let text = format!("{MINIMAL}faults:\n  - {{ at: 1s }}\n  - {{ kind: latency }}\n");
    let problems = Scratch::new().problems(&text);
    let got: Vec<(usize, &str)> = problems.iter().map(|(l, f, _)| (*l, f.as_str())).collect();
    assert_eq!(
        got,
        [
            (4, "faults[0].kind"),
            (5, "faults[1].at"),
            (5, "faults[1].fixed")
        ]
    );
}

#[test]
fn kind_specific_numbers_are_range_checked() {
    let text = format!("{MINIMAL}faults:\n  - {{ kind: cpu-burn, at: 1s, threads: 0 }}\n");
    check(&text, 4, "faults[0].threads", "between 1 and 64");
    let text = format!("{MINIMAL}faults:\n  - {{ kind: crash, at: 1s, exit_code: 256 }}\n");
    check(&text, 4, "faults[0].exit_code", "between 0 and 255");
    let text = format!("{MINIMAL}faults:\n  - {{ kind: log-error, at: 1s, count: 0 }}\n");
    check(&text, 4, "faults[0].count", "between 1 and 10000");
}

#[test]
fn a_log_error_logs_one_line_a_number_of_times() {
    let text = format!("{MINIMAL}faults:\n  - {{ kind: log-error, at: 1s }}\n");
    let plan = Scratch::new().compile(&text).unwrap();
    assert_eq!(
        plan.faults[0].kind,
        FaultKind::LogError(LogError {
            line: "FATAL: database connection pool exhausted".to_owned(),
            count: 3,
        })
    );
    let text = format!(
        "{MINIMAL}faults:\n  - {{ kind: log-error, at: 1s, line: \"panic: oops\", count: 7 }}\n"
    );
    let plan = Scratch::new().compile(&text).unwrap();
    assert_eq!(
        plan.faults[0].kind,
        FaultKind::LogError(LogError {
            line: "panic: oops".to_owned(),
            count: 7,
        })
    );
    let text = format!("{MINIMAL}faults:\n  - {{ kind: log-error, at: 1s, line: \"a\\nb\" }}\n");
    check(&text, 4, "faults[0].line", "one line");
    let text = format!("{MINIMAL}faults:\n  - {{ kind: crash, at: 1s, line: x }}\n");
    check(&text, 4, "faults[0].line", "line");
}

#[test]
fn a_replica_index_must_exist() {
    let text = "target: { image: leaky, replicas: 2 }\nload: { duration: 10s }\n\
                faults:\n  - { kind: kill, at: 1s, replica: 2 }\n";
    check(
        text,
        4,
        "faults[0].replica",
        "replica 2 does not exist: the target has 2",
    );
    let text = format!("{MINIMAL}faults:\n  - {{ kind: kill, at: 1s, replica: -1 }}\n");
    check(&text, 4, "faults[0].replica", "got -1");
}

#[test]
fn an_empty_fault_list_is_allowed() {
    let plan = Scratch::new()
        .compile(&format!("{MINIMAL}faults: []\n"))
        .unwrap();
    assert!(plan.faults.is_empty());
}
