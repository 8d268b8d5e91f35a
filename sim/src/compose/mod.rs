//! A Docker Compose project as the system under test: `target: { compose: FILE, service: NAME }`
//! in a scenario. `spec` is the file as written, `compile` checks it (every problem located)
//! into `plan`: every service, in start order.

mod compile;
mod images;
mod plan;
mod spec;
mod up;

pub use compile::{compile, load, ComposeFile};
pub use images::{prepare_images, ComposeError, ProjectImages};
pub use plan::{
    BuiltInImage, ComposePlan, Condition, ServiceDependency, ServiceHealthcheck, ServiceImage,
    ServicePlan, VolumeMount, VolumeSource,
};
pub use up::{shape, up, ProjectTrial, Services, PROJECT_LABEL, SERVICE_LABEL};
