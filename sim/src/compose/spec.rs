//! A compose file as users write it: serde structs in the shape of the Compose specification,
//! leaves kept as text ([`Scalar`]), the keys with several shapes (environment as a list or a
//! map, ports short or long, …) kept as YAML values, and every other key in `unknown`, so
//! `compile` can report every problem of the file at once, each located by its key path.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_yaml::Value;
use specfile::Scalar;

/// Keys a section does not know (or sim does not support), reported by `compile`.
pub type Unknown = BTreeMap<String, Value>;

/// A map whose order matters (services start in file order, ties broken by it).
#[derive(Debug)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for OrderedVisitor<T> {
            type Value = Ordered<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of names to settings")
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Ordered::default())
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }

        deserializer.deserialize_map(OrderedVisitor(PhantomData))
    }
}

/// The whole compose file.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a compose file: a map with services, volumes, …")]
pub struct ComposeSpec {
    pub name: Option<Scalar>,
    pub services: Option<Ordered<ServiceSpec>>,
    #[serde(default)]
    pub volumes: Ordered<Option<DriverSpec>>,
    #[serde(default)]
    pub networks: Ordered<Option<DriverSpec>>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl ComposeSpec {
    /// `version` is obsolete in the Compose specification: accepted and ignored, as
    /// `docker compose` does (it lands in `unknown`).
    pub const FIELDS: &[&str] = &["name", "version", "services", "volumes", "networks"];
}

/// One entry of `services:`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a service: a map such as { image: myapp:1.0 }")]
pub struct ServiceSpec {
    pub image: Option<Scalar>,
    /// A context directory, or `{ context, dockerfile, args }`.
    pub build: Option<Value>,
    /// A map, or a list of `KEY=value`.
    pub environment: Option<Value>,
    /// A string (split on whitespace) or a list.
    pub command: Option<Value>,
    pub entrypoint: Option<Value>,
    pub healthcheck: Option<HealthcheckSpec>,
    /// A list of service names, or a map of them to `{ condition }`.
    pub depends_on: Option<Value>,
    pub deploy: Option<DeploySpec>,
    pub mem_limit: Option<Scalar>,
    pub cpus: Option<Scalar>,
    #[serde(default)]
    pub ports: Vec<Value>,
    #[serde(default)]
    pub expose: Vec<Scalar>,
    #[serde(default)]
    pub volumes: Vec<Value>,
    /// A list of network names, or a map of them to `{ aliases }`.
    pub networks: Option<Value>,
    pub labels: Option<Value>,
    pub restart: Option<Scalar>,
    pub container_name: Option<Scalar>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl ServiceSpec {
    pub const FIELDS: &[&str] = &[
        "image",
        "build",
        "environment",
        "command",
        "entrypoint",
        "healthcheck",
        "depends_on",
        "deploy",
        "mem_limit",
        "cpus",
        "ports",
        "expose",
        "volumes",
        "networks",
        "labels",
        "restart",
    ];
}

/// `services.X.healthcheck`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a healthcheck: a map such as { test: [CMD, true], interval: 5s }")]
pub struct HealthcheckSpec {
    /// A string (run by the shell) or a list starting `CMD`, `CMD-SHELL` or `NONE`.
    pub test: Option<Value>,
    pub interval: Option<Scalar>,
    pub timeout: Option<Scalar>,
    pub retries: Option<Scalar>,
    pub start_period: Option<Scalar>,
    pub disable: Option<Scalar>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl HealthcheckSpec {
    pub const FIELDS: &[&str] = &[
        "test",
        "interval",
        "timeout",
        "retries",
        "start_period",
        "disable",
    ];
}

/// `services.X.deploy`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a map such as { replicas: 3 }")]
pub struct DeploySpec {
    pub replicas: Option<Scalar>,
    pub resources: Option<ResourcesSpec>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl DeploySpec {
    pub const FIELDS: &[&str] = &["replicas", "resources"];
}

/// `services.X.deploy.resources`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a map such as { limits: { memory: 64M } }")]
pub struct ResourcesSpec {
    pub limits: Option<LimitsSpec>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl ResourcesSpec {
    pub const FIELDS: &[&str] = &["limits"];
}

/// `services.X.deploy.resources.limits`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a map such as { memory: 64M, cpus: '0.5' }")]
pub struct LimitsSpec {
    pub memory: Option<Scalar>,
    pub cpus: Option<Scalar>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl LimitsSpec {
    pub const FIELDS: &[&str] = &["memory", "cpus"];
}

/// An entry of the top-level `volumes:` or `networks:`: nothing, or its driver.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "nothing, or a map such as { driver: local }")]
pub struct DriverSpec {
    pub driver: Option<Scalar>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl DriverSpec {
    pub const FIELDS: &[&str] = &["driver"];
}
