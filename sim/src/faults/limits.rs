//! A container's memory and CPU limits: read them, lower them live, put them back.

use bollard::models::ContainerUpdateBody;
use bollard::Docker;

/// The limits `resource-squeeze` changes, as Docker reports them (0 = none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub memory: i64,
    pub memory_swap: i64,
    pub nano_cpus: i64,
}

impl Limits {
    /// The container's limits now.
    pub async fn inspect(docker: &Docker, id: &str) -> Result<Self, bollard::errors::Error> {
        let host = docker
            .inspect_container(id, None)
            .await?
            .host_config
            .unwrap_or_default();
        Ok(Limits {
            memory: host.memory.unwrap_or(0),
            memory_swap: host.memory_swap.unwrap_or(0),
            nano_cpus: host.nano_cpus.unwrap_or(0),
        })
    }

    /// These limits with memory (and swap: none, so the limit bites) and/or CPUs lowered.
    pub fn squeezed(self, memory_bytes: Option<u64>, nano_cpus: Option<i64>) -> Self {
        let memory = memory_bytes.map(|b| i64::try_from(b).unwrap_or(i64::MAX));
        Limits {
            memory: memory.unwrap_or(self.memory),
            memory_swap: memory.unwrap_or(self.memory_swap),
            nano_cpus: nano_cpus.unwrap_or(self.nano_cpus),
        }
    }

    /// Sets these limits on the running container. Zeroes are left out: Docker reads a missing
    /// field as "unchanged" and cannot lift a limit back to none.
    pub async fn apply(self, docker: &Docker, id: &str) -> Result<(), bollard::errors::Error> {
        docker.update_container(id, self.body()).await
    }

    fn body(self) -> ContainerUpdateBody {
        let set = |value: i64| (value != 0).then_some(value);
        ContainerUpdateBody {
            memory: set(self.memory),
            memory_swap: set(self.memory_swap),
            nano_cpus: set(self.nano_cpus),
            ..Default::default()
        }
    }
}

/// How the journal describes a squeeze.
pub fn describe(memory_bytes: Option<u64>, nano_cpus: Option<i64>) -> String {
    let mut parts = vec!["docker update".to_owned()];
    if let Some(bytes) = memory_bytes {
        parts.push(format!("memory={bytes}"));
    }
    if let Some(nanos) = nano_cpus {
        parts.push(format!("cpus={}", nanos as f64 / 1e9));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: Limits = Limits {
        memory: 64 << 20,
        memory_swap: 64 << 20,
        nano_cpus: 1_000_000_000,
    };

    #[test]
    fn a_squeeze_lowers_only_what_it_names() {
        assert_eq!(
            ORIGINAL.squeezed(Some(32 << 20), None),
            Limits {
                memory: 32 << 20,
                memory_swap: 32 << 20,
                nano_cpus: 1_000_000_000,
            }
        );
        assert_eq!(
            ORIGINAL.squeezed(None, Some(250_000_000)),
            Limits {
                nano_cpus: 250_000_000,
                ..ORIGINAL
            }
        );
    }

    #[test]
    fn unset_limits_are_left_out_of_the_update() {
        let body = Limits {
            memory: 32 << 20,
            memory_swap: 32 << 20,
            nano_cpus: 0,
        }
        .body();
        assert_eq!(
            (body.memory, body.memory_swap, body.nano_cpus),
            (Some(32 << 20), Some(32 << 20), None)
        );
    }

    #[test]
    fn squeezes_are_described_by_what_they_set() {
        assert_eq!(
            describe(Some(32 << 20), Some(500_000_000)),
            "docker update memory=33554432 cpus=0.5"
        );
        assert_eq!(describe(None, Some(250_000_000)), "docker update cpus=0.25");
    }
}
