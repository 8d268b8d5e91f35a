//! Images onto every node without a registry: exported from the host's engine once (`docker
//! save`), imported into each node (`docker load`), and checked to have the same image id there.

use bollard::query_parameters::ImportImageOptionsBuilder;
use bollard::Docker;
use bytes::{Bytes, BytesMut};
use futures_util::future::try_join_all;
use futures_util::{StreamExt, TryStreamExt};
use tokio::time::Instant;

use super::form::ms;
use super::state::NodeRecord;
use super::SwarmError;

/// Copies `image` (a tag or id on `host`) to every node; returns its id, the same everywhere.
pub(super) async fn load(
    host: &Docker,
    nodes: &[(NodeRecord, Docker)],
    image: &str,
) -> Result<String, SwarmError> {
    let started = Instant::now();
    let host_failed = |step| {
        move |source| SwarmError::Docker {
            node: "the host".to_owned(),
            step,
            source,
        }
    };
    let id = host
        .inspect_image(image)
        .await
        .map_err(host_failed("image inspect"))?
        .id
        .unwrap_or_default();
    let archive: BytesMut = host
        .export_images(&[image])
        .try_fold(BytesMut::new(), |mut all, chunk| async move {
            all.extend_from_slice(&chunk);
            Ok(all)
        })
        .await
        .map_err(host_failed("image save"))?;
    let archive = archive.freeze();
    tracing::info!(
        image,
        bytes = archive.len(),
        elapsed_ms = ms(started),
        "image exported"
    );
    let imports = nodes
        .iter()
        .map(|(node, docker)| import(node, docker, image, &id, archive.clone()));
    try_join_all(imports).await?;
    tracing::info!(
        image,
        nodes = nodes.len(),
        elapsed_ms = ms(started),
        "image on every node"
    );
    Ok(id)
}

async fn import(
    node: &NodeRecord,
    docker: &Docker,
    image: &str,
    id: &str,
    archive: Bytes,
) -> Result<(), SwarmError> {
    let failed = |step| {
        let node = node.name.clone();
        move |source| SwarmError::Docker { node, step, source }
    };
    let options = ImportImageOptionsBuilder::new().quiet(true).build();
    let mut progress = docker.import_image(options, bollard::body_full(archive), None);
    while let Some(info) = progress.next().await {
        info.map_err(failed("image load"))?;
    }
    let loaded = docker
        .inspect_image(image)
        .await
        .map_err(failed("image inspect"))?
        .id
        .unwrap_or_default();
    if loaded != id {
        return Err(SwarmError::Image {
            image: image.to_owned(),
            node: node.name.clone(),
            detail: format!("loaded as {loaded}, the host has {id}"),
        });
    }
    Ok(())
}
