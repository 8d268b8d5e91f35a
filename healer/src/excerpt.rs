//! Log lines kept for evidence: each target's rolling window of its last lines (bounded in lines
//! and characters), the excerpt of it attached to an incident, and the redaction of token-like
//! secrets (bearer tokens, `password=…`, `token=…`, API keys, AWS key ids, long hex or base64
//! runs) before any line leaves the healer.

use std::collections::VecDeque;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// A log line longer than this many characters is cut (and ends with `…`).
pub(crate) const LINE_CAP: usize = 1_000;
/// An excerpt holds at most this many lines…
pub(crate) const EXCERPT_LINES: usize = 20;
/// …and at most this many characters, the lines' lengths added up.
pub(crate) const EXCERPT_CHARS: usize = 2_000;
/// A log line shown in a signal's description (the journal's `signal` fields) is cut here.
const SHOWN_CHARS: usize = 200;
/// What a redacted secret is replaced with.
const REDACTED: &str = "[REDACTED]";

/// `line` cut to [`LINE_CAP`] characters, without a trailing line break.
pub(crate) fn cap_line(line: &str) -> String {
    cut(line.trim_end_matches(['\n', '\r']), LINE_CAP)
}

/// `line` redacted and cut short, for a signal's description.
pub(crate) fn shown(line: &str) -> String {
    cut(&redact(line), SHOWN_CHARS)
}

/// `text` cut to at most `max` characters, the last of them `…` when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((end, _)) if text[end..].chars().nth(1).is_some() => format!("{}…", &text[..end]),
        _ => text.to_owned(),
    }
}

/// A `Bearer` or `Basic` credential of an `Authorization` header.
static SCHEME: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]+"));
/// `key=value`, `key: value`, `"key": "value"` for a key naming a secret.
static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?i)\b([a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)["']?)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"'}]+)"#,
    )
});
/// An AWS access key id.
static AWS_KEY_ID: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"));
/// A long run of base64 (or hex) characters: a key, a hash, a session id.
static LONG_RUN: LazyLock<Regex> = LazyLock::new(|| regex(r"[A-Za-z0-9+/_-]{32,}={0,2}"));

/// One of the constant patterns above.
fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the redaction patterns are valid")
}

/// `line` with token-like secrets replaced by `[REDACTED]`. A long run counts only when it
/// mixes letters and digits, so a long word or path is kept.
pub(crate) fn redact(line: &str) -> String {
    let line = SCHEME.replace_all(line, "${1}${2}[REDACTED]").into_owned();
    let line = ASSIGNMENT
        .replace_all(&line, "${1}${2}[REDACTED]")
        .into_owned();
    let line = AWS_KEY_ID.replace_all(&line, REDACTED).into_owned();
    LONG_RUN
        .replace_all(&line, |c: &Captures<'_>| {
            let run = &c[0];
            let mixed = run.chars().any(|c| c.is_ascii_digit())
                && run.chars().any(|c| c.is_ascii_alphabetic());
            if mixed {
                REDACTED.to_owned()
            } else {
                run.to_owned()
            }
        })
        .into_owned()
}

/// A target's last log lines, oldest first: at most [`EXCERPT_LINES`], each at most
/// [`LINE_CAP`] characters.
#[derive(Debug, Default)]
pub(crate) struct LogWindow {
    lines: VecDeque<String>,
}

impl LogWindow {
    /// Keeps `line` (cut to [`LINE_CAP`]), forgetting the oldest line beyond [`EXCERPT_LINES`].
    pub(crate) fn push(&mut self, line: &str) {
        if self.lines.len() == EXCERPT_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(cap_line(line));
    }

    /// Forgets every line (the target started afresh: its old lines are not its news).
    pub(crate) fn clear(&mut self) {
        self.lines.clear();
    }

