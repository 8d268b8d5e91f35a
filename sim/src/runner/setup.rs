//! What a run starts besides its trials' load and faults: the target image (or a compose
//! project's images), the preflight, the load balancer and network proxies in front of the
//! replicas, and each trial's dependency, compose project and replicas, started and waited for
//! until they answer.

use std::future::Future;
use std::path::PathBuf;

use bollard::Docker;
use journal::{Event, Sink};

use super::{RunContext, RunError};
use crate::balancer::{self, BalancerPorts};
use crate::compose::{self, ProjectImages, ProjectTrial, Services};
use crate::docker::{
    self, ContainerExtras, HealthCheck, HostProgramImage, RunResources, TargetContainer,
    TargetRestart, TargetSpec,
};
use crate::faults;
use crate::netproxy::{self, NetProxies};
use crate::prober;
use crate::progress::Progress;
use crate::scenario::{Balancer, DependencyPlan, Plan, TargetImage};
use crate::strategy::Strategy;

/// This very binary, which the built-in target's and the network proxies' images hold.
fn this_program() -> Result<PathBuf, RunError> {
    std::env::current_exe().map_err(|source| RunError::Output {
        path: PathBuf::from("/proc/self/exe"),
        source,
    })
}

/// The image to start targets from: built from this very binary for `leaky`, or the user's.
pub(super) async fn target_image(
    docker: &Docker,
    image: &TargetImage,
    progress: &Progress,
) -> Result<String, RunError> {
    match image {
        TargetImage::Leaky => {
            let program = this_program()?;
            progress.phase("sim: preparing the target image (built once per sim binary)");
            let spec = HostProgramImage::leaky(program);
            Ok(docker::ensure_host_program_image(docker, &spec).await?)
        }
        TargetImage::Local(name) => match docker.inspect_image(name).await {
            Ok(_) => Ok(name.clone()),
            Err(_) => Err(RunError::MissingImage {
                image: name.clone(),
            }),
        },
    }
}

/// What [`prepare`] had ready for the trials.
pub(super) struct Prepared {
    /// The target's image.
    pub image: String,
    /// Its next version, when a `bad-deploy` fault deploys it.
    pub next_image: Option<String>,
    pub compose_images: ProjectImages,
    pub balancer: Option<BalancerPorts>,
    pub net_proxies: NetProxies,
}

/// Everything a run needs before its first trial: a compose project's images (the target's
/// among them; else `target_image` is the target's), the images of deploy faults, the
/// preflight, then the load balancer and network proxies.
pub(super) async fn prepare(
    resources: &RunResources,
    plan: &Plan,
    target_image: Option<String>,
    strategy: &dyn Strategy,
    progress: &Progress,
) -> Result<Prepared, RunError> {
    let (image, compose_images) = match &plan.compose {
        Some(project) => {
            progress.phase(format!(
                "sim: preparing the images of compose project {}",
                project.project
            ));
            let images = compose::prepare_images(resources, project, &this_program()?).await?;
            (images.of(&plan.target.name).to_owned(), images)
        }
        None => (target_image.unwrap_or_default(), ProjectImages::default()),
    };
    let next_image = faults::prepare_deploys(resources.docker(), &plan.faults, &image).await?;
    preflight(resources, plan, &image, &compose_images, strategy, progress).await?;
    let (balancer, net_proxies) = start_balancer(resources, plan, progress).await?;
    Ok(Prepared {
        image,
        next_image,
        compose_images,
        balancer,
        net_proxies,
    })
}

/// The load balancer if the scenario has one, in front of a network proxy per replica if the
/// scenario has network faults (the compile step saw to it that it has a balancer).
async fn start_balancer(
    resources: &RunResources,
    plan: &Plan,
    progress: &Progress,
) -> Result<(Option<BalancerPorts>, NetProxies), RunError> {
    if plan.target.balancer == Balancer::None {
        return Ok((None, NetProxies::default()));
    }
    let replicas: Vec<String> = (0..plan.target.replicas)
        .map(|index| replica_name(plan, index))
        .collect();
    let (servers, net_proxies) = if plan.faults.iter().any(|f| f.kind.is_network()) {
        let proxies =
            netproxy::start(resources, &this_program()?, &replicas, plan.target.port).await?;
        progress.phase(format!(
            "sim: a network proxy in front of each of {} replica(s)",
            replicas.len()
        ));
        let aliases = replicas.iter().map(|r| netproxy::alias(r)).collect();
        (aliases, proxies)
    } else {
        (replicas, NetProxies::default())
    };
    let balancer = balancer::start(
        resources,
        &servers,
        plan.target.port,
        &plan.target.health.path,
    )
    .await?;
    progress.phase(format!(
        "sim: load balancer (HAProxy) over {} replica(s) on http://127.0.0.1:{}",
        servers.len(),
        balancer.load
    ));
    Ok((Some(balancer), net_proxies))
}

/// The container spec of replica `name` in `trial` (0: the preflight), with what its compose
/// service gives it, as `strategy` shapes it (Docker restarts it only under `docker-restart`,
/// and judges its health only under `autoheal`).
fn target_spec(
    plan: &Plan,
    image: &str,
    strategy: &dyn Strategy,
    name: String,
    trial: u32,
) -> (TargetSpec, ContainerExtras) {
    let target = &plan.target;
    let mut env: Vec<(String, String)> = target.env.clone().into_iter().collect();
    env.push(("LEAKY_PORT".to_owned(), target.port.to_string()));
    let mut spec = TargetSpec {
        name,
        image: image.to_owned(),
        port: target.port,
        health_path: target.health.path.clone(),
        memory_bytes: target.memory_bytes,
        nano_cpus: target.nano_cpus,
        env,
        trial,
        restart: TargetRestart::No,
        healthcheck: target
            .healthcheck
            .then(|| HealthCheck::builtin(target.port, &target.health.path)),
        labels: vec![],
    };
    let service = plan
        .compose
        .as_ref()
        .and_then(|project| Some((project, project.service(&target.name)?)));
    let extras = service.map_or_else(ContainerExtras::default, |(project, service)| {
        compose::shape(project, service, &mut spec)
    });
    strategy.shape_target(&mut spec);
    (spec, extras)
}

