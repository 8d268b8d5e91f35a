//! Images without a registry: a `FROM scratch` image holding a host program and the shared
//! libraries `ldd` lists for it, built from an in-memory tar and tagged by content hash.
//!
//! The same mechanism serves the built-in target (the `sim` binary itself, started as
//! `sim target leaky`) and any other host program a scenario needs. An image whose tag (the
//! hash) already exists is reused, so only a changed binary costs a build.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use bollard::query_parameters::{BuildImageOptions, BuildImageOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::LABEL_MANAGED;

/// What to put in the image and how to start it.
#[derive(Debug, Clone)]
pub struct HostProgramImage {
    /// Image repository name, e.g. `sim-leaky`; the tag is the content hash.
    pub repository: String,
    /// The host program; it lands at `/<its file name>` inside the image.
    pub program: PathBuf,
    /// Arguments after the program in the entrypoint.
    pub args: Vec<String>,
}

impl HostProgramImage {
    /// Where Debian installs HAProxy, the program of `sim-haproxy`.
    pub const HAPROXY: &str = "/usr/sbin/haproxy";

    /// `sim-haproxy`: this host's HAProxy, its arguments given when a container of it starts;
    /// `None` when it is not installed.
    pub fn haproxy() -> Option<Self> {
        let program = PathBuf::from(Self::HAPROXY);
        program.exists().then(|| HostProgramImage {
            repository: "sim-haproxy".to_owned(),
            program,
            args: vec![],
        })
    }

    /// The built-in target: `program` (the `sim` binary) started as `sim target leaky`.
    pub fn leaky(program: PathBuf) -> Self {
        HostProgramImage {
            repository: "sim-leaky".to_owned(),
            program,
            args: vec!["target".to_owned(), "leaky".to_owned()],
        }
    }
}

/// Building an image failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot list the shared libraries of {path} with ldd: {detail}")]
    Ldd { path: PathBuf, detail: String },
    #[error("docker could not build image {tag}: {detail}")]
    Build { tag: String, detail: String },
    #[error(
        "no image for {program}: {image} is not present locally, no registry answered, and \
         {program} is not installed on this host; install it with `{hint}` (or load {image})",
        program = program.display()
    )]
    Unavailable {
        image: String,
        program: PathBuf,
        hint: String,
    },
}

/// Returns the tag of an image holding `spec`, building it only if no image has that content.
pub async fn ensure_host_program_image(
    docker: &Docker,
    spec: &HostProgramImage,
) -> Result<String, ImageError> {
    ensure_host_program_image_with(docker, spec, &[]).await
}

/// Like [`ensure_host_program_image`], plus host files or directories (copied recursively) at the
/// same absolute path inside the image, e.g. a program's web assets. Paths that do not exist are
/// skipped: extras are optional by nature.
pub async fn ensure_host_program_image_with(
    docker: &Docker,
    spec: &HostProgramImage,
    extra_paths: &[PathBuf],
) -> Result<String, ImageError> {
    let program_in_image = program_path_in_image(&spec.program);
    let mut files = image_files(&spec.program, &program_in_image)?;
    for path in extra_paths {
        add_tree(path, &mut files)?;
    }
    let dockerfile = dockerfile(&program_in_image, &spec.args);
    let tag = format!("{}:{}", spec.repository, content_hash(&dockerfile, &files));
    build(docker, &tag, &dockerfile, &files, &spec.program).await?;
    Ok(tag)
}

/// Returns the tag of an image that is `base` with `env` baked into its configuration (a "next
/// version" of it), building it only if it does not exist yet. Its tag is `base`'s plus a hash
/// of the change, so it differs from `base`'s and is stable for the same `base` and `env`. Only
/// metadata changes: no file is copied, and `base` is local, so nothing is pulled.
pub async fn ensure_derived_image(
    docker: &Docker,
    base: &str,
    env: &[(&str, &str)],
) -> Result<String, ImageError> {
    let variables: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    let dockerfile = format!("FROM {base}\nENV {}\n", variables.join(" "));
    let tag = format!("{base}-{}", content_hash(&dockerfile, &BTreeMap::new()));
    build(docker, &tag, &dockerfile, &BTreeMap::new(), Path::new(base)).await?;
    Ok(tag)
}

/// Builds `tag` from `dockerfile` and `files` unless an image `tag` exists; `origin` names what
/// the image is made from in errors.
async fn build(
    docker: &Docker,
    tag: &str,
    dockerfile: &str,
    files: &BTreeMap<String, Vec<u8>>,
    origin: &Path,
) -> Result<(), ImageError> {
    if docker.inspect_image(tag).await.is_ok() {
        tracing::debug!(%tag, "image up to date");
        return Ok(());
    }
    tracing::info!(%tag, files = files.len(), "building image");
    let context = build_context(dockerfile, files).map_err(|source| ImageError::Read {
        path: origin.to_owned(),
        source,
    })?;
    let labels = HashMap::from([(LABEL_MANAGED, "true")]);
    let options = BuildImageOptionsBuilder::new()
        .t(tag)
        .rm(true)
        .forcerm(true)
        .labels(&labels)
        .build();
    run_build(docker, options, context, tag).await
}

/// Builds with `options` from the tar `context`; Docker's own message when it fails.
pub(super) async fn run_build(
    docker: &Docker,
    options: BuildImageOptions,
    context: Vec<u8>,
    tag: &str,
) -> Result<(), ImageError> {
    let mut progress = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    while let Some(item) = progress.next().await {
        let info = item.map_err(|e| ImageError::Build {
            tag: tag.to_owned(),
            detail: e.to_string(),
        })?;
        if let Some(detail) = info.error_detail.and_then(|d| d.message) {
            return Err(ImageError::Build {
                tag: tag.to_owned(),
                detail,
            });
        }
    }
    Ok(())
}

