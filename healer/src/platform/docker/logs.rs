//! Following a container's logs through its restarts: Docker's logs API (`follow`, stdout and
//! stderr, with timestamps) from the start of its current run; when the container stops, the
//! stream ends, and the next run is followed once it runs again. Each line's timestamp must be
//! past the last one delivered and within the current run, so a reconnect never delivers a
//! line twice and a restart never replays the previous run's lines.

use std::collections::VecDeque;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use bollard::Docker;
use futures_util::stream::{self, BoxStream};
use futures_util::StreamExt;

use crate::platform::PlatformError;
use crate::signal::TargetRef;

/// How long to wait before looking again at a container that does not run (or whose logs
/// failed).
const RECONNECT: Duration = Duration::from_millis(250);

/// The lines `target` writes, from the start of its current run on, until it is removed.
pub(super) fn follow(
    docker: Docker,
    target: TargetRef,
) -> BoxStream<'static, Result<String, PlatformError>> {
    let follow = Follow {
        docker,
        target,
        frames: None,
        lines: Lines::default(),
        pending: VecDeque::new(),
    };
    stream::unfold(follow, |mut follow| async move {
        let line = follow.next().await?;
        Some((Ok(line), follow))
    })
    .boxed()
}

type Frames = BoxStream<'static, Result<LogOutput, bollard::errors::Error>>;

struct Follow {
    docker: Docker,
    target: TargetRef,
    /// The logs of the current run, while connected.
    frames: Option<Frames>,
    lines: Lines,
    /// Lines of the last frame not yet given.
    pending: VecDeque<String>,
}

enum Connect {
    Following(Frames),
    /// Not running now (or Docker could not say): look again later.
    NotRunning,
    /// Removed: no more lines.
    Gone,
}

impl Follow {
    /// The next line; `None` once the container is gone.
    async fn next(&mut self) -> Option<String> {
        loop {
            if let Some(line) = self.pending.pop_front() {
                return Some(line);
            }
            let Some(frames) = &mut self.frames else {
                match self.connect().await {
                    Connect::Following(frames) => self.frames = Some(frames),
                    Connect::NotRunning => tokio::time::sleep(RECONNECT).await,
                    Connect::Gone => return None,
                }
                continue;
            };
            match frames.next().await {
                Some(Ok(frame)) => self.lines.take(&frame, &mut self.pending),
                Some(Err(error)) => {
                    tracing::debug!(target_name = %self.target.name, %error, "log stream failed");
                    self.frames = None;
                    tokio::time::sleep(RECONNECT).await;
                }
                // The container stopped.
                None => self.frames = None,
            }
        }
    }

    async fn connect(&mut self) -> Connect {
        let inspect = match self.docker.inspect_container(&self.target.id, None).await {
            Ok(inspect) => inspect,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Connect::Gone,
            Err(error) => {
                tracing::debug!(target_name = %self.target.name, %error, "cannot inspect for logs");
                return Connect::NotRunning;
            }
        };
        let state = inspect.state.unwrap_or_default();
        let started = state.started_at.as_deref().and_then(Stamp::parse);
        let (Some(true), Some(started)) = (state.running, started) else {
            return Connect::NotRunning;
        };
        self.lines.run_started(started);
        let options = LogsOptionsBuilder::new()
            .follow(true)
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            // Whole seconds: the lines of that second before the start are dropped by `Lines`.
            .since(i32::try_from(started.secs).unwrap_or(0))
            .build();
        Connect::Following(self.docker.logs(&self.target.id, Some(options)).boxed())
    }
}

/// Which lines are news: those of the current run past the last one given.
#[derive(Debug, Default)]
struct Lines {
    /// When the current run started.
    from: Option<Stamp>,
    /// The timestamp of the last line given.
    after: Option<Stamp>,
}

impl Lines {
    fn run_started(&mut self, at: Stamp) {
        self.from = Some(at);
    }

    /// Adds to `out` the lines of `frame` (`<timestamp> <text>`) that are news.
    fn take(&mut self, frame: &LogOutput, out: &mut VecDeque<String>) {
        let message = match frame {
            LogOutput::StdOut { message }
            | LogOutput::StdErr { message }
            | LogOutput::Console { message } => message,
            LogOutput::StdIn { .. } => return,
        };
        let text = String::from_utf8_lossy(message);
        let (stamp, text) = match text.split_once(' ') {
            Some((stamp, rest)) => match Stamp::parse(stamp) {
                Some(stamp) => (Some(stamp), rest),
                None => (None, text.as_ref()),
            },
            None => (Stamp::parse(text.trim_end()), ""),
        };
        if let Some(stamp) = stamp {
            let old = self.from.is_some_and(|from| stamp < from)
                || self.after.is_some_and(|after| stamp <= after);
            if old {
                return;
            }
            self.after = Some(stamp);
        }
        out.extend(
            text.split('\n')
                .map(|line| line.trim_end_matches('\r'))
                .filter(|line| !line.is_empty())
                .map(str::to_owned),
        );
    }
}

