//! Query parameters of the chaos controls, checked into typed requests. Unknown parameters are
//! refused too, so a typo (`?mb=5`) is a 400, not a silent no-op.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::chaos_log::{LogRequest, Stream};
use crate::rules::{self, Rule};

/// A query string, decoded.
pub(crate) type Query = HashMap<String, String>;

/// A bad query parameter; answered with 400 and the message.
#[derive(Debug, PartialEq)]
pub(crate) struct ParamError(String);

impl IntoResponse for ParamError {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, format!("{}\n", self.0)).into_response()
    }
}

/// `/chaos/cpu`: how many threads, for how long.
#[derive(Debug, PartialEq)]
pub(crate) struct Burn {
    pub threads: u32,
    pub duration: Duration,
}

/// `/chaos/latency`: fixed delay and jitter.
#[derive(Debug, PartialEq)]
pub(crate) struct Latency {
    pub fixed: Duration,
    pub jitter: Duration,
}

/// `/chaos/leak?mib=N` → bytes to leak now.
pub(crate) fn leak(q: &Query) -> Result<u64, ParamError> {
    only(q, &["mib"])?;
    required(q, "mib", &rules::MEBIBYTES)
}

/// `/chaos/leak-rate?mib_per_sec=M` → bytes per second.
pub(crate) fn leak_rate(q: &Query) -> Result<u64, ParamError> {
    only(q, &["mib_per_sec"])?;
    required(q, "mib_per_sec", &rules::MEBIBYTES)
}

/// `/chaos/leak-per-request?bytes=B` → bytes per `GET /`.
pub(crate) fn leak_per_request(q: &Query) -> Result<u64, ParamError> {
    only(q, &["bytes"])?;
    required(q, "bytes", &rules::REQUEST_BYTES)
}

/// `/chaos/cpu?threads=T&secs=S` (defaults: 1 thread, 10 s).
pub(crate) fn cpu(q: &Query) -> Result<Burn, ParamError> {
    only(q, &["threads", "secs"])?;
    Ok(Burn {
        threads: optional(q, "threads", &rules::THREADS)?.unwrap_or(1),
        duration: Duration::from_secs_f64(optional(q, "secs", &rules::SECONDS)?.unwrap_or(10.0)),
    })
}

/// `/chaos/latency?ms=X&jitter_ms=Y` (`jitter_ms` defaults to 0).
pub(crate) fn latency(q: &Query) -> Result<Latency, ParamError> {
    only(q, &["ms", "jitter_ms"])?;
    Ok(Latency {
        fixed: Duration::from_millis(required(q, "ms", &rules::MILLIS)?),
        jitter: Duration::from_millis(optional(q, "jitter_ms", &rules::MILLIS)?.unwrap_or(0)),
    })
}

/// `/chaos/crash?code=C` → exit code (default 1).
pub(crate) fn crash(q: &Query) -> Result<i32, ParamError> {
    only(q, &["code"])?;
    Ok(optional(q, "code", &rules::EXIT_CODE)?.unwrap_or(1))
}

/// `/chaos/log?line=TEXT&count=N&stream=S&fail=B` (defaults: 1 time, stderr, not failing).
pub(crate) fn log(q: &Query) -> Result<LogRequest, ParamError> {
    only(q, &["line", "count", "stream", "fail"])?;
    Ok(LogRequest {
        line: required(q, "line", &rules::LOG_LINE)?,
        count: optional(q, "count", &rules::LOG_COUNT)?.unwrap_or(1),
        stream: optional(q, "stream", &rules::STREAM)?.unwrap_or(Stream::Stderr),
        fail: optional(q, "fail", &rules::SWITCH)?.unwrap_or(false),
    })
}

/// Controls without parameters (`/chaos/hang`, `/chaos/free`).
pub(crate) fn none(q: &Query) -> Result<(), ParamError> {
    only(q, &[])
}

fn only(q: &Query, allowed: &[&str]) -> Result<(), ParamError> {
    let mut unknown: Vec<&str> = q
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort_unstable();
    let expected = if allowed.is_empty() {
        "none".to_owned()
    } else {
        allowed.join(", ")
    };
    Err(ParamError(format!(
        "unknown query parameter(s) {}; this endpoint takes: {expected}",
        unknown.join(", ")
    )))
}

