//! The `expect` section: the thresholds a run's report is judged against.

use super::Compiler;
use crate::scenario::spec::ExpectSpec;

impl Compiler<'_> {
    pub(super) fn expect(&mut self, spec: ExpectSpec) -> reports::Expectations {
        self.p
            .unknown_fields("expect", &spec.unknown, ExpectSpec::FIELDS);
        let recovered_within = spec.recovered_within.and_then(|d| {
            let d = self.p.duration("expect.recovered_within", d.as_str());
            self.nonzero("expect.recovered_within", d)
        });
        let max_error_rate = spec
            .max_error_rate
            .and_then(|r| self.p.percent("expect.max_error_rate", r.as_str()));
        let min_success_rate = spec
            .min_success_rate
            .and_then(|r| self.p.percent("expect.min_success_rate", r.as_str()));
        let max_oom_kills = spec
            .max_oom_kills
            .and_then(|n| self.int("expect.max_oom_kills", Some(n), 0, 0..=1_000_000));
        let escalations = spec
            .escalations
            .and_then(|n| self.int("expect.escalations", Some(n), 0, 0..=1_000));
        let max_p99_latency = spec.max_p99_latency.and_then(|d| {
            let d = self.p.duration("expect.max_p99_latency", d.as_str());
            self.nonzero("expect.max_p99_latency", d)
        });
        reports::Expectations {
            recovered_within,
            max_error_rate,
            min_success_rate,
            max_oom_kills,
            escalations,
            healed: spec.healed,
            max_p99_latency,
        }
    }
}
