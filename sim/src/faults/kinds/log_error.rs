//! `log-error`: the built-in target logs `line` (default `FATAL: database connection pool
//! exhausted`) `count` times (default 3) to stderr, and from then on `GET /` answers 503 until
//! it restarts, while `/health` goes on answering 200 and Docker sees nothing: the log is the
//! only evidence a healer's own health probe or Docker's events would not give.

use std::fmt::Write;
use std::time::Duration;

use super::Fault;
use crate::docker::TargetContainer;
use crate::faults::chaos::Chaos;
use crate::faults::{FaultError, Injector};
use crate::scenario::KindCompiler;

/// The line logged when the scenario names none.
pub const DEFAULT_LINE: &str = "FATAL: database connection pool exhausted";
const DEFAULT_COUNT: u32 = 3;
/// The target's limit on one line (`/chaos/log`).
const MAX_LINE_CHARS: usize = 1_000;

/// An error the target logs, and how many times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogError {
    pub line: String,
    pub count: u32,
}

impl Chaos for LogError {
    fn query(&self, _window: Option<Duration>) -> String {
        format!(
            "log?line={}&count={}&fail=true",
            encode(&self.line),
            self.count
        )
    }
}

/// `text` percent-encoded for a query value: everything but unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

impl Fault for LogError {
    const NAME: &'static str = "log-error";
    const FIELDS: &'static [&'static str] = &["line", "count"];
    const LASTS: bool = false;

    fn compile(f: &mut KindCompiler<'_, '_>) -> Option<Self> {
        let count = f.int("count", f.spec.count, DEFAULT_COUNT, 1..=10_000);
        let line = match &f.spec.line {
            None => Some(DEFAULT_LINE.to_owned()),
            Some(line) => {
                let line = line.as_str();
                let chars = line.chars().count();
                if (1..=MAX_LINE_CHARS).contains(&chars) && !line.contains(char::is_control) {
                    Some(line.to_owned())
                } else {
                    f.push(
                        "line",
                        format!("must be one line of 1 to {MAX_LINE_CHARS} characters"),
                        Some(format!("such as `line: \"{DEFAULT_LINE}\"`")),
                    );
                    None
                }
            }
        };
        Some(LogError {
            line: line?,
            count: count?,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_sent_percent_encoded_with_its_count() {
        let fault = LogError {
            line: "FATAL: pool & 100% gone?".to_owned(),
            count: 3,
        };
        assert_eq!(
            fault.query(None),
            "log?line=FATAL%3A%20pool%20%26%20100%25%20gone%3F&count=3&fail=true"
        );
        assert_eq!(encode("é"), "%C3%A9");
    }
}
