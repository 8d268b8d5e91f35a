//! What the Swarm platform reads from a manager's task list, as pure functions: where a
//! service's task answers now ([`endpoint`]), and what changed between two looks at the tasks
//! ([`TaskStates::changes`]), the signals of [`SwarmPlatform`](super::SwarmPlatform).

use std::collections::HashMap;
use std::net::SocketAddr;

use bollard::models::{Task, TaskState};

use crate::signal::SignalKind;

/// Where the newest running task of a service answers on `container_port`: its node's
/// address (`addresses`: node id → address) and the port the task publishes for it in host
/// mode (the first published port when none targets `container_port`). The newest by the
/// task's version: after a start-first restart the old task still runs until the new one
/// does. `Err` says why there is none.
pub(super) fn endpoint(
    tasks: &[Task],
    addresses: &HashMap<String, String>,
    container_port: u16,
) -> Result<SocketAddr, String> {
    let mut newest: Option<(u64, SocketAddr)> = None;
    let mut running = 0;
    for task in tasks {
        let status = task.status.clone().unwrap_or_default();
        if status.state != Some(TaskState::RUNNING)
            || task.desired_state != Some(TaskState::RUNNING)
        {
            continue;
        }
        running += 1;
        let ports = status.port_status.and_then(|p| p.ports).unwrap_or_default();
        let published = ports
            .iter()
            .find(|p| p.target_port == Some(i64::from(container_port)))
            .or(ports.first())
            .and_then(|p| p.published_port)
            .and_then(|port| u16::try_from(port).ok());
        let address = task.node_id.as_ref().and_then(|id| addresses.get(id));
        let (Some(port), Some(address)) = (published, address) else {
            continue;
        };
        let Ok(ip) = address.parse() else {
            continue;
        };
        let index = task.version.as_ref().and_then(|v| v.index).unwrap_or(0);
        if newest.is_none_or(|(seen, _)| seen < index) {
            newest = Some((index, SocketAddr::new(ip, port)));
        }
    }
    newest.map(|(_, address)| address).ok_or_else(|| match running {
        0 => "no task of it is running".to_owned(),
        n => format!("none of its {n} running task(s) publishes a port in host mode on a node with an address"),
    })
}

/// The state of every task seen at the last look, by task id.
#[derive(Debug, Default)]
pub(super) struct TaskStates {
    seen: HashMap<String, TaskState>,
    /// Whether a first look was taken: the states found then are history, not news.
    looked: bool,
}

impl TaskStates {
    /// What happened to the services' tasks since the last look, as (service id, signal):
    /// a task that reached `running` started its service; one that left `running` for a
    /// failed, completed, rejected or orphaned state, or that was shut down while still wanted
    /// running, died (with its container's exit code when Swarm knows it). A task shut down
    /// because Swarm wanted it so (an update, a scale-down) is no news. Nothing is reported
    /// on the first look.
    pub(super) fn changes(&mut self, tasks: &[Task]) -> Vec<(String, SignalKind)> {
        let mut news = Vec::new();
        let mut now = HashMap::with_capacity(tasks.len());
        for task in tasks {
            let (Some(id), Some(service)) = (&task.id, &task.service_id) else {
                continue;
            };
            let status = task.status.clone().unwrap_or_default();
            let Some(state) = status.state else {
                continue;
            };
            let before = self.seen.get(id).copied();
            now.insert(id.clone(), state);
            if !self.looked || before == Some(state) {
                continue;
            }
            let was_running = before == Some(TaskState::RUNNING);
            let wanted_running = task.desired_state == Some(TaskState::RUNNING);
            let died = matches!(
                state,
                TaskState::FAILED | TaskState::COMPLETE | TaskState::REJECTED | TaskState::ORPHANED
            ) || (state == TaskState::SHUTDOWN && wanted_running);
            if state == TaskState::RUNNING {
                news.push((service.clone(), SignalKind::Started));
            } else if died && (was_running || state == TaskState::FAILED) {
                let exit_code = status.container_status.and_then(|c| c.exit_code);
                news.push((service.clone(), SignalKind::Died { exit_code }));
            }
        }
        self.seen = now;
        self.looked = true;
        news
    }
}

#[cfg(test)]
mod tests {
    use bollard::models::{
        ContainerStatus, EndpointPortConfig, ObjectVersion, PortStatus, TaskStatus,
    };

    use super::*;

    fn task(id: &str, state: TaskState, desired: TaskState, node: &str, index: u64) -> Task {
        Task {
            id: Some(id.to_owned()),
            service_id: Some("svc".to_owned()),
            node_id: Some(node.to_owned()),
            desired_state: Some(desired),
            version: Some(ObjectVersion { index: Some(index) }),
            status: Some(TaskStatus {
                state: Some(state),
                port_status: Some(PortStatus {
                    ports: Some(vec![EndpointPortConfig {
                        target_port: Some(8080),
                        published_port: Some(30001),
                        ..Default::default()
                    }]),
                }),
                container_status: Some(ContainerStatus {
                    exit_code: Some(137),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_endpoint_is_the_newest_running_task_on_its_nodes_address() {
        let addresses = HashMap::from([
            ("n1".to_owned(), "10.213.1.11".to_owned()),
            ("n3".to_owned(), "10.213.1.13".to_owned()),
        ]);
        let old = task("t1", TaskState::RUNNING, TaskState::RUNNING, "n3", 10);
        let new = task("t2", TaskState::RUNNING, TaskState::RUNNING, "n1", 20);
        let leaving = task("t0", TaskState::RUNNING, TaskState::SHUTDOWN, "n1", 30);
        let found = endpoint(&[old.clone(), new, leaving], &addresses, 8080).unwrap();
        assert_eq!(found, "10.213.1.11:30001".parse().unwrap());
        assert_eq!(
            endpoint(&[old], &addresses, 8080).unwrap(),
            "10.213.1.13:30001".parse().unwrap()
        );
        let pending = task("t3", TaskState::PENDING, TaskState::RUNNING, "n1", 40);
        assert_eq!(
            endpoint(&[pending], &addresses, 8080).unwrap_err(),
            "no task of it is running"
        );
    }

    #[test]
    fn changes_report_starts_and_deaths_but_not_the_first_look_or_wanted_shutdowns() {
        let mut states = TaskStates::default();
        let running = task("t1", TaskState::RUNNING, TaskState::RUNNING, "n1", 1);
        assert!(
            states.changes(std::slice::from_ref(&running)).is_empty(),
            "first look"
        );
        assert!(states.changes(&[running]).is_empty(), "nothing changed");

        let failed = task("t1", TaskState::FAILED, TaskState::SHUTDOWN, "n1", 2);
        let next = task("t2", TaskState::RUNNING, TaskState::RUNNING, "n2", 3);
        let news = states.changes(&[failed, next]);
        assert_eq!(
            news,
            vec![
                (
                    "svc".to_owned(),
                    SignalKind::Died {
                        exit_code: Some(137)
                    }
                ),
                ("svc".to_owned(), SignalKind::Started),
            ]
        );

        let updated_away = task("t2", TaskState::SHUTDOWN, TaskState::SHUTDOWN, "n2", 4);
        assert!(
            states.changes(&[updated_away]).is_empty(),
            "Swarm wanted it"
        );
    }
}
