//! A compose service's `build:`: its context directory on the host, sent as a tar (files with
//! their modes, symlinks as links) to the engine's classic builder, minus what a plain
//! `.dockerignore` excludes.
//!
//! Only plain `.dockerignore` lines are applied: a path (a file, or a directory and everything
//! under it), comments and blank lines. A line with wildcards (`*`, `?`, `[`) or an exception
//! (`!`) is not applied, with a warning: the files it names are sent (a larger context, the same
//! image unless the Dockerfile copies them).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use bollard::query_parameters::BuildImageOptionsBuilder;
use bollard::Docker;

use super::image::run_build;
use super::ImageError;

/// One image to build from a directory.
#[derive(Debug, Clone)]
pub struct DirectoryBuild {
    pub tag: String,
    /// The context directory.
    pub context: PathBuf,
    /// Relative to the context.
    pub dockerfile: String,
    /// `--build-arg`s.
    pub args: BTreeMap<String, String>,
    pub labels: HashMap<String, String>,
}

/// Builds `build` with the classic builder; a failed build is Docker's own message.
pub async fn build_directory(docker: &Docker, build: &DirectoryBuild) -> Result<(), ImageError> {
    let context =
        context_tar(&build.context, &build.dockerfile).map_err(|source| ImageError::Read {
            path: build.context.clone(),
            source,
        })?;
    let args: HashMap<&str, &str> = build
        .args
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    tracing::info!(tag = %build.tag, context = %build.context.display(), "building image");
    let options = BuildImageOptionsBuilder::new()
        .t(&build.tag)
        .dockerfile(&build.dockerfile)
        .buildargs(&args)
        .labels(&build.labels)
        .rm(true)
        .forcerm(true)
        .build();
    run_build(docker, options, context, &build.tag).await
}

/// The tar of `context`, every entry under its path relative to `context`; the Dockerfile and
/// `.dockerignore` are always sent, as the docker CLI does.
fn context_tar(context: &Path, dockerfile: &str) -> std::io::Result<Vec<u8>> {
    let ignored = ignored_paths(context)?;
    let kept = [PathBuf::from(dockerfile), PathBuf::from(".dockerignore")];
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(false);
    let mut pending = vec![PathBuf::new()];
    while let Some(dir) = pending.pop() {
        let mut entries: Vec<_> =
            std::fs::read_dir(context.join(&dir))?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            let relative = dir.join(entry.file_name());
            if !kept.contains(&relative) && ignored.iter().any(|i| relative.starts_with(i)) {
                continue;
            }
            tar.append_path_with_name(entry.path(), &relative)?;
            if entry.file_type()?.is_dir() {
                pending.push(relative);
            }
        }
    }
    tar.into_inner()
}

/// The plain paths `.dockerignore` excludes (see the module doc); none without the file.
fn ignored_paths(context: &Path) -> std::io::Result<Vec<PathBuf>> {
    let text = match std::fs::read_to_string(context.join(".dockerignore")) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut paths = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('!') || line.contains(['*', '?', '[']) {
            tracing::warn!(
                context = %context.display(),
                "sim applies only plain paths of .dockerignore, not {line:?}: those files are sent"
            );
            continue;
        }
        let path = line.trim_start_matches("./").trim_matches('/');
        if !path.is_empty() {
            paths.push(PathBuf::from(path));
        }
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_context_keeps_modes_and_leaves_out_plain_dockerignore_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(
            root.join(".dockerignore"),
            "# comment\n/target/\nnotes.txt\n*.log\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join("target/debug")).unwrap();
        std::fs::write(root.join("target/debug/big"), "x").unwrap();
        std::fs::write(root.join("notes.txt"), "x").unwrap();
        std::fs::write(root.join("run.log"), "x").unwrap();
        std::fs::create_dir(root.join("bin")).unwrap();
        std::fs::write(root.join("bin/start"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(root.join("bin/start"), PermissionsExt::from_mode(0o755)).unwrap();

        let tar = context_tar(root, "Dockerfile").unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut entries: Vec<(String, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let mode = e.header().mode().unwrap() & 0o777;
                (e.path().unwrap().to_string_lossy().into_owned(), mode)
            })
            .collect();
        entries.sort();
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        // `*.log` is not applied: only plain paths are.
        assert_eq!(
            names,
            [".dockerignore", "Dockerfile", "bin", "bin/start", "run.log"]
        );
        assert!(entries.contains(&("bin/start".to_owned(), 0o755)));
    }
}
