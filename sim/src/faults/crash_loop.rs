//! The crash-loop fault: a marker file in the replica's filesystem that makes the built-in
//! target refuse to start (see `leaky::CRASH_ON_START_VAR`), written before the target is
//! crashed and emptied when the fault ends. It lives in the container's own layer, so removing
//! the container removes it too.

use bollard::query_parameters::UploadToContainerOptionsBuilder;
use bollard::Docker;

/// Where the marker goes inside the replica (the root is the only directory a scratch image
/// is sure to have).
pub const MARKER_PATH: &str = "/sim-crash-loop";

/// Arms (`armed`) or disarms the marker in container `id`; works on a stopped container too.
pub async fn set_marker(
    docker: &Docker,
    id: &str,
    armed: bool,
) -> Result<(), bollard::errors::Error> {
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
