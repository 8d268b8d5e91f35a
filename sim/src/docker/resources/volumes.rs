//! A compose project's named volumes, one set per trial (`sim-<run>-t<trial>-<volume>`),
//! labelled with the run and the trial and removed with the trial; and mounts as Docker takes
//! them.

use std::collections::HashMap;

use bollard::models::{Mount, MountType, VolumeCreateRequest};
use bollard::query_parameters::{ListVolumesOptionsBuilder, RemoveVolumeOptions};
use bollard::Docker;

use super::{run_labels, RunResources, LABEL_RUN, LABEL_TRIAL};
use crate::compose::{VolumeMount, VolumeSource};

impl RunResources {
    /// Docker's form of `mount` in `trial`: a named volume is this trial's.
    pub(super) fn mount(&self, trial: u32, mount: &VolumeMount) -> Mount {
        let (typ, source) = match &mount.source {
            VolumeSource::Named(name) => (MountType::VOLUME, self.volume_name(trial, name)),
            VolumeSource::Bind(path) => (MountType::BIND, path.to_string_lossy().into_owned()),
        };
        Mount {
            target: Some(mount.target.clone()),
            source: Some(source),
            typ: Some(typ),
            read_only: Some(mount.read_only),
            ..Default::default()
        }
    }

    /// Docker's name for a compose project's named volume `name` in `trial`.
    pub fn volume_name(&self, trial: u32, name: &str) -> String {
        format!("sim-{}-t{trial}-{name}", self.run_id)
    }

    /// Creates the named volume `name` of `trial`, labelled with the run and the trial.
    pub async fn create_volume(
        &self,
        trial: u32,
        name: &str,
    ) -> Result<String, bollard::errors::Error> {
        let mut labels = run_labels(&self.run_id);
        labels.insert(LABEL_TRIAL.to_owned(), trial.to_string());
        let volume = self
            .docker
            .create_volume(VolumeCreateRequest {
                name: Some(self.volume_name(trial, name)),
                labels: Some(labels),
                ..Default::default()
            })
            .await?;
        Ok(volume.name)
    }

    /// Removes every named volume of this run that carries `extra` labels too.
    pub(super) async fn remove_volumes(
        &self,
        extra: &[(&str, &str)],
    ) -> Result<(), bollard::errors::Error> {
        let mut filters = vec![format!("{LABEL_RUN}={}", self.run_id)];
        filters.extend(extra.iter().map(|(k, v)| format!("{k}={v}")));
        for name in list_volume_names(&self.docker, filters).await? {
            remove_volume(&self.docker, &name).await?;
        }
        Ok(())
    }
}

/// Names of all volumes matching every `label` filter.
async fn list_volume_names(
    docker: &Docker,
    labels: Vec<String>,
) -> Result<Vec<String>, bollard::errors::Error> {
    let filters = HashMap::from([("label", labels)]);
    let options = ListVolumesOptionsBuilder::new().filters(&filters).build();
    let volumes = docker.list_volumes(Some(options)).await?.volumes;
    Ok(volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.name)
        .collect())
}

pub(in crate::docker) async fn remove_volume(
    docker: &Docker,
    name: &str,
) -> Result<(), bollard::errors::Error> {
    match docker
        .remove_volume(name, None::<RemoveVolumeOptions>)
        .await
    {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(e),
    }
}
