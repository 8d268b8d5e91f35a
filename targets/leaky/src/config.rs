//! Start-up configuration of the leaky service, read from `LEAKY_*` environment variables.

use std::time::Duration;

use crate::rules::{self, Rule};

/// How the service starts: its port, its version label, the work done per request and the
/// faults it carries from the start (a "bad build" is a version with faults baked in).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// TCP port to listen on (`LEAKY_PORT`, default 8080).
    pub port: u16,
    /// Version reported by `leaky_build_info` and `GET /` (`LEAKY_VERSION`, default "1").
    pub version: String,
    /// Rounds of hashing per `GET /` (`LEAKY_WORK_ITERATIONS`, default 2000).
    pub work_iterations: u32,
    /// Continuous leak in bytes per second (`LEAKY_LEAK_MIB_PER_SEC`, MiB/s, default 0).
    pub leak_bytes_per_sec: u64,
    /// Bytes leaked on every `GET /` (`LEAKY_LEAK_BYTES_PER_REQUEST`, default 0).
    pub leak_bytes_per_request: u64,
    /// Fixed delay added to `GET /` (`LEAKY_LATENCY_MS`, default 0).
    pub latency: Duration,
    /// Uniform random extra delay, 0 to this, added to `GET /` (`LEAKY_LATENCY_JITTER_MS`, default 0).
    pub latency_jitter: Duration,
    /// `/health` always answers 503: a bad deploy (`LEAKY_FAIL_HEALTH`, `1`/`true`).
    pub fail_health: bool,
    /// A dependency checked in the background (`LEAKY_DEPENDENCY_URL`, `http://host:port/path`):
    /// `/health` and `/` answer 503 while it does not answer 2xx. Default none.
    pub dependency_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 8080,
            version: "1".to_owned(),
            work_iterations: 2000,
            leak_bytes_per_sec: 0,
            leak_bytes_per_request: 0,
            latency: Duration::ZERO,
            latency_jitter: Duration::ZERO,
            fail_health: false,
            dependency_url: None,
        }
    }
}

/// A `LEAKY_*` variable holds a value the service cannot use.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The variable is set but its value is out of range or malformed.
    #[error("environment variable {var}={value:?} is invalid: expected {expected}")]
    Invalid {
        /// The variable's name, e.g. `LEAKY_PORT`.
        var: &'static str,
        /// The value found.
        value: String,
        /// What the variable should hold.
        expected: &'static str,
    },
    /// `LEAKY_CRASH_ON_START_FILE` names a file that exists and is not empty: the service
    /// refuses to start, so every restart fails (sim's `crash-loop` fault writes that file).
    #[error(
        "LEAKY_CRASH_ON_START_FILE: {path} exists and is not empty: refusing to start \
         (empty or remove the file to start again)"
    )]
    CrashOnStart {
        /// The marker file's path.
        path: String,
    },
}

/// The variable naming the service's dependency.
pub const DEPENDENCY_URL_VAR: &str = "LEAKY_DEPENDENCY_URL";

/// The variable naming the crash-loop marker file.
pub const CRASH_ON_START_VAR: &str = "LEAKY_CRASH_ON_START_FILE";

impl Config {
    /// Reads the configuration from the process environment. Unset or empty variables take
    /// their defaults. Fails at once when the crash-loop marker is in place (see
    /// [`ConfigError::CrashOnStart`]).
    pub fn from_env() -> Result<Config, ConfigError> {
        let lookup = |var: &str| std::env::var_os(var).map(|v| v.to_string_lossy().into_owned());
        check_crash_marker(lookup(CRASH_ON_START_VAR))?;
        Config::from_lookup(lookup)
    }

    /// Reads the configuration through `lookup` (variable name → value), so callers and tests
    /// need not touch the process environment. Unset or empty variables take their defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let d = Config::default();
        Ok(Config {
            port: read(&lookup, "LEAKY_PORT", &rules::PORT, d.port)?,
            version: read(&lookup, "LEAKY_VERSION", &rules::VERSION, d.version)?,
            work_iterations: read(
                &lookup,
                "LEAKY_WORK_ITERATIONS",
                &rules::ITERATIONS,
                d.work_iterations,
            )?,
            leak_bytes_per_sec: read(&lookup, "LEAKY_LEAK_MIB_PER_SEC", &rules::MEBIBYTES, 0)?,
            leak_bytes_per_request: read(
                &lookup,
                "LEAKY_LEAK_BYTES_PER_REQUEST",
                &rules::REQUEST_BYTES,
                0,
            )?,
            latency: Duration::from_millis(read(&lookup, "LEAKY_LATENCY_MS", &rules::MILLIS, 0)?),
            latency_jitter: Duration::from_millis(read(
                &lookup,
                "LEAKY_LATENCY_JITTER_MS",
                &rules::MILLIS,
                0,
            )?),
            fail_health: read(&lookup, "LEAKY_FAIL_HEALTH", &rules::SWITCH, false)?,
            dependency_url: read(&lookup, DEPENDENCY_URL_VAR, &rules::HTTP_URL, None)?,
        })
    }
}

