//! `crash`: the built-in target exits at once with `exit_code` (default 1).

use std::time::Duration;

use super::Fault;
use crate::docker::TargetContainer;
use crate::faults::chaos::Chaos;
use crate::faults::{FaultError, Injector};
use crate::scenario::KindCompiler;

const DEFAULT_EXIT_CODE: i32 = 1;

/// A crash, with the code the target exits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crash {
    pub exit_code: i32,
}

impl Chaos for Crash {
    fn query(&self, _window: Option<Duration>) -> String {
        format!("crash?code={}", self.exit_code)
    }
}

impl Fault for Crash {
    const NAME: &'static str = "crash";
    const FIELDS: &'static [&'static str] = &["exit_code"];
    const LASTS: bool = false;

    fn compile(f: &mut KindCompiler<'_, '_>) -> Option<Self> {
        let exit_code = f.int("exit_code", f.spec.exit_code, DEFAULT_EXIT_CODE, 0..=255)?;
        Some(Crash { exit_code })
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
