//! Restart and stop of a container, with the least the engine has to do: a container that does
//! not run is only started; one that runs is stopped with the step's grace (its stop signal,
//! then SIGKILL; without a grace a kill at once), waited for until it no longer runs, then
//! started.
//!
//! Why not Docker's own `restart`: it always stops first, with its grace, and took 0.36-0.44 s
//! on an already exited container here, where `start` alone takes ~0.25 s. And a hung process
//! cannot handle SIGTERM, so a graceful stop of it only waits out the grace.
//!
//! A paused container needs no unpause first: Docker (20.10, tried here) delivers a kill or stop
//! signal to a paused container and then resumes it, so SIGKILL ends it at once (~0.1 s, exit
//! 137) and SIGTERM reaches a process that runs again.

use std::time::Duration;

use bollard::errors::Error;
use bollard::query_parameters::{
    KillContainerOptionsBuilder, StartContainerOptions, StopContainerOptionsBuilder,
    WaitContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::{action_error, not_modified, DockerPlatform};
use crate::platform::{BoxError, PlatformError};
use crate::signal::TargetRef;

impl DockerPlatform {
    /// [`Platform::restart`](crate::Platform::restart) without its time limit.
    pub(super) async fn restart_now(
        &self,
        target: &TargetRef,
        grace: Duration,
    ) -> Result<(), PlatformError> {
        let failed = |source: BoxError| PlatformError::Restart {
            target: target.name.clone(),
            source,
        };
        if self.running(target).await? {
            self.halt(target, grace).await.map_err(failed)?;
        }
        match self
            .docker
            .start_container(&target.id, None::<StartContainerOptions>)
            .await
        {
            // 304: something else started it in the meantime; it runs, as wanted.
            Err(error) if !not_modified(&error) => Err(failed(format!("start: {error}").into())),
            _ => {
                super::forget_stale_neighbors(&self.docker, &target.id).await;
                Ok(())
            }
        }
    }

    /// [`Platform::stop`](crate::Platform::stop) without its time limit.
    pub(super) async fn stop_now(
        &self,
        target: &TargetRef,
        grace: Duration,
    ) -> Result<(), PlatformError> {
        self.halt(target, grace)
            .await
            .map_err(|source| action_error(target, "stop", source))
    }

    /// Whether the container runs (paused counts as running).
    async fn running(&self, target: &TargetRef) -> Result<bool, PlatformError> {
        let inspect = self.inspect(target).await?;
        Ok(inspect
            .state
            .and_then(|state| state.running)
            .unwrap_or(false))
    }

    /// Ends the container's process: SIGKILL when `grace` is zero, else Docker's stop (the
    /// container's stop signal, SIGKILL after `grace`, which Docker counts in whole seconds:
    /// rounded up). Returns once the container no longer runs. A container that already
    /// stopped is fine.
    async fn halt(&self, target: &TargetRef, grace: Duration) -> Result<(), BoxError> {
        if grace.is_zero() {
            let options = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
            match self.docker.kill_container(&target.id, Some(options)).await {
                // 409: it is not running (it died on its own in the meantime).
                Err(error) if !conflict(&error) => return Err(format!("kill: {error}").into()),
                _ => {}
            }
        } else {
            let options = StopContainerOptionsBuilder::new()
                .t(whole_seconds(grace))
                .build();
            match self.docker.stop_container(&target.id, Some(options)).await {
                Err(error) if !not_modified(&error) => return Err(format!("stop: {error}").into()),
                _ => {}
            }
        }
        // Docker's kill and stop return once the process is gone; waiting on the state makes
        // sure, so a start never meets a container still on its way down.
        let options = WaitContainerOptionsBuilder::new()
            .condition("not-running")
            .build();
        match self
            .docker
            .wait_container(&target.id, Some(options))
            .next()
            .await
        {
            // bollard reports a non-zero exit code (137 after SIGKILL) as this error.
            Some(Ok(_) | Err(Error::DockerContainerWaitError { .. })) => Ok(()),
            Some(Err(error)) => Err(format!("wait until it stopped: {error}").into()),
            None => Err("wait until it stopped: Docker gave no answer".into()),
        }
    }
}

/// `grace` in whole seconds, rounded up, as Docker's stop takes it.
fn whole_seconds(grace: Duration) -> i32 {
    i32::try_from(grace.as_millis().div_ceil(1000)).unwrap_or(i32::MAX)
}

/// Docker answers 409 to a kill of a container that does not run.
fn conflict(error: &Error) -> bool {
    matches!(
        error,
        Error::DockerResponseServerError {
            status_code: 409,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_gets_the_grace_in_whole_seconds_rounded_up() {
        let ms = Duration::from_millis;
        assert_eq!(whole_seconds(ms(0)), 0);
        assert_eq!(whole_seconds(ms(1)), 1);
        assert_eq!(whole_seconds(ms(1000)), 1);
        assert_eq!(whole_seconds(ms(1500)), 2);
        assert_eq!(whole_seconds(Duration::MAX), i32::MAX);
    }
}