/// Refuses to start when `path` (the value of `LEAKY_CRASH_ON_START_FILE`) names a file that
/// exists and is not empty. A missing or empty file, or no variable, starts normally.
fn check_crash_marker(path: Option<String>) -> Result<(), ConfigError> {
    match path {
        Some(path) if !path.is_empty() => {
            let armed = std::fs::metadata(&path).is_ok_and(|meta| meta.len() > 0);
            if armed {
                return Err(ConfigError::CrashOnStart { path });
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Reads one variable: unset or empty gives `default`, a value the rule refuses gives an error.
fn read<T>(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    rule: &Rule<T>,
    default: T,
) -> Result<T, ConfigError> {
    match lookup(var) {
        None => Ok(default),
        Some(value) if value.is_empty() => Ok(default),
        Some(value) => (rule.parse)(&value).ok_or(ConfigError::Invalid {
            var,
            value,
            expected: rule.expected,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|var| {
            pairs
                .iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn unset_and_empty_variables_give_defaults() {
        assert_eq!(from(&[]), Ok(Config::default()));
        assert_eq!(from(&[("LEAKY_PORT", "")]), Ok(Config::default()));
    }

    #[test]
    fn every_variable_is_read() {
        let config = from(&[
            ("LEAKY_PORT", "9000"),
            ("LEAKY_VERSION", "2"),
            ("LEAKY_WORK_ITERATIONS", "10"),
            ("LEAKY_LEAK_MIB_PER_SEC", "0.5"),
            ("LEAKY_LEAK_BYTES_PER_REQUEST", "4096"),
            ("LEAKY_LATENCY_MS", "30"),
            ("LEAKY_LATENCY_JITTER_MS", "20"),
            ("LEAKY_FAIL_HEALTH", "true"),
            ("LEAKY_DEPENDENCY_URL", "http://db:8080/health"),
        ])
        .unwrap();
        assert_eq!(
            config,
            Config {
                port: 9000,
                version: "2".into(),
                work_iterations: 10,
                leak_bytes_per_sec: 512 * 1024,
                leak_bytes_per_request: 4096,
                latency: Duration::from_millis(30),
                latency_jitter: Duration::from_millis(20),
                fail_health: true,
                dependency_url: Some("http://db:8080/health".into()),
            }
        );
    }

    #[test]
    fn a_non_empty_crash_marker_refuses_to_start_and_an_empty_one_does_not() {
        let path = std::env::temp_dir().join(format!("leaky-crash-marker-{}", std::process::id()));
        let text = path.to_string_lossy().into_owned();
        assert_eq!(check_crash_marker(None), Ok(()));
        assert_eq!(check_crash_marker(Some(String::new())), Ok(()));
        assert_eq!(check_crash_marker(Some(text.clone())), Ok(()), "no file");
        std::fs::write(&path, "crash-loop\n").unwrap();
        let armed = check_crash_marker(Some(text.clone()));
        std::fs::write(&path, "").unwrap();
        let disarmed = check_crash_marker(Some(text.clone()));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(armed, Err(ConfigError::CrashOnStart { path: text.clone() }));
        assert!(armed.unwrap_err().to_string().contains(&text));
        assert_eq!(disarmed, Ok(()));
    }

    #[test]
    fn errors_name_the_variable_the_value_and_the_expectation() {
        let cases = [
            ("LEAKY_PORT", "70000", "TCP port"),
            ("LEAKY_VERSION", "a,b", "version"),
            ("LEAKY_WORK_ITERATIONS", "-3", "rounds"),
            ("LEAKY_LEAK_MIB_PER_SEC", "fast", "MiB"),
            ("LEAKY_LEAK_BYTES_PER_REQUEST", "1.5", "bytes"),
            ("LEAKY_LATENCY_MS", "1s", "milliseconds"),
            ("LEAKY_LATENCY_JITTER_MS", "-1", "milliseconds"),
            ("LEAKY_FAIL_HEALTH", "maybe", "true"),
            ("LEAKY_DEPENDENCY_URL", "db:8080", "http://"),
        ];
        for (var, value, expected) in cases {
            let err = from(&[(var, value)]).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(var), "{text}");
            assert!(text.contains(&format!("{value:?}")), "{text}");
            assert!(text.contains(expected), "{text}");
        }
    }
}
