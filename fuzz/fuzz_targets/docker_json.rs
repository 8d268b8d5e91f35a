//! Docker event and stats JSON as the healer's Docker platform decodes it (serde, as bollard
//! does) and reads it: every input is tried as both.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|json: &[u8]| {
    healer::fuzzing::docker_event(json);
    healer::fuzzing::docker_stats(json);
});