fn replica_name(plan: &Plan, index: u32) -> String {
    format!("{}-{index}", plan.target.name)
}

/// Starts one replica outside any trial (with its compose project around it) and waits until it
/// answers, then removes it all. A target that cannot start fails here, with a clear error,
/// before any trial; and the first trial no longer pays for a cold start (its binary's pages
/// being read in under its memory limit).
async fn preflight(
    resources: &RunResources,
    plan: &Plan,
    image: &str,
    compose_images: &ProjectImages,
    strategy: &dyn Strategy,
    progress: &Progress,
) -> Result<(), RunError> {
    progress.phase("sim: preflight: starting one target to check it answers");
    start_dependency(resources, plan, image, 0).await?;
    let (spec, extras) = target_spec(plan, image, strategy, "preflight".to_owned(), 0);
    let (spec_ref, extras_ref) = (&spec, &extras);
    let start = move || async move {
        Ok::<_, RunError>(vec![
            resources.start_target_with(spec_ref, extras_ref).await?,
        ])
    };
    let (started, _) = start_project(
        resources,
        plan,
        compose_images,
        0,
        &journal::MemorySink::default(),
        start,
    )
    .await?;
    let url = health_url(&started[0], &plan.target.health.path);
    let health = &plan.target.health;
    let ready = prober::wait_until_healthy(&url, health.timeout, plan.target.startup_timeout).await;
    resources.remove_trial(0).await?;
    if !ready {
        return Err(RunError::TargetNotReady {
            target: spec.name,
            seconds: plan.target.startup_timeout.as_secs_f64(),
        });
    }
    Ok(())
}

/// Starts the target's replicas with `start_target` and, when the target is a compose service,
/// every other service of its project around them, in the project's order (see
/// [`compose::up`]); companions' starts are journalled in `journal`. Gives the replicas and
/// every service's containers.
pub(super) async fn start_project<F, Fut>(
    resources: &RunResources,
    plan: &Plan,
    images: &ProjectImages,
    trial: u32,
    journal: &dyn Sink,
    mut start_target: F,
) -> Result<(Vec<TargetContainer>, Services), RunError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Vec<TargetContainer>, RunError>>,
{
    let Some(project) = &plan.compose else {
        return Ok((start_target().await?, Services::default()));
    };
    let project_trial = ProjectTrial {
        resources,
        project,
        images,
        trial,
        startup_timeout: plan.target.startup_timeout,
        journal,
    };
    let services = compose::up(&project_trial, Some(&plan.target.name), start_target).await?;
    Ok((services.of(&plan.target.name).to_vec(), services))
}

/// Starts the scenario's dependency for `trial` (0: the preflight), if it has one, and waits
/// until it answers: the replicas are healthy only once it does. It is the built-in target, with
/// the target's limits.
pub(super) async fn start_dependency(
    resources: &RunResources,
    plan: &Plan,
    image: &str,
    trial: u32,
) -> Result<Option<TargetContainer>, RunError> {
    let Some(dependency) = &plan.dependency else {
        return Ok(None);
    };
    let target = &plan.target;
    let port = DependencyPlan::PORT;
    let spec = TargetSpec {
        name: dependency.name.clone(),
        image: image.to_owned(),
        port,
        health_path: "/health".to_owned(),
        memory_bytes: target.memory_bytes,
        nano_cpus: target.nano_cpus,
        env: vec![("LEAKY_PORT".to_owned(), port.to_string())],
        trial,
        restart: TargetRestart::No,
        healthcheck: None,
        // What the `restart-dependency` runbook selects by.
        labels: vec![("role".to_owned(), "dependency".to_owned())],
    };
    let container = resources.start_target(&spec).await?;
    let url = health_url(&container, &spec.health_path);
    if !prober::wait_until_healthy(&url, target.health.timeout, target.startup_timeout).await {
        return Err(RunError::TargetNotReady {
            target: container.name,
            seconds: target.startup_timeout.as_secs_f64(),
        });
    }
    Ok(Some(container))
}

pub(super) async fn start_replicas(
    context: &RunContext,
    trial: u32,
) -> Result<Vec<TargetContainer>, RunError> {
    let target = &context.plan.target;
    let mut replicas = Vec::new();
    for index in 0..target.replicas {
        let name = replica_name(&context.plan, index);
        let (spec, extras) = target_spec(
            &context.plan,
            &context.image,
            &*context.strategy,
            name,
            trial,
        );
        let container = context.resources.start_target_with(&spec, &extras).await?;
        context.journal.record(Event::TargetStarted {
            target: container.name.clone(),
            container_id: container.id.clone(),
            host_port: container.host_port,
        });
        replicas.push(container);
    }
    for replica in &replicas {
        let url = health_url(replica, &target.health.path);
        if !prober::wait_until_healthy(&url, target.health.timeout, target.startup_timeout).await {
            return Err(RunError::TargetNotReady {
                target: replica.name.clone(),
                seconds: target.startup_timeout.as_secs_f64(),
            });
        }
        context.journal.record(Event::TargetReady {
            target: replica.name.clone(),
        });
    }
    Ok(replicas)
}

pub(super) fn health_url(replica: &TargetContainer, path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", replica.host_port)
}