fn optional<T>(q: &Query, name: &str, rule: &Rule<T>) -> Result<Option<T>, ParamError> {
    q.get(name)
        .map(|value| {
            (rule.parse)(value).ok_or_else(|| {
                ParamError(format!(
                    "query parameter {name}={value:?} is invalid: expected {}",
                    rule.expected
                ))
            })
        })
        .transpose()
}

fn required<T>(q: &Query, name: &str, rule: &Rule<T>) -> Result<T, ParamError> {
    optional(q, name, rule)?.ok_or_else(|| {
        ParamError(format!(
            "missing query parameter {name}: expected {}",
            rule.expected
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::MIB;

    fn query(pairs: &[(&str, &str)]) -> Query {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn message(err: ParamError) -> String {
        err.0
    }

    #[test]
    fn crash_code_defaults_to_one_and_is_checked() {
        assert_eq!(crash(&query(&[])), Ok(1));
        assert_eq!(crash(&query(&[("code", "137")])), Ok(137));
        let err = message(crash(&query(&[("code", "300")])).unwrap_err());
        assert!(
            err.contains("code=\"300\"") && err.contains("0 to 255"),
            "{err}"
        );
        assert!(crash(&query(&[("code", "x")])).is_err());
    }

    #[test]
    fn unknown_parameters_are_refused_with_the_accepted_list() {
        let err = message(leak(&query(&[("mb", "5")])).unwrap_err());
        assert!(err.contains("mb") && err.contains("mib"), "{err}");
        let err = message(none(&query(&[("now", "1")])).unwrap_err());
        assert!(err.contains("none"), "{err}");
        assert_eq!(none(&query(&[])), Ok(()));
    }

    #[test]
    fn missing_required_parameter_is_named() {
        let err = message(leak_rate(&query(&[])).unwrap_err());
        assert!(
            err.contains("missing") && err.contains("mib_per_sec"),
            "{err}"
        );
    }

    #[test]
    fn log_lines_are_one_line_and_counted() {
        let line = "FATAL: database connection pool exhausted";
        assert_eq!(
            log(&query(&[("line", line)])),
            Ok(LogRequest {
                line: line.to_owned(),
                count: 1,
                stream: Stream::Stderr,
                fail: false
            })
        );
        let all = log(&query(&[
            ("line", line),
            ("count", "5"),
            ("stream", "stdout"),
            ("fail", "true"),
        ]))
        .unwrap();
        assert_eq!((all.count, all.stream, all.fail), (5, Stream::Stdout, true));
        let err = message(log(&query(&[("line", "a\nb")])).unwrap_err());
        assert!(err.contains("one line"), "{err}");
        assert!(log(&query(&[("line", "")])).is_err());
        assert!(log(&query(&[("line", &"x".repeat(1001))])).is_err());
        assert!(log(&query(&[("line", "x"), ("count", "0")])).is_err());
        assert!(log(&query(&[("line", "x"), ("count", "10001")])).is_err());
        assert!(log(&query(&[("line", "x"), ("stream", "stdin")])).is_err());
        let err = message(log(&query(&[])).unwrap_err());
        assert!(err.contains("missing query parameter line"), "{err}");
    }

    #[test]
    fn good_parameters_become_typed_requests() {
        assert_eq!(leak(&query(&[("mib", "2")])), Ok(2 * MIB));
        assert_eq!(leak_per_request(&query(&[("bytes", "512")])), Ok(512));
        assert_eq!(
            cpu(&query(&[("threads", "3"), ("secs", "0.5")])),
            Ok(Burn {
                threads: 3,
                duration: Duration::from_millis(500)
            })
        );
        assert_eq!(
            cpu(&query(&[])),
            Ok(Burn {
                threads: 1,
                duration: Duration::from_secs(10)
            })
        );
        assert_eq!(
            latency(&query(&[("ms", "20")])),
            Ok(Latency {
                fixed: Duration::from_millis(20),
                jitter: Duration::ZERO
            })
        );
        assert!(cpu(&query(&[("threads", "0")])).is_err());
        assert!(latency(&query(&[("ms", "-5")])).is_err());
    }
}
