//! Prometheus text from a target's `/metrics`, through the healer's scraper: two scrapes (the
//! input split at its first form feed, `\x0c`; without one the same text twice), so that rates
//! and histogram quantiles are derived too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| healer::fuzzing::prometheus_text(text));
