//! `log_match: REGEX, count: N, within: D`: N lines of the target's logs (stdout or stderr)
//! matching REGEX within D (defaults: 1 line, 10 s). The healer follows the logs of targets only
//! when some runbook has this trigger.

use std::collections::VecDeque;
use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use regex::{Regex, RegexBuilder};
use specfile::Scalar;
use tokio::time::Instant;

use super::TriggerKind;
use crate::detect::{Detector, Verdict};
use crate::excerpt::shown;
use crate::runbook::TriggerFields;
use crate::signal::SignalKind;
use crate::sources::Needs;

/// The largest compiled pattern accepted, in bytes: a pattern is a line's worth of text, not a
/// program.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;
/// `within` when the entry leaves it out.
const DEFAULT_WITHIN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogMatch {
    pub(crate) pattern: Pattern,
    pub(crate) count: NonZeroU32,
    pub(crate) within: Duration,
}

/// A compiled regex, equal to another when its text is.
#[derive(Debug, Clone)]
pub(crate) struct Pattern(Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl LogMatch {
    /// Whether `line` matches the pattern (one of the lines the trigger counts).
    pub(crate) fn matches_line(&self, line: &str) -> bool {
        self.pattern.0.is_match(line)
    }
}

impl TriggerKind for LogMatch {
    const KEY: &'static str = "log_match";
    const FIELDS: &'static [&'static str] = &["count", "within"];

    fn compile(value: &Scalar, when: &mut TriggerFields<'_>) -> Option<Self> {
        let field = when.field(Self::KEY);
        let pattern = compile_pattern(value.as_str())
            .map_err(|(problem, fix)| when.push_fix(&field, problem, fix))
            .ok();
        let count = match when.get("count") {
            Some(count) => {
                let field = when.field("count");
                when.nonzero(&field, count)
            }
            None => NonZeroU32::new(1),
        };
        let within = when.duration_or("within", DEFAULT_WITHIN);
        let within = within.filter(|within| {
            let positive = !within.is_zero();
            if !positive {
                let field = when.field("within");
                when.push_fix(
                    &field,
                    "must be longer than 0s".to_owned(),
                    "give the window the matching lines must fall in, such as `10s`".to_owned(),
                );
            }
            positive
        });
        Some(LogMatch {
            pattern: Pattern(pattern?),
            count: count?,
            within: within?,
        })
    }

    fn detector(&self) -> Option<Box<dyn Detector>> {
        Some(Box::new(LogMatchDetector {
            trigger: self.clone(),
            hits: VecDeque::new(),
        }))
    }

    fn needs(&self, needs: &mut Needs) {
        needs.logs = true;
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "log_match: {:?}, count: {}, within: {:?}",
            self.pattern.0.as_str(),
            self.count,
            self.within
        )
    }
}

/// The regex of `text`, or the problem and its fix.
fn compile_pattern(text: &str) -> Result<Regex, (String, String)> {
    if text.is_empty() {
        return Err((
            "must not be empty".to_owned(),
            "write the text (a regex) a log line must contain, such as `FATAL`".to_owned(),
        ));
    }
    RegexBuilder::new(text)
        .size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|error| {
            // The parser's message shows the pattern over several lines; its last says why.
            let error = error.to_string();
            let why = error.lines().last().unwrap_or_default().trim();
            let why = why.strip_prefix("error: ").unwrap_or(why);
            (
                format!("`{text}` is not a valid regex: {why}"),
                "escape characters the regex syntax uses with `\\` (`\\(`, `\\[`, `\\.`, `\\*`), \
                 or quote the pattern in single quotes in YAML"
                    .to_owned(),
            )
        })
}

/// The times of the recent matching lines of the container's current run; fires on the
/// `count`th within `within`, then starts over, as it does when the container starts again. A
/// line that does not match says nothing about health: [`Verdict::NotYet`].
#[derive(Debug)]
struct LogMatchDetector {
    trigger: LogMatch,
    /// At most `count` times, oldest first.
    hits: VecDeque<Instant>,
}