/// A UTC time as Docker writes it (RFC 3339 with `Z`, up to nanoseconds), ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Stamp {
    /// Seconds since the Unix epoch.
    secs: i64,
    nanos: u32,
}

impl Stamp {
    /// `2024-05-01T10:00:00.123456789Z`; `None` for anything else.
    fn parse(text: &str) -> Option<Stamp> {
        let text = text.strip_suffix('Z')?;
        let (date, time) = text.split_once('T')?;
        let (time, fraction) = time.split_once('.').unwrap_or((time, ""));
        let mut date = date.splitn(3, '-').map(str::parse::<i64>);
        let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
        let mut time = time.splitn(3, ':').map(str::parse::<i64>);
        let (hour, minute, second) = (time.next()?.ok()?, time.next()?.ok()?, time.next()?.ok()?);
        let valid = (1..=12).contains(&month)
            && (1..=31).contains(&day)
            && hour < 24
            && minute < 60
            && second < 61
            && fraction.len() <= 9
            && fraction.bytes().all(|b| b.is_ascii_digit());
        if !valid {
            return None;
        }
        let nanos = if fraction.is_empty() {
            0
        } else {
            fraction.parse::<u32>().ok()? * 10u32.pow(9 - fraction.len() as u32)
        };
        let days = days_from_civil(year, month, day);
        Some(Stamp {
            secs: days * 86_400 + hour * 3_600 + minute * 60 + second,
            nanos,
        })
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> LogOutput {
        LogOutput::StdErr {
            message: text.to_owned().into(),
        }
    }

    #[test]
    fn docker_timestamps_parse_in_order() {
        let epoch = Stamp::parse("1970-01-01T00:00:00Z").unwrap();
        assert_eq!((epoch.secs, epoch.nanos), (0, 0));
        let t = Stamp::parse("2024-05-01T10:00:00.123456789Z").unwrap();
        assert_eq!(t.secs, 1_714_557_600);
        assert_eq!(t.nanos, 123_456_789);
        // Inspect trims trailing zeros; the logs API does not: the same instant.
        assert_eq!(
            Stamp::parse("2024-05-01T10:00:00.12Z"),
            Stamp::parse("2024-05-01T10:00:00.120000000Z")
        );
        assert!(Stamp::parse("2024-05-01T10:00:00.12Z") > Stamp::parse("2024-05-01T10:00:00.1Z"));
        assert_eq!(
            Stamp::parse("2024-02-29T00:00:00Z").unwrap().secs,
            1_709_164_800
        );
        for bad in [
            "",
            "FATAL:",
            "2024-05-01 10:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-05-01T10:00:00+02:00",
        ] {
            assert_eq!(Stamp::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_lines_of_the_current_run_past_the_last_one_given_are_news() {
        let mut lines = Lines::default();
        let mut out = VecDeque::new();
        lines.run_started(Stamp::parse("2024-05-01T10:00:00.5Z").unwrap());
        for text in [
            "2024-05-01T10:00:00.400000000Z before the start, same second\n",
            "2024-05-01T10:00:00.600000000Z FATAL: pool exhausted\n",
            "2024-05-01T10:00:01.000000000Z two\r\nlines\n",
            "2024-05-01T10:00:00.600000000Z FATAL: pool exhausted\n", // again, after a reconnect
            "no timestamp at all\n",
        ] {
            lines.take(&frame(text), &mut out);
        }
        assert_eq!(
            Vec::from(out.clone()),
            [
                "FATAL: pool exhausted",
                "two",
                "lines",
                "no timestamp at all"
            ]
        );

        // A restart: the previous run's lines come again from a logs call; none is news.
        out.clear();
        lines.run_started(Stamp::parse("2024-05-01T10:00:05Z").unwrap());
        lines.take(&frame("2024-05-01T10:00:02.000000000Z old run\n"), &mut out);
        lines.take(&frame("2024-05-01T10:00:05.000000001Z new run\n"), &mut out);
        lines.take(
            &LogOutput::StdIn {
                message: "x".into(),
            },
            &mut out,
        );
        assert_eq!(Vec::from(out), ["new run"]);
    }
}
