//! The exit codes of `sim`, documented in the README and `sim --help`.

/// Everything ran and every expectation held (or: the command succeeded).
pub const OK: i32 = 0;
/// The run completed but at least one expectation failed.
pub const EXPECTATIONS_FAILED: i32 = 1;
/// Bad input: a scenario or runbook with problems, an unknown scenario, bad flags.
pub const BAD_INPUT: i32 = 2;
/// The environment is missing something: no Docker engine, a target image that is not there.
pub const ENVIRONMENT: i32 = 3;
/// The run could not be carried out (a Docker call failed mid-run, a target never started).
pub const RUN_FAILED: i32 = 4;
/// Interrupted by Ctrl-C or SIGTERM (after cleaning up).
pub const INTERRUPTED: i32 = 130;