    /// The lines up to now, redacted, oldest first: the newest lines whose lengths add up to
    /// at most [`EXCERPT_CHARS`] (a line is at most [`LINE_CAP`], so the newest always fits).
    /// Empty when none were seen.
    pub(crate) fn excerpt(&self) -> Vec<String> {
        let mut budget = EXCERPT_CHARS;
        let mut excerpt = Vec::new();
        for line in self.lines.iter().rev() {
            let line = redact(line);
            let Some(left) = budget.checked_sub(line.chars().count()) else {
                break;
            };
            budget = left;
            excerpt.push(line);
        }
        excerpt.reverse();
        excerpt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(line: &str, expected: &str) {
        assert_eq!(redact(line), expected, "redacting {line:?}");
    }

    #[test]
    fn secrets_are_redacted_and_the_rest_is_kept() {
        check(
            "GET /x Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig-123",
            "GET /x Authorization: Bearer [REDACTED]",
        );
        check(
            "connect password=hunter2 user=bob",
            "connect password=[REDACTED] user=bob",
        );
        check(
            r#"{"db_password": "s3cret value", "host": "db"}"#,
            r#"{"db_password": [REDACTED], "host": "db"}"#,
        );
        check(
            "retry with token=abc123&x=1",
            "retry with token=[REDACTED]&x=1",
        );
        check("API_KEY: k-42 loaded", "API_KEY: [REDACTED] loaded");
        check(
            "using key AKIAIOSFODNN7EXAMPLE for s3",
            "using key [REDACTED] for s3",
        );
        check(
            "session 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 expired",
            "session [REDACTED] expired",
        );
        check(
            "sig dGhpcyBpcyBhIHNlY3JldCBrZXkgMTIzNDU2Nzg5MA== bad",
            "sig [REDACTED] bad",
        );
        // Not secrets: a long word, a path without digits, ordinary text with numbers.
        check(
            "FATAL: database connection pool exhausted (32 of 32 in use)",
            "FATAL: database connection pool exhausted (32 of 32 in use)",
        );
        check(
            "loading /usr/local/share/leaky/templates/index",
            "loading /usr/local/share/leaky/templates/index",
        );
        check("tokens_used 12", "tokens_used 12");
    }

    #[test]
    fn lines_are_cut_at_the_cap_by_characters() {
        let long = "é".repeat(LINE_CAP + 10);
        let capped = cap_line(&long);
        assert_eq!(capped.chars().count(), LINE_CAP);
        assert!(capped.ends_with('…'));
        assert_eq!(cap_line("short\n"), "short");
        let exact = "x".repeat(LINE_CAP);
        assert_eq!(cap_line(&exact), exact, "a line at the cap is not cut");
    }

    #[test]
    fn the_window_keeps_the_newest_lines_and_the_excerpt_fits_its_bounds() {
        let mut window = LogWindow::default();
        for i in 0..50 {
            window.push(&format!("line {i}"));
        }
        let excerpt = window.excerpt();
        assert_eq!(excerpt.len(), EXCERPT_LINES);
        assert_eq!(excerpt.first().map(String::as_str), Some("line 30"));
        assert_eq!(excerpt.last().map(String::as_str), Some("line 49"));

        // 20 lines of 900 characters: only the newest two fit in 2,000.
        for i in 0..EXCERPT_LINES {
            window.push(&format!("{i:03}{}", " ab".repeat(299)));
        }
        let excerpt = window.excerpt();
        assert_eq!(excerpt.len(), 2);
        assert!(excerpt.iter().map(|l| l.chars().count()).sum::<usize>() <= EXCERPT_CHARS);
        assert!(
            excerpt[1].starts_with("019"),
            "newest last: {:?}",
            &excerpt[1][..3]
        );

        window.clear();
        assert!(window.excerpt().is_empty());
    }

    #[test]
    fn lines_at_the_cap_fill_the_budget_exactly() {
        let mut window = LogWindow::default();
        for _ in 0..3 {
            window.push(&"word ".repeat(400));
        }
        let excerpt = window.excerpt();
        assert_eq!(excerpt.len(), 2, "two capped lines fill 2,000 characters");
        assert_eq!(excerpt.concat().chars().count(), EXCERPT_CHARS);
    }

    #[test]
    fn the_excerpt_is_redacted() {
        let mut window = LogWindow::default();
        window.push("login password=hunter2");
        assert_eq!(window.excerpt(), ["login password=[REDACTED]"]);
        assert_eq!(shown("login password=hunter2"), "login password=[REDACTED]");
    }
}
