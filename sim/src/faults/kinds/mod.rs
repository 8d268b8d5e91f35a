//! Every kind of fault, one module each, and the registry that lists them.
//!
//! A kind is a type implementing `Fault`: its `kind:` name, its own fields, whether it
//! lasts, how those fields compile into the plan (every problem located), and how it is
//! injected into, cleared from and described for a target. The type is also what the plan
//! holds: [`FaultKind`] has one variant per kind, wrapping it, so the plan stays `PartialEq`
//! and `Debug` and every dispatch below is an exhaustive `match`.
//!
//! Adding a kind: a module here (declared and re-exported below) and one line in the
//! `registry!` call at the bottom.

mod bad_deploy;
mod cpu_burn;
mod crash;
mod crash_loop;
mod dependency_outage;
mod hang;
mod kill;
mod latency;
mod log_error;
mod memory_leak;
mod monitoring_outage;
mod network_errors;
mod network_latency;
mod network_loss;
mod node_crash;
mod node_partition;
mod pause;
mod resource_squeeze;

use std::time::Duration;

use super::{FaultError, Injector};
use crate::docker::TargetContainer;
use crate::scenario::KindCompiler;

pub use bad_deploy::{prepare, BadDeploy, DeployError};
pub use cpu_burn::CpuBurn;
pub use crash::Crash;
pub use crash_loop::{CrashLoop, MARKER_PATH};
pub use dependency_outage::DependencyOutage;
pub use hang::Hang;
pub use kill::Kill;
pub use latency::Latency;
pub use log_error::LogError;
pub use memory_leak::Leak;
pub use monitoring_outage::{Component as MonitoringComponent, MonitoringOutage};
pub use network_errors::NetworkErrors;
pub use network_latency::NetworkLatency;
pub use network_loss::NetworkLoss;
pub use node_crash::{node_index, NodeCrash};
pub use node_partition::NodePartition;
pub use pause::Pause;
pub use resource_squeeze::ResourceSqueeze;

/// One kind of fault: what a scenario file says about it, and what it does to a target. The
/// implementing type holds the kind's compiled fields.
pub(crate) trait Fault: Sized {
    /// The name written as `kind:` in scenario files.
    const NAME: &'static str;
    /// The fields it takes besides the common ones (`kind`, `at`, `duration`, `replica`).
    const FIELDS: &'static [&'static str];
    /// Whether it lasts (takes `duration`) rather than happens at once.
    const LASTS: bool;
    /// Whether it lives in the network path (a proxy between balancer and replica), so it
    /// needs a balancer and the runner starts the proxies.
    const IN_NETWORK: bool = false;
    /// Whether it hits the scenario's dependency rather than a replica.
    const HITS_DEPENDENCY: bool = false;

    /// Its fields from the spec, or `None` once every problem is recorded.
    fn compile(fields: &mut KindCompiler<'_, '_>) -> Option<Self>;

    /// Injects it into `target`; `window` is how long it is to last, if it says.
    async fn inject(
        &self,
        injector: &Injector,
        target: &TargetContainer,
        window: Option<Duration>,
    ) -> Result<(), FaultError>;

    /// Removes it from `target` when its window ends; by default there is nothing to undo.
    async fn clear(&self, injector: &Injector, target: &TargetContainer) -> Result<(), FaultError> {
        let _ = (injector, target);
        Ok(())
    }

    /// How the journal describes its injection: the chaos request, the signal sent, or the
    /// Docker change made.
    fn describe(&self, window: Option<Duration>) -> String;
}

/// What the compile step knows of a kind before it has its fields.
pub(crate) struct Entry {
    pub name: &'static str,
    pub fields: &'static [&'static str],
    pub lasts: bool,
    pub in_network: bool,
    pub hits_dependency: bool,
    pub compile: fn(&mut KindCompiler<'_, '_>) -> Option<FaultKind>,
}

/// The kind a scenario file names, if there is one by that name.
pub(crate) fn find(name: &str) -> Option<&'static Entry> {
    KINDS.iter().find(|kind| kind.name == name)
}

/// Every kind's name, as written in scenario files, in the order the docs list them.
pub fn names() -> Vec<&'static str> {
    KINDS.iter().map(|kind| kind.name).collect()
}

/// Defines [`FaultKind`] (a variant per kind), [`KINDS`] (an entry per kind) and the dispatch
/// from one to the kind's [`Fault`] implementation.
macro_rules! registry {
    ($($variant:ident($kind:ty),)*) => {
        /// What a fault does: its kind, with that kind's compiled fields.
        #[derive(Debug, Clone, PartialEq)]
        pub enum FaultKind {
            $($variant($kind),)*
        }

        /// Every kind, in the order the docs list them.
        pub(crate) const KINDS: &[Entry] = &[$(Entry {
            name: <$kind>::NAME,
            fields: <$kind>::FIELDS,
            lasts: <$kind>::LASTS,
            in_network: <$kind>::IN_NETWORK,
            hits_dependency: <$kind>::HITS_DEPENDENCY,
            compile: |fields| <$kind>::compile(fields).map(FaultKind::$variant),
        },)*];

        impl FaultKind {
            /// The name as written in scenario files.
            pub fn name(&self) -> &'static str {
                match self {
                    $(FaultKind::$variant(_) => <$kind>::NAME,)*
                }
            }

            /// Whether the fault lives in the network path (a proxy between balancer and
            /// replica).
            pub fn is_network(&self) -> bool {
                match self {
                    $(FaultKind::$variant(_) => <$kind>::IN_NETWORK,)*
                }
            }

            /// Whether the fault hits the scenario's dependency rather than a replica.
            pub fn hits_dependency(&self) -> bool {
                match self {
                    $(FaultKind::$variant(_) => <$kind>::HITS_DEPENDENCY,)*
                }
            }

            pub(super) async fn inject(
                &self,
                injector: &Injector,
                target: &TargetContainer,
                window: Option<Duration>,
            ) -> Result<(), FaultError> {
                match self {
                    $(FaultKind::$variant(kind) => kind.inject(injector, target, window).await,)*
                }
            }

            pub(super) async fn clear(
                &self,
                injector: &Injector,
                target: &TargetContainer,
            ) -> Result<(), FaultError> {
                match self {
                    $(FaultKind::$variant(kind) => kind.clear(injector, target).await,)*
                }
            }

            pub(super) fn describe(&self, window: Option<Duration>) -> String {
                match self {
                    $(FaultKind::$variant(kind) => kind.describe(window),)*
                }
            }
        }
    };
}

registry! {
    MemoryLeak(Leak),
    CpuBurn(CpuBurn),
    Latency(Latency),
    Hang(Hang),
    Crash(Crash),
    Kill(Kill),
    Pause(Pause),
    ResourceSqueeze(ResourceSqueeze),
    CrashLoop(CrashLoop),
    BadDeploy(BadDeploy),
    NetworkLatency(NetworkLatency),
    NetworkErrors(NetworkErrors),
    NetworkLoss(NetworkLoss),
    DependencyOutage(DependencyOutage),
    MonitoringOutage(MonitoringOutage),
    LogError(LogError),
    NodeCrash(NodeCrash),
    NodePartition(NodePartition),
}