impl Detector for LogMatchDetector {
    fn feed(&mut self, kind: &SignalKind, at: Instant) -> Verdict {
        let line = match kind {
            SignalKind::Log { line } => line,
            SignalKind::Started => {
                self.hits.clear();
                return Verdict::NotYet;
            }
            _ => return Verdict::NotYet,
        };
        if !self.trigger.pattern.0.is_match(line) {
            return Verdict::NotYet;
        }
        let LogMatch { count, within, .. } = &self.trigger;
        self.hits.push_back(at);
        while self
            .hits
            .front()
            .is_some_and(|first| at.duration_since(*first) > *within)
            || self.hits.len() > count.get() as usize
        {
            self.hits.pop_front();
        }
        if self.hits.len() < count.get() as usize {
            return Verdict::NotYet;
        }
        self.hits.clear();
        Verdict::Firing(format!(
            "{count} log line{} matching `{}` within {within:?} (last: {})",
            if count.get() == 1 { "" } else { "s" },
            self.trigger.pattern.0.as_str(),
            shown(line)
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::runbook::Runbook;
    use crate::triggers::Trigger;

    fn runbook(when: &str) -> Result<Runbook, Vec<String>> {
        let yaml = format!(
            "name: r\nclass: db_pool\nwhen:\n  - {when}\nsteps:\n  - action: restart\n    timeout: 5s\n\
             verify:\n  within: 5s\ncooldown: 1s\nmax_actions: 3\nwindow: 1m\n"
        );
        Runbook::parse(&yaml, Path::new("rb.yaml"))
            .map_err(|error| error.0.iter().map(ToString::to_string).collect())
    }

    fn trigger(when: &str) -> LogMatch {
        match runbook(when).unwrap().when.remove(0) {
            Trigger::LogMatch(trigger) => trigger,
            other => panic!("not a log_match: {other:?}"),
        }
    }

    fn log(line: &str) -> SignalKind {
        SignalKind::Log {
            line: line.to_owned(),
        }
    }

    /// The verdicts for `lines` fed `gap` apart.
    fn verdicts(trigger: &LogMatch, lines: &[&str], gap: Duration) -> Vec<bool> {
        let mut detector = trigger.detector().unwrap();
        let start = Instant::now();
        lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let at = start + gap * i as u32;
                matches!(detector.feed(&log(line), at), Verdict::Firing(_))
            })
            .collect()
    }

    #[test]
    fn settings_compile_with_their_defaults() {
        let t = trigger(
            r#"log_match: 'FATAL: .*pool exhausted'
    count: 3
    within: 5s"#,
        );
        assert_eq!(t.pattern.0.as_str(), "FATAL: .*pool exhausted");
        assert_eq!((t.count.get(), t.within), (3, Duration::from_secs(5)));
        let t = trigger("log_match: panic");
        assert_eq!((t.count.get(), t.within), (1, DEFAULT_WITHIN));
        assert_eq!(
            Trigger::LogMatch(t).to_string(),
            r#"log_match: "panic", count: 1, within: 10s"#
        );
        let mut needs = Needs::default();
        trigger("log_match: x").needs(&mut needs);
        assert!(needs.logs && needs.any());
    }

    #[test]
    fn bad_settings_are_located_problems_with_a_fix() {
        let found =
            runbook("log_match: 'pool (exhausted'\n    count: 0\n    within: 0s").unwrap_err();
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(
            found[0].starts_with("rb.yaml:4:5: when[0].log_match: `pool (exhausted` is not a valid regex: unclosed group"),
            "{}",
            found[0]
        );
        assert!(found[0].contains("escape characters"), "{}", found[0]);
        assert!(
            found[1]
                .starts_with("rb.yaml:5:5: when[0].count: expected a whole number of at least 1"),
            "{}",
            found[1]
        );
        assert!(
            found[2].starts_with("rb.yaml:6:5: when[0].within: must be longer than 0s"),
            "{}",
            found[2]
        );
        let found = runbook("log_match: ''").unwrap_err();
        assert!(
            found[0].contains("when[0].log_match: must not be empty"),
            "{found:?}"
        );
        let found = runbook("log_match: x\n    within: soon").unwrap_err();
        assert!(
            found[0].contains("when[0].within: invalid duration"),
            "{found:?}"
        );
        let found = runbook("log_match: x\n    above: 3").unwrap_err();
        assert!(found[0].contains("when[0].above"), "{found:?}");
    }

    #[test]
    fn it_fires_on_the_countth_match_within_the_window_then_starts_over() {
        let t = trigger("log_match: FATAL\n    count: 3\n    within: 10s");
        let lines = [
            "FATAL a", "ok", "FATAL b", "FATAL c", "FATAL d", "FATAL e", "FATAL f",
        ];
        assert_eq!(
            verdicts(&t, &lines, Duration::from_secs(1)),
            [false, false, false, true, false, false, true],
            "the third match fires; the count starts over after"
        );
    }

    #[test]
    fn a_start_of_the_container_starts_the_count_over() {
        let t = trigger("log_match: FATAL\n    count: 2");
        let mut detector = t.detector().unwrap();
        let now = Instant::now();
        assert_eq!(detector.feed(&log("FATAL"), now), Verdict::NotYet);
        assert_eq!(detector.feed(&SignalKind::Started, now), Verdict::NotYet);
        assert_eq!(detector.feed(&log("FATAL"), now), Verdict::NotYet);
        assert!(matches!(
            detector.feed(&log("FATAL"), now),
            Verdict::Firing(_)
        ));
    }

    #[test]
    fn matches_further_apart_than_the_window_never_fire() {
        let t = trigger("log_match: FATAL\n    count: 2\n    within: 10s");
        let lines = ["FATAL", "FATAL", "FATAL", "FATAL"];
        assert_eq!(
            verdicts(&t, &lines, Duration::from_millis(10_001)),
            [false; 4]
        );
        assert_eq!(
            verdicts(&t, &lines, Duration::from_secs(10)),
            [false, true, false, true],
            "exactly `within` apart still counts"
        );
    }

    #[test]
    fn the_pattern_is_a_regex_and_other_signals_say_nothing() {
        let t = trigger(r"log_match: '(?i)connection pool \w+ exhausted'");
        assert_eq!(
            verdicts(
                &t,
                &["Connection POOL db1 exhausted", "connection pool exhausted"],
                Duration::from_secs(1)
            ),
            [true, false]
        );
        let mut detector = t.detector().unwrap();
        let now = Instant::now();
        assert_eq!(detector.feed(&SignalKind::Oom, now), Verdict::NotYet);
        assert_eq!(detector.feed(&log("all fine"), now), Verdict::NotYet);
        let Verdict::Firing(why) =
            detector.feed(&log("connection pool main exhausted password=hunter2"), now)
        else {
            panic!("a match fires");
        };
        assert!(why.contains("1 log line matching"), "{why}");
        assert!(
            why.contains("password=[REDACTED]") && !why.contains("hunter2"),
            "{why}"
        );
    }
}
