//! Image resolution without surprises, for any third-party program a run needs (Prometheus,
//! Alertmanager, a load balancer): a local image, else the official image if a registry answers
//! in time, else a scratch image of the program installed on the host, else a clear error
//! saying how to get one.

use std::path::PathBuf;
use std::time::Duration;

use bollard::query_parameters::CreateImageOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

use super::image::{ensure_host_program_image_with, HostProgramImage, ImageError};

/// Where an image can come from, in the order they are tried.
#[derive(Debug, Clone)]
pub struct ImageChoice {
    /// The official image, e.g. `prom/prometheus:latest`: used if present locally, pulled if a
    /// registry answers within the pull timeout. Its entrypoint must be the program itself, so
    /// the same arguments work for every origin.
    pub official: String,
    /// The host program to package when there is no official image, e.g. `/usr/bin/prometheus`;
    /// its image's entrypoint is the program with no arguments.
    pub host_program: PathBuf,
    /// Repository of the host-program image, e.g. `sim-prometheus`.
    pub repository: String,
    /// Host files or directories copied into the host-program image (web UI assets); optional.
    pub extra_paths: Vec<PathBuf>,
    /// How a user gets the program, e.g. `apt-get install prometheus`.
    pub install_hint: String,
}

/// Where the resolved image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageOrigin {
    /// The official image was already present locally.
    Local,
    /// The official image was pulled from a registry.
    Pulled,
    /// A scratch image was built from the program installed on the host.
    HostProgram,
}

/// A resolved image: a tag Docker can start.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    pub tag: String,
    pub origin: ImageOrigin,
}

/// Resolves `choice` to an image, trying a pull for at most `pull_timeout`.
pub async fn resolve_image(
    docker: &Docker,
    choice: &ImageChoice,
    pull_timeout: Duration,
) -> Result<ResolvedImage, ImageError> {
    let found = |origin| ResolvedImage {
        tag: choice.official.clone(),
        origin,
    };
    if docker.inspect_image(&choice.official).await.is_ok() {
        return Ok(found(ImageOrigin::Local));
    }
    match tokio::time::timeout(pull_timeout, pull(docker, &choice.official)).await {
        Ok(Ok(())) => return Ok(found(ImageOrigin::Pulled)),
        Ok(Err(detail)) => tracing::debug!(image = %choice.official, %detail, "pull failed"),
        Err(_) => tracing::debug!(image = %choice.official, "pull timed out"),
    }
    if !choice.host_program.is_file() {
        return Err(ImageError::Unavailable {
            image: choice.official.clone(),
            program: choice.host_program.clone(),
            hint: choice.install_hint.clone(),
        });
    }
    let spec = HostProgramImage {
        repository: choice.repository.clone(),
        program: choice.host_program.clone(),
        args: Vec::new(),
    };
    let tag = ensure_host_program_image_with(docker, &spec, &choice.extra_paths).await?;
    Ok(ResolvedImage {
        tag,
        origin: ImageOrigin::HostProgram,
    })
}

async fn pull(docker: &Docker, image: &str) -> Result<(), String> {
    let options = CreateImageOptionsBuilder::new().from_image(image).build();
    let mut progress = docker.create_image(Some(options), None, None);
    while let Some(item) = progress.next().await {
        let info = item.map_err(|e| e.to_string())?;
        if let Some(message) = info.error_detail.and_then(|d| d.message) {
            return Err(message);
        }
    }
    // A stream that ends without error can still leave nothing behind; trust only inspect.
    docker
        .inspect_image(image)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
