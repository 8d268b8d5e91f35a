//! Connecting to the Docker engine, with a clear message when there is none.

use bollard::Docker;

/// The Docker engine is missing or unusable: the environment, not the input, is at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvError {
    #[error(
        "no Docker engine answers ({detail}).\n  fix: start one (`sudo systemctl start docker`, or \
         `sudo dockerd &`), install it (`sudo apt-get install docker.io`), or point DOCKER_HOST \
         at a running engine"
    )]
    NoEngine { detail: String },
}

/// Connects to the local engine (DOCKER_HOST or the default socket) and checks it answers.
pub async fn connect() -> Result<Docker, EnvError> {
    let docker = Docker::connect_with_local_defaults().map_err(|e| EnvError::NoEngine {
        detail: e.to_string(),
    })?;
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|e| EnvError::NoEngine {
            detail: e.to_string(),
        })?;
    docker.ping().await.map_err(|e| EnvError::NoEngine {
        detail: e.to_string(),
    })?;
    Ok(docker)
}
