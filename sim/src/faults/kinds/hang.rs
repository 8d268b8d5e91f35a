//! `hang`: the built-in target stops answering, alive but stuck; only a restart undoes it.

use std::time::Duration;

use super::Fault;
use crate::docker::TargetContainer;
use crate::faults::chaos::Chaos;
use crate::faults::{FaultError, Injector};
use crate::scenario::KindCompiler;

/// A hang; no fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hang;

impl Chaos for Hang {
    fn query(&self, _window: Option<Duration>) -> String {
        "hang".to_owned()
    }
}

impl Fault for Hang {
    const NAME: &'static str = "hang";
    const FIELDS: &'static [&'static str] = &[];
    const LASTS: bool = true;

    fn compile(_: &mut KindCompiler<'_, '_>) -> Option<Self> {
        Some(Hang)
    }

    async fn inject(
        &self,
        injector: &Injector,
        target: &TargetContainer,
        window: Option<Duration>,
    ) -> Result<(), FaultError> {
        injector.chaos(target, self, window).await
    }

    fn describe(&self, window: Option<Duration>) -> String {
        self.query(window)
    }
}
