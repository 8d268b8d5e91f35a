//! Value rules shared by the environment config and the chaos query parameters: one parser and
//! one "expected ..." text per kind of value, so both report bad input the same way.

use crate::chaos_log::Stream;

/// One MiB in bytes.
pub(crate) const MIB: u64 = 1 << 20;

/// How to read one kind of value, and what to tell the user when it is wrong.
pub(crate) struct Rule<T> {
    pub expected: &'static str,
    pub parse: fn(&str) -> Option<T>,
}

/// A MiB amount (or MiB/s rate), converted to bytes.
pub(crate) const MEBIBYTES: Rule<u64> = Rule {
    expected: "a number of MiB from 0 to 1048576 (fractions allowed)",
    parse: |s| {
        let mib: f64 = s.trim().parse().ok()?;
        // `as` saturates; the range check keeps the product far below u64::MAX.
        ((0.0..=1_048_576.0).contains(&mib)).then(|| (mib * MIB as f64).round() as u64)
    },
};

/// A byte count for the per-request leak.
pub(crate) const REQUEST_BYTES: Rule<u64> = Rule {
    expected: "a whole number of bytes from 0 to 1073741824",
    parse: |s| s.trim().parse().ok().filter(|b| *b <= 1 << 30),
};

/// A delay in whole milliseconds.
pub(crate) const MILLIS: Rule<u64> = Rule {
    expected: "a whole number of milliseconds from 0 to 600000",
    parse: |s| s.trim().parse().ok().filter(|ms| *ms <= 600_000),
};

/// A TCP port.
pub(crate) const PORT: Rule<u16> = Rule {
    expected: "a TCP port from 0 to 65535",
    parse: |s| s.trim().parse().ok(),
};

/// Rounds of CPU work per `GET /`.
pub(crate) const ITERATIONS: Rule<u32> = Rule {
    expected: "a whole number of rounds from 0 to 4294967295",
    parse: |s| s.trim().parse().ok(),
};

/// A plain-HTTP URL, `http://host[:port][/path]`.
pub(crate) const HTTP_URL: Rule<Option<String>> = Rule {
    expected: "an http://host[:port][/path] URL",
    parse: |s| crate::dependency::parse_url(s.trim()).map(|_| Some(s.trim().to_owned())),
};

/// A boolean switch.
pub(crate) const SWITCH: Rule<bool> = Rule {
    expected: "1, true, 0 or false",
    parse: |s| match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    },
};

/// A version string; it becomes a Prometheus label value, which naive parsers split on
/// `,` and `=`, so those (and quotes, backslashes, whitespace) are refused.
pub(crate) const VERSION: Rule<String> = Rule {
    expected: "a non-empty version without `,` `=` `\"` `\\` or whitespace",
    parse: |s| {
        let bad = |c: char| matches!(c, ',' | '=' | '"' | '\\') || c.is_whitespace();
        (!s.is_empty() && !s.contains(bad)).then(|| s.to_owned())
    },
};

/// Number of CPU burner threads.
pub(crate) const THREADS: Rule<u32> = Rule {
    expected: "a whole number of threads from 1 to 64",
    parse: |s| s.trim().parse().ok().filter(|t| (1..=64).contains(t)),
};

/// A burn duration in seconds.
pub(crate) const SECONDS: Rule<f64> = Rule {
    expected: "a number of seconds above 0 and at most 3600",
    parse: |s| {
        let secs: f64 = s.trim().parse().ok()?;
        (secs > 0.0 && secs <= 3600.0).then_some(secs)
    },
};

/// One log line: no line breaks or other control characters.
pub(crate) const LOG_LINE: Rule<String> = Rule {
    expected: "one line of 1 to 1000 characters without control characters",
    parse: |s| {
        let fits = (1..=1000).contains(&s.chars().count()) && !s.contains(char::is_control);
        fits.then(|| s.to_owned())
    },
};

/// How many times to write a log line.
pub(crate) const LOG_COUNT: Rule<u32> = Rule {
    expected: "a whole number from 1 to 10000",
    parse: |s| s.trim().parse().ok().filter(|n| (1..=10_000).contains(n)),
};

/// An output stream of the process.
pub(crate) const STREAM: Rule<Stream> = Rule {
    expected: "stderr or stdout",
    parse: |s| match s.trim() {
        "stderr" => Some(Stream::Stderr),
        "stdout" => Some(Stream::Stdout),
        _ => None,
    },
};

/// A process exit code.
pub(crate) const EXIT_CODE: Rule<i32> = Rule {
    expected: "an exit code from 0 to 255",
    parse: |s| s.trim().parse().ok().filter(|c| (0..=255).contains(c)),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mebibytes_convert_and_refuse_nonsense() {
        assert_eq!((MEBIBYTES.parse)("1.5"), Some(MIB + MIB / 2));
        assert_eq!((MEBIBYTES.parse)("0"), Some(0));
        for bad in ["-1", "NaN", "inf", "1048577", "abc", ""] {
            assert_eq!((MEBIBYTES.parse)(bad), None, "{bad}");
        }
    }

    #[test]
    fn version_refuses_label_breaking_characters() {
        assert_eq!((VERSION.parse)("2.1-rc1").as_deref(), Some("2.1-rc1"));
        for bad in ["", "a,b", "a=b", "a\"b", "a b", "a\\b"] {
            assert_eq!((VERSION.parse)(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn switch_and_ranges() {
        assert_eq!((SWITCH.parse)("TRUE"), Some(true));
        assert_eq!((SWITCH.parse)("0"), Some(false));
        assert_eq!((SWITCH.parse)("yes"), None);
        assert_eq!((THREADS.parse)("0"), None);
        assert_eq!((THREADS.parse)("65"), None);
        assert_eq!((SECONDS.parse)("0"), None);
        assert_eq!((SECONDS.parse)("0.25"), Some(0.25));
        assert_eq!((EXIT_CODE.parse)("256"), None);
        assert_eq!((MILLIS.parse)("600001"), None);
    }
}
