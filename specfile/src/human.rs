//! Human-written values: durations (`1m30s`), sizes (`64MiB`), rates (`32MiB/s`) and
//! percentages (`5%`), parsed exactly (decimal fractions never go through floating point).
//!
//! Every error string names the value, says what was expected and gives examples, so it can be
//! shown to the user as is.

use std::time::Duration;

const DURATION_EXAMPLES: &str = "expected e.g. 30s, 500ms, 1m30s, 1.5s";
const SIZE_EXAMPLES: &str = "expected e.g. 128MiB, 64MB, 512KiB, 1GiB, 100B, 4096";
const RATE_EXAMPLES: &str = "expected e.g. 32MiB/s, 500KB/s";
const PERCENT_EXAMPLES: &str = "expected e.g. 5%, 0.5%, 100%";

/// A non-negative decimal number as written: whole part and fractional digits.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Decimal<'a> {
    whole: &'a str,
    frac: &'a str,
}

impl Decimal<'_> {
    /// `self × unit`, exactly, truncating below 1 (nanosecond or byte). `None` on overflow.
    fn times(&self, unit: u128) -> Option<u128> {
        let whole: u128 = if self.whole.is_empty() {
            0
        } else {
            self.whole.parse().ok()?
        };
        let mut total = whole.checked_mul(unit)?;
        if !self.frac.is_empty() {
            // Longer fractions than 30 digits add nothing below one unit of any scale used here.
            let digits = &self.frac[..self.frac.len().min(30)];
            let frac: u128 = digits.parse().ok()?;
            let scale = 10u128.checked_pow(u32::try_from(digits.len()).ok()?)?;
            total = total.checked_add(frac.checked_mul(unit)? / scale)?;
        }
        Some(total)
    }
}

/// Splits a leading decimal number (`12`, `1.5`, `.5`) off `s`.
fn split_number(s: &str) -> Option<(Decimal<'_>, &str)> {
    let whole_len = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let whole = &s[..whole_len];
    let rest = &s[whole_len..];
    let (frac, rest) = match rest.strip_prefix('.') {
        Some(after) => {
            let len = after
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after.len());
            if len == 0 {
                return None;
            }
            (&after[..len], &after[len..])
        }
        None => ("", rest),
    };
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    Some((Decimal { whole, frac }, rest))
}

/// Parses a duration such as `30s`, `500ms`, `1m30s`, `2h` or `1.5s`.
///
/// Units are `h`, `m`, `s` and `ms`, each used at most once, largest first. A bare `0` is zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = |why: &str| format!("invalid duration {text:?}: {why}{DURATION_EXAMPLES}");
    let s = text.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(bad("it is empty; "));
    }
    const UNITS: [(&str, u128); 4] = [
        ("ms", 1_000_000),
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
    ];
    let mut rest = s;
    let mut total: u128 = 0;
    let mut last_unit = u128::MAX;
    while !rest.is_empty() {
        let (number, after) = split_number(rest).ok_or_else(|| bad(""))?;
        let (unit, after) = UNITS
            .iter()
            .find_map(|(name, ns)| after.strip_prefix(name).map(|a| (*ns, a)))
            .ok_or_else(|| {
                if after.is_empty() {
                    bad("the unit is missing; ")
                } else {
                    bad("")
                }
            })?;
        if unit >= last_unit {
            return Err(bad("units must be written largest first, each once; "));
        }
        last_unit = unit;
        total = number
            .times(unit)
            .and_then(|n| total.checked_add(n))
            .ok_or_else(|| bad("it is too large; "))?;
        rest = after;
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| bad("it is too large; "))?;
    // The remainder is below 1e9, so it fits in u32.
    let nanos = (total % 1_000_000_000) as u32;
    Ok(Duration::new(secs, nanos))
}

/// Splits a size into its number and byte multiplier, or `None` when the unit is unknown.
fn size_parts(s: &str) -> Option<(Decimal<'_>, u128)> {
    let (number, unit) = split_number(s)?;
    let multiplier = match unit.trim_start().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return None,
    };
    Some((number, multiplier))
}

fn size_bytes(s: &str) -> Result<u64, &'static str> {
    let (number, multiplier) = size_parts(s).ok_or("")?;
    let bytes = number.times(multiplier).ok_or("it is too large; ")?;
    u64::try_from(bytes).map_err(|_| "it is too large; ")
}

/// Parses a size in bytes: `128MiB`, `512KiB`, `1GiB` (binary), `64MB` (decimal), `100B` or a
/// bare byte count such as `4096`. Fractions are allowed (`1.5GiB`) and truncated to whole bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    size_bytes(text.trim()).map_err(|why| format!("invalid size {text:?}: {why}{SIZE_EXAMPLES}"))
}

/// Parses a rate in bytes per second, such as `32MiB/s`.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let bad = |why: &str| format!("invalid rate {text:?}: {why}{RATE_EXAMPLES}");
    let size = text
        .trim()
        .strip_suffix("/s")
        .ok_or_else(|| bad("it must end in /s; "))?;
    size_bytes(size.trim_end()).map_err(bad)
}

