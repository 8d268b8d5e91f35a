//! `/chaos/log`: write a chosen line to the process's stderr (or stdout) N times, as a failing
//! service would log its error; with `fail`, `GET /` then answers 503 with that line until the
//! process restarts, while `/health` goes on answering 200 (a health check that cannot see the
//! failure, so only the log tells).

use std::io::{self, Write};

/// Which of the process's output streams the lines go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// What `/chaos/log` was asked to do.
#[derive(Debug, PartialEq)]
pub(crate) struct LogRequest {
    pub line: String,
    pub count: u32,
    pub stream: Stream,
    /// `GET /` answers 503 with the line from now on.
    pub fail: bool,
}

/// Writes `line` `count` times to `stream`, each on its own line, in one go.
pub(crate) fn write(request: &LogRequest) -> io::Result<()> {
    match request.stream {
        Stream::Stdout => write_lines(&mut io::stdout().lock(), &request.line, request.count),
        Stream::Stderr => write_lines(&mut io::stderr().lock(), &request.line, request.count),
    }
}

fn write_lines(out: &mut impl Write, line: &str, count: u32) -> io::Result<()> {
    for _ in 0..count {
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_written_count_times_each_on_its_own_line() {
        let mut out = Vec::new();
        write_lines(&mut out, "FATAL: database connection pool exhausted", 3).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            ["FATAL: database connection pool exhausted"; 3]
        );
        assert!(text.ends_with('\n'));
        let mut none = Vec::new();
        write_lines(&mut none, "x", 0).unwrap();
        assert!(none.is_empty());
    }
}
