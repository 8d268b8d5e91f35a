//! The Docker runtime: the only part of `sim` that talks to the engine through bollard.
//!
//! Everything a run creates carries the label `sim.run=<run id>` (plus `sim.managed=true`), so
//! cleanup and `sim gc` find it by label, not by remembering it: a container the runner lost
//! track of is still removed.

mod autoheal;
mod build;
mod engine;
mod events;
mod floor;
mod gc;
mod image;
mod resolve;
mod resources;
mod sampler;

pub use autoheal::autoheal;
pub use build::{build_directory, DirectoryBuild};
pub use engine::{connect, EnvError};
pub use events::record_docker_events;
pub use floor::floor;
pub use gc::{collect_garbage, GcReport};
pub use image::{
    ensure_derived_image, ensure_host_program_image, ensure_host_program_image_with,
    HostProgramImage, ImageError,
};
pub use resolve::{resolve_image, ImageChoice, ImageOrigin, ResolvedImage};
pub use resources::{
    free_loopback_port, ContainerExtras, ContainerStatus, HealthCheck, RunResources, ServiceSpec,
    TargetContainer, TargetRestart, TargetSpec,
};
pub use sampler::{sample_resources, SAMPLE_INTERVAL};

/// Label on everything sim creates.
pub const LABEL_MANAGED: &str = "sim.managed";
/// Label carrying the run id.
pub const LABEL_RUN: &str = "sim.run";
/// Label carrying the pid of the `sim` process that owns the run (so `sim gc` spares live runs).
pub const LABEL_PID: &str = "sim.pid";
/// Label carrying when that process started (clock ticks after boot, `/proc/<pid>/stat`), so
/// a later process given the same pid is not taken for the owner, whatever its name.
pub const LABEL_PID_START: &str = "sim.pid-start";
/// Label carrying the trial number of a target container.
pub const LABEL_TRIAL: &str = "sim.trial";
/// Label carrying a target replica's name (`leaky-0`), as the journal names it.
pub const LABEL_TARGET: &str = "sim.target";
