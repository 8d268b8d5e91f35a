//! Unit tests of the Docker platform's conversions: events to signals, blueprints' network
//! aliases.

use bollard::models::{EndpointSettings, EventActor, HostConfig};

use super::replace::network_aliases;
use super::*;

fn event(action: &str, attributes: &[(&str, &str)]) -> EventMessage {
    EventMessage {
        action: Some(action.to_owned()),
        actor: Some(EventActor {
            id: Some("c0ffee".to_owned()),
            attributes: Some(
                attributes
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
        }),
        ..EventMessage::default()
    }
}

#[test]
fn the_name_label_names_the_target_over_the_container_name() {
    let oom = to_signal(event(
        "oom",
        &[("name", "sim-r1-t1-leaky-0"), (NAME_LABEL, "leaky-0")],
    ))
    .unwrap();
    assert_eq!(oom.target.name, "leaky-0");
}

#[test]
fn docker_events_become_signals_with_labels_and_exit_codes() {
    let die = to_signal(event(
        "die",
        &[
            ("name", "leaky-0"),
            ("image", "sim-leaky:1"),
            ("exitCode", "137"),
            ("sim.run", "r1"),
        ],
    ))
    .unwrap();
    assert_eq!(
        die.kind,
        SignalKind::Died {
            exit_code: Some(137)
        }
    );
    assert_eq!(die.target.id, "c0ffee");
    assert_eq!(die.target.name, "leaky-0");
    assert_eq!(
        die.target.labels,
        BTreeMap::from([("sim.run".to_owned(), "r1".to_owned())])
    );
    let kinds: Vec<SignalKind> = [
        "oom",
        "start",
        "health_status: healthy",
        "health_status: unhealthy",
    ]
    .into_iter()
    .map(|action| to_signal(event(action, &[])).unwrap().kind)
    .collect();
    assert_eq!(
        kinds,
        [
            SignalKind::Oom,
            SignalKind::Started,
            SignalKind::Health { healthy: true },
            SignalKind::Health { healthy: false }
        ]
    );
    assert_eq!(to_signal(event("exec_start: sh", &[])), None);
}

#[test]
fn a_blueprint_keeps_the_network_aliases_but_not_the_short_id() {
    let host = HostConfig {
        network_mode: Some("sim-r1".to_owned()),
        ..HostConfig::default()
    };
    let endpoint = |aliases: &[&str]| EndpointSettings {
        aliases: Some(aliases.iter().map(|a| a.to_string()).collect()),
        ..EndpointSettings::default()
    };
    let networks = HashMap::from([
        ("sim-r1".to_owned(), endpoint(&["leaky-0", "c0ffee123456"])),
        ("other".to_owned(), endpoint(&["elsewhere"])),
    ]);
    let config = network_aliases("c0ffee1234567890", Some(&host), Some(networks)).unwrap();
    let endpoints = config.endpoints_config.unwrap();
    assert_eq!(endpoints.len(), 1);
    assert_eq!(
        endpoints["sim-r1"].aliases.as_deref(),
        Some(&["leaky-0".to_owned()][..])
    );
    // Only Docker's own alias: nothing to keep (the default bridge takes no aliases at all).
    let own = HashMap::from([("sim-r1".to_owned(), endpoint(&["c0ffee123456"]))]);
    assert!(network_aliases("c0ffee1234567890", Some(&host), Some(own)).is_none());
}