/// Parses a percentage such as `5%`, `0.5%` or `100%` into a fraction between 0 and 1.
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let bad = |why: &str| format!("invalid percentage {text:?}: {why}{PERCENT_EXAMPLES}");
    let number = text
        .trim()
        .strip_suffix('%')
        .ok_or_else(|| bad("it must end in %; "))?;
    let (decimal, rest) = split_number(number.trim_end()).ok_or_else(|| bad(""))?;
    if !rest.is_empty() {
        return Err(bad(""));
    }
    // Millionths of a percent are as fine as anyone writes a percentage.
    let millionths = decimal
        .times(1_000_000)
        .ok_or_else(|| bad("it is above 100%; "))?;
    if millionths > 100_000_000 {
        return Err(bad("it is above 100%; "));
    }
    Ok(millionths as f64 / 100_000_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn durations_that_parse() {
        let cases = [
            ("30s", ms(30_000)),
            ("500ms", ms(500)),
            ("1m30s", ms(90_000)),
            ("2h", ms(7_200_000)),
            ("1.5s", ms(1_500)),
            ("0.1s", ms(100)),
            (".5s", ms(500)),
            ("1h2m3s4ms", ms(3_723_004)),
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            (" 3s ", ms(3_000)),
            ("1.005s", Duration::new(1, 5_000_000)),
            ("1.5ms", Duration::new(0, 1_500_000)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn durations_that_fail_say_why_with_examples() {
        let cases = [
            ("3x", "invalid duration \"3x\": expected e.g. 30s"),
            ("", "it is empty"),
            ("30", "the unit is missing"),
            ("s", "invalid duration \"s\": expected"),
            ("-1s", "invalid duration \"-1s\": expected"),
            ("30s1m", "largest first"),
            ("1s1s", "largest first"),
            ("1.s", "invalid duration"),
            ("99999999999999999999h", "too large"),
            ("1 s", "invalid duration"),
        ];
        for (text, want) in cases {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
            assert!(err.contains("e.g. 30s, 500ms, 1m30s"), "{text}: {err}");
        }
    }

    #[test]
    fn sizes_that_parse() {
        let cases = [
            ("128MiB", 128 << 20),
            ("64MB", 64_000_000),
            ("512KiB", 512 << 10),
            ("1GiB", 1 << 30),
            ("100B", 100),
            ("4096", 4096),
            ("1.5GiB", 3 << 29),
            ("64 MiB", 64 << 20),
            ("2kb", 2_000),
            ("1TiB", 1 << 40),
        ];
        for (text, want) in cases {
            assert_eq!(parse_size(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn sizes_that_fail_say_why_with_examples() {
        for text in ["64M", "64Mi", "MiB", "", "-5MiB", "1.2.3MiB", "64 bytes"] {
            let err = parse_size(text).unwrap_err();
            assert!(
                err.starts_with(&format!("invalid size {text:?}")),
                "{text}: {err}"
            );
            assert!(err.contains("e.g. 128MiB, 64MB"), "{text}: {err}");
        }
        let err = parse_size("99999999999TiB").unwrap_err();
        assert!(err.contains("too large"), "{err}");
    }

    #[test]
    fn rates_that_parse() {
        assert_eq!(parse_rate("32MiB/s"), Ok(32 << 20));
        assert_eq!(parse_rate("500KB/s"), Ok(500_000));
        assert_eq!(parse_rate("100/s"), Ok(100));
        assert_eq!(parse_rate("1 MiB/s"), Ok(1 << 20));
    }

    #[test]
    fn rates_that_fail_say_why_with_examples() {
        let err = parse_rate("32MiB").unwrap_err();
        assert!(err.contains("must end in /s"), "{err}");
        assert!(err.contains("e.g. 32MiB/s"), "{err}");
        let err = parse_rate("32MiB/m").unwrap_err();
        assert!(err.contains("must end in /s"), "{err}");
        let err = parse_rate("fast/s").unwrap_err();
        assert!(err.starts_with("invalid rate \"fast/s\""), "{err}");
    }

    #[test]
    fn percents_that_parse() {
        let cases = [
            ("5%", 0.05),
            ("0.5%", 0.005),
            ("100%", 1.0),
            ("0%", 0.0),
            ("12.25 %", 0.1225),
        ];
        for (text, want) in cases {
            let got = parse_percent(text).unwrap();
            assert!((got - want).abs() < 1e-12, "{text}: {got} != {want}");
        }
    }

    #[test]
    fn percents_that_fail_say_why_with_examples() {
        let cases = [
            ("5", "must end in %"),
            ("0.05", "must end in %"),
            ("101%", "above 100%"),
            ("-1%", "invalid percentage \"-1%\""),
            ("%", "invalid percentage"),
            ("five%", "invalid percentage"),
        ];
        for (text, want) in cases {
            let err = parse_percent(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
            assert!(err.contains("e.g. 5%, 0.5%"), "{text}: {err}");
        }
    }
}
