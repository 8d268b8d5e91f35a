//! The `load` section: how many users send requests, for how long, to which path, through
//! which compose service.

use std::time::Duration;

use super::Compiler;
use crate::compose::ComposePlan;
use crate::scenario::plan::LoadPlan;
use crate::scenario::spec::LoadSpec;

const DEFAULT_USERS: usize = 4;
const DEFAULT_LOAD_PATH: &str = "/";
const DEFAULT_LOAD_TIMEOUT: Duration = Duration::from_secs(2);

impl Compiler<'_> {
    /// The load, and its duration if that was valid. `compose`: as [`via`](Self::via) takes it.
    pub(super) fn load(
        &mut self,
        spec: LoadSpec,
        compose: Option<Option<&ComposePlan>>,
    ) -> (LoadPlan, Option<Duration>) {
        self.p
            .unknown_fields("load", &spec.unknown, LoadSpec::FIELDS);
        let users = self.int("load.users", spec.users, DEFAULT_USERS, 1..=10_000);
        let duration = match &spec.duration {
            Some(duration) => self.p.duration("load.duration", duration.as_str()),
            None => {
                self.missing("load.duration", "duration: 30s");
                None
            }
        };
        let duration = self.nonzero("load.duration", duration);
        let path = self.url_path("load.path", spec.path, DEFAULT_LOAD_PATH);
        let timeout = self.duration_or("load.timeout", spec.timeout.as_ref(), DEFAULT_LOAD_TIMEOUT);
        let timeout = self.nonzero("load.timeout", timeout);
        let max_rps = spec
            .max_rps
            .and_then(|rps| self.int("load.max_rps", Some(rps), 0, 1..=1_000_000));
        let via = spec.via.and_then(|via| self.via(via, compose));
        let plan = LoadPlan {
            users: users.unwrap_or(DEFAULT_USERS),
            duration: duration.unwrap_or_default(),
            path,
            timeout: timeout.unwrap_or(DEFAULT_LOAD_TIMEOUT),
            max_rps,
            via,
        };
        (plan, duration)
    }
}
