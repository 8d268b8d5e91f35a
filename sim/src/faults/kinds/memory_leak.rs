//! `memory-leak`: the built-in target holds on to memory, steadily, all at once, or per request
//! served (exactly one of `rate`, `amount`, `per_request`).

use std::time::Duration;

use specfile::Scalar;

use super::Fault;
use crate::docker::TargetContainer;
use crate::faults::chaos::Chaos;
use crate::faults::{FaultError, Injector};
use crate::scenario::KindCompiler;

/// How a memory leak grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leak {
    /// Steadily, this many bytes per second.
    Rate { bytes_per_sec: u64 },
    /// All at once.
    Amount { bytes: u64 },
    /// This many bytes per request served.
    PerRequest { bytes: u64 },
}

const MIB: f64 = 1024.0 * 1024.0;

impl Chaos for Leak {
    fn query(&self, _window: Option<Duration>) -> String {
        match self {
            Leak::Rate { bytes_per_sec } => {
                format!("leak-rate?mib_per_sec={}", *bytes_per_sec as f64 / MIB)
            }
            Leak::Amount { bytes } => format!("leak?mib={}", *bytes as f64 / MIB),
            Leak::PerRequest { bytes } => format!("leak-per-request?bytes={bytes}"),
        }
    }

    fn clear_query(&self) -> Option<&'static str> {
        match self {
            Leak::Rate { .. } => Some("leak-rate?mib_per_sec=0"),
            Leak::PerRequest { .. } => Some("leak-per-request?bytes=0"),
            Leak::Amount { .. } => None,
        }
    }
}

impl Fault for Leak {
    const NAME: &'static str = "memory-leak";
    const FIELDS: &'static [&'static str] = &["rate", "amount", "per_request"];
    const LASTS: bool = true;

    /// Exactly one of `rate`, `amount`, `per_request`.
    fn compile(f: &mut KindCompiler<'_, '_>) -> Option<Self> {
        let spec = f.spec;
        let given: Vec<(&str, &Scalar)> = [
            ("rate", &spec.rate),
            ("amount", &spec.amount),
            ("per_request", &spec.per_request),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|value| (name, value)))
        .collect();
        let [(name, value)] = given[..] else {
            if given.is_empty() {
                f.push(
                    "",
                    "a memory-leak fault needs one of: rate, amount, per_request",
                    Some("add e.g. `rate: 32MiB/s`".into()),
                );
            } else {
                let names: Vec<&str> = given.iter().map(|(name, _)| *name).collect();
                f.push(
                    names[1],
                    format!(
                        "give exactly one of rate, amount, per_request; this fault has {}",
                        names.join(" and ")
                    ),
                    Some("keep one and remove the others".into()),
                );
            }
            return None;
        };
        let field = f.field(name);
        let bytes = if name == "rate" {
            f.problems().rate(&field, value.as_str())?
        } else {
            f.problems().size(&field, value.as_str())?
        };
        if bytes == 0 {
            f.push(name, "must be more than 0", None);
            return None;
        }
        Some(match name {
            "rate" => Leak::Rate {
                bytes_per_sec: bytes,
            },
            "amount" => Leak::Amount { bytes },
            _ => Leak::PerRequest { bytes },
        })
    }

    async fn inject(
        &self,
        injector: &Injector,
        target: &TargetContainer,
        window: Option<Duration>,
    ) -> Result<(), FaultError> {
        injector.chaos(target, self, window).await
    }

    async fn clear(&self, injector: &Injector, target: &TargetContainer) -> Result<(), FaultError> {
        injector.chaos_clear(target, self).await
    }

    fn describe(&self, window: Option<Duration>) -> String {
        self.query(window)
    }
}
