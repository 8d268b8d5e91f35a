//! Containers created again from what they are: the blueprint of a container (its
//! configuration without what its image provides), and what is built on it: `recreate`,
//! `rollback`, the deployer's `deploy`, and `scale`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::models::{
    ContainerConfig, ContainerCreateBody, EndpointSettings, HostConfig, ImageConfig,
    NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    StartContainerOptions,
};

use super::{action_error, timed_platform, DockerPlatform, NAME_LABEL};
use crate::platform::{PlatformError, Scale, PREVIOUS_IMAGE_LABEL, ROLLED_BACK_FROM_LABEL};
use crate::signal::TargetRef;

impl DockerPlatform {
    /// The container's name and a body that creates it again as it is configured.
    pub(super) async fn blueprint(
        &self,
        target: &TargetRef,
    ) -> Result<(String, ContainerCreateBody), PlatformError> {
        let inspect = self.inspect(target).await?;
        let name = inspect
            .name
            .map(|name| name.trim_start_matches('/').to_owned())
            .unwrap_or_else(|| target.name.clone());
        let mut config = inspect.config.unwrap_or_default();
        // What the image itself sets (its ENV, CMD, ENTRYPOINT, LABELs) shows in the container's
        // config too; leave it to the image, so a rollback takes the previous image's own.
        if let Some(image) = inspect.image.as_deref() {
            if let Ok(image) = self.docker.inspect_image(image).await {
                strip_image_defaults(&mut config, image.config.unwrap_or_default());
            }
        }
        let networking_config = network_aliases(
            &target.id,
            inspect.host_config.as_ref(),
            inspect
                .network_settings
                .and_then(|settings| settings.networks),
        );
        let body = ContainerCreateBody {
            hostname: None,
            user: config.user,
            exposed_ports: config.exposed_ports,
            env: config.env,
            cmd: config.cmd,
            healthcheck: config.healthcheck,
            image: config.image,
            working_dir: config.working_dir,
            entrypoint: config.entrypoint,
            labels: config.labels,
            stop_signal: config.stop_signal,
            stop_timeout: config.stop_timeout,
            host_config: inspect.host_config,
            networking_config,
            ..ContainerCreateBody::default()
        };
        Ok((name, body))
    }

    /// Deploys `image` in place of `target` the way [`Platform::rollback`] needs it: recreates
    /// the container from `image` with its configuration (name, environment, labels, limits,
    /// ports, network aliases) plus the label [`PREVIOUS_IMAGE_LABEL`] naming the image it ran.
    /// Gives the new target. Not a healer action but the deployer's side of a rollback (sim's
    /// `bad-deploy` fault uses it).
    pub async fn deploy(
        &self,
        target: &TargetRef,
        image: &str,
        timeout: Duration,
    ) -> Result<TargetRef, PlatformError> {
        timed_platform(target, "deploy", timeout, async {
            let (name, mut body) = self.blueprint(target).await?;
            let labels = body.labels.get_or_insert_with(HashMap::new);
            labels.remove(ROLLED_BACK_FROM_LABEL);
            if let Some(current) = body.image.replace(image.to_owned()) {
                labels.insert(PREVIOUS_IMAGE_LABEL.to_owned(), current);
            }
            self.replace(target, &name, body).await
        })
        .await
    }

