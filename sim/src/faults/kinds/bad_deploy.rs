//! `bad-deploy`, built-in target only, at once: the replica replaced, as a deployer would replace it, by a container
//! of its image's next version, whose image makes the built-in target fail its health check. The
//! new container keeps the old one's name, network aliases, host port, limits and labels, and is
//! labelled `healer.previous-image` with the image it replaced, for the healer's rollback.

use std::collections::BTreeMap;
use std::time::Duration;

use bollard::Docker;

use super::{Fault, FaultKind};
use crate::docker::{self, ImageError, TargetContainer};
use crate::faults::{FaultError, Injector};
use crate::scenario::{FaultPlan, KindCompiler, TargetImage};

/// What the next version's image sets: version 2 of the built-in target, whose `/health`
/// answers 503.
const NEXT_VERSION_ENV: [(&str, &str); 2] = [("LEAKY_VERSION", "2"), ("LEAKY_FAIL_HEALTH", "true")];

/// How long replacing the container (remove, create, start) may take.
const DEPLOY_TIMEOUT: Duration = Duration::from_secs(30);

/// A deploy's cause of failure, whatever the step.
pub type DeployError = Box<dyn std::error::Error + Send + Sync>;

/// A bad deploy; no fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadDeploy;

impl Fault for BadDeploy {
    const NAME: &'static str = "bad-deploy";
    const FIELDS: &'static [&'static str] = &[];
    const LASTS: bool = false;

    fn compile(f: &mut KindCompiler<'_, '_>) -> Option<Self> {
        if f.target.image != TargetImage::Leaky {
            f.push(
                "kind",
                "a bad-deploy fault needs the built-in target (`image: leaky`): sim builds \
                 its next version, which fails its health check, from it",
                Some("use `target.image: leaky`".into()),
            );
            return None;
        }
        Some(BadDeploy)
    }

    async fn inject(
        &self,
        injector: &Injector,
        target: &TargetContainer,
        _window: Option<Duration>,
    ) -> Result<(), FaultError> {
        deploy(&injector.docker, target)
            .await
            .map_err(|source| FaultError::Deploy {
                target: target.name.clone(),
                source,
            })
    }

    fn describe(&self, _window: Option<Duration>) -> String {
        "deploy of the next version (image with LEAKY_FAIL_HEALTH=true), labelled \
         healer.previous-image"
            .to_owned()
    }
}

/// The next version of `image`: `image` with [`NEXT_VERSION_ENV`] baked in, built if missing.
async fn next_version(docker: &Docker, image: &str) -> Result<String, ImageError> {
    docker::ensure_derived_image(docker, image, &NEXT_VERSION_ENV).await
}

/// Builds the next version of `image` before the first trial when `faults` deploy one, so that
/// the injection itself does not wait for a build; gives its tag then (a swarm's nodes are
/// given it too).
pub async fn prepare(
    docker: &Docker,
    faults: &[FaultPlan],
    image: &str,
) -> Result<Option<String>, ImageError> {
    if faults
        .iter()
        .any(|fault| matches!(fault.kind, FaultKind::BadDeploy(_)))
    {
        return next_version(docker, image).await.map(Some);
    }
    Ok(None)
}

/// Replaces `target` by a container of its image's next version, under the same name.
async fn deploy(docker: &Docker, target: &TargetContainer) -> Result<(), DeployError> {
    let current = docker
        .inspect_container(&target.container, None)
        .await?
        .config
        .and_then(|config| config.image)
        .ok_or("the container names no image")?;
    let next = next_version(docker, &current).await?;
    let old = healer::TargetRef {
        id: target.container.clone(),
        name: target.name.clone(),
        labels: BTreeMap::new(),
    };
    let platform = healer::DockerPlatform::new(docker.clone());
    platform.deploy(&old, &next, DEPLOY_TIMEOUT).await?;
    Ok(())
}
