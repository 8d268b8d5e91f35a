//! `crash-loop`: the built-in target crashed now, and made to refuse every start until the
//! fault ends (a config that makes restarts fail). A marker file in the replica's filesystem
//! makes the built-in target refuse to start (see `leaky::CRASH_ON_START_VAR`); it is written
//! before the target is crashed and emptied when the fault ends. It lives in the container's
//! own layer, so removing the container removes it too.

use std::time::Duration;

use bollard::query_parameters::UploadToContainerOptionsBuilder;
use bollard::Docker;

use super::{Crash, Fault};
use crate::docker::TargetContainer;
use crate::faults::chaos::Chaos;
use crate::faults::{FaultError, Injector};
use crate::scenario::{KindCompiler, TargetImage};

/// Where the marker goes inside the replica (the root is the only directory a scratch image
/// is sure to have).
pub const MARKER_PATH: &str = "/sim-crash-loop";

/// A crash loop; no fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashLoop;

/// The crash that starts the loop.
const CRASH: Crash = Crash { exit_code: 1 };

impl Fault for CrashLoop {
    const NAME: &'static str = "crash-loop";
    const FIELDS: &'static [&'static str] = &[];
    const LASTS: bool = true;

    fn compile(f: &mut KindCompiler<'_, '_>) -> Option<Self> {
        if f.target.image != TargetImage::Leaky {
            f.push(
                "kind",
                "a crash-loop fault needs the built-in target (`image: leaky`), which reads \
                 the marker file that makes its restarts fail",
                None,
            );
            return None;
        }
        Some(CrashLoop)
    }

    async fn inject(
        &self,
        injector: &Injector,
        target: &TargetContainer,
        _window: Option<Duration>,
    ) -> Result<(), FaultError> {
        set_marker(&injector.docker, &target.container, true)
            .await
            .map_err(FaultError::docker(target))?;
        injector.chaos(target, &CRASH, None).await
    }

    async fn clear(&self, injector: &Injector, target: &TargetContainer) -> Result<(), FaultError> {
        set_marker(&injector.docker, &target.container, false)
            .await
            .map_err(FaultError::docker(target))
    }

    fn describe(&self, _window: Option<Duration>) -> String {
        format!("marker {MARKER_PATH} + {}", CRASH.query(None))
    }
}

/// Arms (`armed`) or disarms the marker in container `id`; works on a stopped container too.
async fn set_marker(docker: &Docker, id: &str, armed: bool) -> Result<(), bollard::errors::Error> {
    let content: &[u8] = if armed { b"crash-loop\n" } else { b"" };
    let archive = marker_archive(content).map_err(bollard::errors::Error::from)?;
    let options = UploadToContainerOptionsBuilder::new().path("/").build();
    docker
        .upload_to_container(id, Some(options), bollard::body_full(archive.into()))
        .await
}

/// A tar holding the marker file with `content`, to extract at `/`.
fn marker_archive(content: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    let mut tar = tar::Builder::new(Vec::new());
    tar.append_data(&mut header, MARKER_PATH.trim_start_matches('/'), content)?;
    tar.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_archive_holds_one_file_at_the_marker_path() {
        for content in [&b"crash-loop\n"[..], b""] {
            let bytes = marker_archive(content).unwrap();
            let mut archive = tar::Archive::new(bytes.as_slice());
            let entries: Vec<(String, Vec<u8>)> = archive
                .entries()
                .unwrap()
                .map(|entry| {
                    let mut entry = entry.unwrap();
                    let path = entry.path().unwrap().to_string_lossy().into_owned();
                    let mut body = Vec::new();
                    std::io::Read::read_to_end(&mut entry, &mut body).unwrap();
                    (path, body)
                })
                .collect();
            assert_eq!(entries, [("sim-crash-loop".to_owned(), content.to_vec())]);
        }
    }
}
