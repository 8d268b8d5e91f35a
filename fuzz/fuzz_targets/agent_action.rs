//! The Agent API's action body (`POST /v1/targets/{name}/actions`), parsed and checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = sim::agent::parse_action_body(body);
});