fn program_path_in_image(program: &Path) -> String {
    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    format!("/{}", name.unwrap_or_else(|| "program".to_owned()))
}

/// The program and its shared libraries, by their absolute path inside the image.
fn image_files(
    program: &Path,
    program_in_image: &str,
) -> Result<BTreeMap<String, Vec<u8>>, ImageError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| ImageError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let mut files = BTreeMap::from([(program_in_image.to_owned(), read(program)?)]);
    for library in shared_libraries(program)? {
        files.insert(library.to_string_lossy().into_owned(), read(&library)?);
    }
    Ok(files)
}

/// Adds `path` (a file, or a directory walked recursively) to `files` at its own absolute path.
fn add_tree(path: &Path, files: &mut BTreeMap<String, Vec<u8>>) -> Result<(), ImageError> {
    let read_error = |source| ImageError::Read {
        path: path.to_owned(),
        source,
    };
    let Ok(metadata) = std::fs::metadata(path) else {
        return Ok(());
    };
    if metadata.is_dir() {
        for entry in std::fs::read_dir(path).map_err(read_error)? {
            add_tree(&entry.map_err(read_error)?.path(), files)?;
        }
    } else if path.is_absolute() {
        let bytes = std::fs::read(path).map_err(read_error)?;
        files.insert(path.to_string_lossy().into_owned(), bytes);
    }
    Ok(())
}

/// Runs `ldd` and returns the absolute paths of the libraries (and loader) it lists.
fn shared_libraries(program: &Path) -> Result<Vec<PathBuf>, ImageError> {
    let output = Command::new("ldd")
        .arg(program)
        .output()
        .map_err(|e| ImageError::Ldd {
            path: program.to_owned(),
            detail: e.to_string(),
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        // A static binary: ldd says "not a dynamic executable" and exits 1. Nothing to copy.
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stdout.contains("not a dynamic executable") || stderr.contains("not a dynamic") {
            return Ok(Vec::new());
        }
        return Err(ImageError::Ldd {
            path: program.to_owned(),
            detail: stderr.trim().to_owned(),
        });
    }
    parse_ldd(&stdout).map_err(|detail| ImageError::Ldd {
        path: program.to_owned(),
        detail,
    })
}

/// Parses `ldd` output: `libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x…)` and
/// `/lib64/ld-linux-x86-64.so.2 (0x…)`; `linux-vdso.so.1 (0x…)` has no file and is skipped.
fn parse_ldd(output: &str) -> Result<Vec<PathBuf>, String> {
    let mut paths = Vec::new();
    for line in output.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.contains("=> not found") {
            return Err(format!("missing library: {line}"));
        }
        let path = match line.split_once("=>") {
            Some((_, right)) => right.trim(),
            None => line,
        };
        let path = path.split(" (").next().unwrap_or(path).trim();
        if path.starts_with('/') {
            paths.push(PathBuf::from(path));
        }
    }
    Ok(paths)
}

fn dockerfile(program_in_image: &str, args: &[String]) -> String {
    let entrypoint: Vec<String> = std::iter::once(program_in_image.to_owned())
        .chain(args.iter().cloned())
        .map(|s| format!("{s:?}"))
        .collect();
    format!(
        "FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [{}]\n",
        entrypoint.join(", ")
    )
}

fn content_hash(dockerfile: &str, files: &BTreeMap<String, Vec<u8>>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(dockerfile.as_bytes());
    for (path, bytes) in files {
        hasher.update(path.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    let digest = hasher.finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn build_context(dockerfile: &str, files: &BTreeMap<String, Vec<u8>>) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    append(&mut tar, "Dockerfile", dockerfile.as_bytes(), 0o644)?;
    for (path, bytes) in files {
        append(&mut tar, &format!("rootfs{path}"), bytes, 0o755)?;
    }
    tar.into_inner()
}

/// Appends one regular file to an in-memory tar.
pub(super) fn append(
    tar: &mut tar::Builder<Vec<u8>>,
    path: &str,
    bytes: &[u8],
    mode: u32,
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(mode);
    header.set_cksum();
    tar.append_data(&mut header, path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_yields_library_paths_and_loader() {
        let out = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                   \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f)\n\
                   \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\
                   \t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        let paths = parse_ldd(out).unwrap();
        assert_eq!(
            paths,
            [
                "/lib/x86_64-linux-gnu/libgcc_s.so.1",
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib64/ld-linux-x86-64.so.2"
            ]
            .map(PathBuf::from)
        );
        assert!(parse_ldd("libfoo.so => not found").is_err());
    }

    #[test]
    fn the_hash_changes_with_content_and_entrypoint() {
        let files = BTreeMap::from([("/sim".to_owned(), b"one".to_vec())]);
        let changed = BTreeMap::from([("/sim".to_owned(), b"two".to_vec())]);
        let a = content_hash("FROM scratch", &files);
        assert_eq!(a, content_hash("FROM scratch", &files));
        assert_ne!(a, content_hash("FROM scratch", &changed));
        assert_ne!(a, content_hash("FROM scratch\n", &files));
    }

    #[test]
    fn the_context_holds_the_dockerfile_and_the_rootfs() {
        let files = BTreeMap::from([("/usr/bin/x".to_owned(), b"bin".to_vec())]);
        let dockerfile = dockerfile("/usr/bin/x", &["serve".to_owned()]);
        assert!(dockerfile.contains(r#"ENTRYPOINT ["/usr/bin/x", "serve"]"#));
        let context = build_context(&dockerfile, &files).unwrap();
        let mut archive = tar::Archive::new(context.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["Dockerfile", "rootfs/usr/bin/x"]);
    }
}