    /// Removes `old`, creates `name` from `body` and starts it.
    pub(super) async fn replace(
        &self,
        old: &TargetRef,
        name: &str,
        body: ContainerCreateBody,
    ) -> Result<TargetRef, PlatformError> {
        let fail = |operation: &'static str, source: bollard::errors::Error| {
            action_error(old, operation, source.into())
        };
        let remove = RemoveContainerOptionsBuilder::new().force(true).build();
        self.docker
            .remove_container(&old.id, Some(remove))
            .await
            .map_err(|e| fail("remove", e))?;
        self.create_and_start(old, name, body).await
    }

    async fn create_and_start(
        &self,
        old: &TargetRef,
        name: &str,
        body: ContainerCreateBody,
    ) -> Result<TargetRef, PlatformError> {
        let fail = |operation: &'static str, source: bollard::errors::Error| {
            action_error(old, operation, source.into())
        };
        let labels: BTreeMap<String, String> = body
            .labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let options = CreateContainerOptionsBuilder::new().name(name).build();
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| fail("create", e))?;
        self.docker
            .start_container(&created.id, None::<StartContainerOptions>)
            .await
            .map_err(|e| fail("start", e))?;
        // A replacement may take over its predecessor's address, and its stale neighbor entry.
        super::forget_stale_neighbors(&self.docker, &created.id).await;
        Ok(TargetRef {
            id: created.id,
            name: labels
                .get(NAME_LABEL)
                .cloned()
                .unwrap_or_else(|| name.to_owned()),
            labels,
        })
    }

    /// Replicas are the target plus the containers labelled [`REPLICA_OF_LABEL`] with its
    /// container name; clones are named `<name>-replica-<n>` and removed newest first.
    pub(super) async fn scale_now(
        &self,
        target: &TargetRef,
        scale: Scale,
    ) -> Result<u32, PlatformError> {
        let (name, mut body) = self.blueprint(target).await?;
        let filters = HashMap::from([(
            "label".to_owned(),
            vec![format!("{REPLICA_OF_LABEL}={name}")],
        )]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let mut clones: Vec<(i64, String)> = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|source| action_error(target, "scale", source.into()))?
            .into_iter()
            .filter_map(|c| Some((c.created.unwrap_or(0), c.id?)))
            .collect();
        clones.sort();
        let now = u32::try_from(clones.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let wanted = scale.wanted(now);
        if wanted < now {
            let remove = RemoveContainerOptionsBuilder::new().force(true).build();
            for (_, id) in clones.iter().rev().take((now - wanted) as usize) {
                self.docker
                    .remove_container(id, Some(remove.clone()))
                    .await
                    .map_err(|source| action_error(target, "scale down", source.into()))?;
            }
        }
        if wanted > now {
            let labels = body.labels.get_or_insert_with(HashMap::new);
            labels.insert(REPLICA_OF_LABEL.to_owned(), name.clone());
            // Published host ports would clash: clones take ephemeral ones on the same IPs.
            if let Some(bindings) = body
                .host_config
                .as_mut()
                .and_then(|host| host.port_bindings.as_mut())
            {
                for binding in bindings.values_mut().flatten().flatten() {
                    binding.host_port = Some(String::new());
                }
            }
            let mut serial = 0;
            for _ in now..wanted {
                let clone_name = loop {
                    serial += 1;
                    let candidate = format!("{name}-replica-{serial}");
                    if self
                        .docker
                        .inspect_container(&candidate, None)
                        .await
                        .is_err()
                    {
                        break candidate;
                    }
                };
                let mut body = body.clone();
                if let Some(labels) = body.labels.as_mut() {
                    labels.insert(NAME_LABEL.to_owned(), clone_name.clone());
                }
                self.create_and_start(target, &clone_name, body).await?;
            }
        }
        Ok(wanted)
    }
}

/// The aliases a container answers to on its network (`network_mode`), so that a container
/// created again from its blueprint keeps them (a load balancer may reach it by one). Docker's
/// own alias, the short container id, is left out.
pub(super) fn network_aliases(
    id: &str,
    host_config: Option<&HostConfig>,
    networks: Option<HashMap<String, EndpointSettings>>,
) -> Option<NetworkingConfig> {
    let network = host_config?.network_mode.clone()?;
    let aliases: Vec<String> = networks?
        .remove(&network)?
        .aliases?
        .into_iter()
        .filter(|alias| !id.starts_with(alias.as_str()))
        .collect();
    if aliases.is_empty() {
        return None;
    }
    let endpoint = EndpointSettings {
        aliases: Some(aliases),
        ..EndpointSettings::default()
    };
    Some(NetworkingConfig {
        endpoints_config: Some(HashMap::from([(network, endpoint)])),
    })
}

/// Removes from a container's config what its image provides.
fn strip_image_defaults(config: &mut ContainerConfig, image: ImageConfig) {
    if let (Some(env), Some(image_env)) = (config.env.as_mut(), image.env.as_ref()) {
        env.retain(|entry| !image_env.contains(entry));
    }
    if config.cmd == image.cmd {
        config.cmd = None;
    }
    if config.entrypoint == image.entrypoint {
        config.entrypoint = None;
    }
    if let (Some(labels), Some(image_labels)) = (config.labels.as_mut(), image.labels.as_ref()) {
        labels.retain(|key, value| image_labels.get(key) != Some(value));
    }
}

/// The label a scaled-out clone carries: the container name of the target it copies.
pub const REPLICA_OF_LABEL: &str = "healer.replica-of";
