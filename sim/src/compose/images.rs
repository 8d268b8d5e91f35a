//! The images of a compose project, had once per run before the preflight: sim's built-in ones
//! (`sim-leaky`, `sim-haproxy`, from host programs, cached across runs), the local images the
//! file names (which must be there: nothing is pulled), and the `build:` services, built for the
//! run and removed with it.

use std::collections::BTreeMap;
use std::path::Path;

use super::{BuiltInImage, ComposePlan, ServiceImage};
use crate::balancer::BalancerError;
use crate::docker::{self, DirectoryBuild, HostProgramImage, ImageError, RunResources};

/// A project could not be had or brought up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ComposeError {
    /// A local image the compose file names is not in the engine: the file's own problem,
    /// located at its `image:`.
    #[error("{0}")]
    MissingImage(specfile::Problem),
    #[error("cannot build service {service}'s image: {source}")]
    Build { service: String, source: ImageError },
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Haproxy(#[from] BalancerError),
    #[error("service {service} waits for {dependency}, but {detail}")]
    DependencyNotReady {
        service: String,
        dependency: String,
        detail: String,
    },
    #[error("docker: {0}")]
    Docker(#[from] bollard::errors::Error),
}

impl ComposeError {
    /// Whether the compose file is at fault (exit 2) rather than the machine or the run.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            ComposeError::MissingImage(_) | ComposeError::Build { .. }
        )
    }
}

/// The image each service of a project runs, by service name.
#[derive(Debug, Clone, Default)]
pub struct ProjectImages(BTreeMap<String, String>);

impl ProjectImages {
    /// The image of `service` (a service of the project these images were had for).
    pub fn of(&self, service: &str) -> &str {
        self.0.get(service).map_or("", String::as_str)
    }
}

/// Has every service's image: `sim` is the `sim` binary, which `sim-leaky` holds. Built images
/// carry the run's labels, so the run's cleanup removes them.
pub async fn prepare_images(
    resources: &RunResources,
    project: &ComposePlan,
    sim: &Path,
) -> Result<ProjectImages, ComposeError> {
    let docker = resources.docker();
    let mut images = BTreeMap::new();
    for service in &project.services {
        let image = match &service.image {
            ServiceImage::BuiltIn(built_in) => {
                // Each is hashed once however many services run it.
                let known = project.services.iter().find(|s| s.image == service.image);
                match known.and_then(|s| images.get(&s.name)) {
                    Some(image) => String::clone(image),
                    None => built_in_image(resources, *built_in, sim).await?,
                }
            }
            ServiceImage::Local(tag) => match docker.inspect_image(tag).await {
                Ok(_) => tag.clone(),
                Err(_) => return Err(ComposeError::MissingImage(service.missing_image.clone())),
            },
            ServiceImage::Build {
                context,
                dockerfile,
                args,
            } => {
                let build = DirectoryBuild {
                    tag: project.build_tag(&service.name),
                    context: context.clone(),
                    dockerfile: dockerfile.clone(),
                    args: args.clone(),
                    labels: resources.labels(),
                };
                docker::build_directory(docker, &build)
                    .await
                    .map_err(|source| ComposeError::Build {
                        service: service.name.clone(),
                        source,
                    })?;
                build.tag
            }
        };
        images.insert(service.name.clone(), image);
    }
    Ok(ProjectImages(images))
}

/// The image of a built-in, built from this host's program unless it exists.
async fn built_in_image(
    resources: &RunResources,
    built_in: BuiltInImage,
    sim: &Path,
) -> Result<String, ComposeError> {
    let spec = match built_in {
        BuiltInImage::Leaky => HostProgramImage::leaky(sim.to_owned()),
        BuiltInImage::Haproxy => HostProgramImage::haproxy().ok_or(BalancerError::Missing)?,
    };
    Ok(docker::ensure_host_program_image(resources.docker(), &spec).await?)
}
