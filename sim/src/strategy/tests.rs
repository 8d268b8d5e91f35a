//! The registry's names, parsing with configured settings, and what each strategy records.

use std::sync::Arc;
use std::time::Duration;

use super::*;

/// The name and recorded settings of `strategy`, to compare strategies by.
fn identity(strategy: &dyn Strategy) -> (&'static str, BTreeMap<String, String>) {
    (strategy.name(), strategy.settings())
}

#[test]
fn every_name_parses_back_to_itself() {
    for name in names() {
        let strategy = parse(name, &[]).unwrap();
        assert_eq!(strategy.name(), name);
    }
    assert_eq!(
        parse("restart", &[]).unwrap_err(),
        UnknownStrategy("restart".to_owned())
    );
    assert_eq!(
        names(),
        [
            "none",
            "docker-restart",
            "autoheal",
            "alertmanager",
            "embedded",
            "external",
            "swarm",
            "floor"
        ]
    );
    assert_eq!(
        compared_by_default(),
        ["none", "docker-restart", "autoheal", "embedded"]
    );
}

#[test]
fn autoheal_takes_the_given_settings() {
    let fast = Autoheal {
        interval: Duration::from_secs(1),
        retries: 1,
        poll: Duration::from_millis(500),
    };
    let configured: [Arc<dyn Strategy>; 1] = [Arc::new(fast)];
    assert_eq!(
        identity(&*parse("autoheal", &configured).unwrap()),
        identity(&fast)
    );
    assert_eq!(
        identity(&*parse("autoheal", &[Arc::new(Embedded)]).unwrap()),
        identity(&Autoheal::DEFAULTS)
    );
    assert_eq!(
        identity(&*parse("alertmanager", &configured).unwrap()),
        identity(&Alertmanager::DEFAULTS)
    );
}

#[test]
fn settings_name_every_knob() {
    let settings = Autoheal::DEFAULTS.settings();
    assert_eq!(settings["interval"], "30s");
    assert_eq!(settings["retries"], "3");
    assert_eq!(settings["poll"], "5s");
    assert_eq!(Alertmanager::DEFAULTS.settings()["for"], "60s");
    assert!(Embedded.settings().is_empty());
}

#[test]
fn floor_is_a_strategy_of_its_own_without_settings() {
    let floor = parse(" floor ", &[]).unwrap();
    assert_eq!(floor.name(), "floor");
    // Configured settings of other strategies do not turn it into one of them.
    let configured: [Arc<dyn Strategy>; 2] = [
        Arc::new(Autoheal::DEFAULTS),
        Arc::new(Alertmanager::DEFAULTS),
    ];
    assert_eq!(parse("floor", &configured).unwrap().name(), "floor");
    assert!(floor.settings().is_empty());
    // The error names every strategy there is.
    let unknown = parse("flor", &[]).unwrap_err().to_string();
    for name in names() {
        assert!(unknown.contains(&format!(" {name}")), "{unknown}");
    }
}

#[test]
fn only_docker_restart_and_autoheal_change_the_target_container() {
    let spec = || TargetSpec {
        name: "leaky-0".to_owned(),
        image: "sim-leaky".to_owned(),
        port: 8080,
        health_path: "/health".to_owned(),
        memory_bytes: None,
        nano_cpus: None,
        env: vec![],
        trial: 1,
        restart: crate::docker::TargetRestart::No,
        healthcheck: None,
        labels: vec![],
    };
    for name in names() {
        let mut shaped = spec();
        parse(name, &[]).unwrap().shape_target(&mut shaped);
        assert_eq!(
            shaped.restart == crate::docker::TargetRestart::OnFailure,
            name == "docker-restart",
            "{name}"
        );
        assert_eq!(shaped.healthcheck.is_some(), name == "autoheal", "{name}");
    }
    let mut shaped = spec();
    Autoheal::DEFAULTS.shape_target(&mut shaped);
    let check = shaped.healthcheck.unwrap();
    assert_eq!(check.test.last().unwrap(), "http://127.0.0.1:8080/health");
    assert_eq!(
        (check.interval, check.retries),
        (Duration::from_secs(30), 3)
    );
}
