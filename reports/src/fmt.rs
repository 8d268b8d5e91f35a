//! Number formatting shared by every report and the verdict details: [`Amount`], a figure with
//! its unit, is how a report writes a figure.

use std::fmt;

/// A figure's amount, with its unit: what decides how every report writes it.
pub(crate) enum Amount {
    /// Milliseconds, written as seconds (`0.400s`); `-` when the run has no such duration.
    Ms(Option<f64>),
    /// A fraction, written as a percentage (`0.5%`); `-` when there is nothing to divide.
    Fraction(Option<f64>),
    Count(u32),
    /// Counts or a figure with a remark, already in words.
    Text(String),
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Amount::Ms(ms) => f.write_str(&opt_secs(*ms)),
            Amount::Fraction(fraction) => match fraction {
                Some(fraction) => f.write_str(&percent(*fraction)),
                None => f.write_str("-"),
            },
            Amount::Count(n) => write!(f, "{n}"),
            Amount::Text(text) => f.write_str(text),
        }
    }
}

/// Milliseconds as seconds with millisecond precision: `1.234s`, `-0.500s`.
pub(crate) fn secs(ms: f64) -> String {
    format!("{:.3}s", ms / 1000.0)
}

/// An optional duration, `-` when absent.
pub(crate) fn opt_secs(ms: Option<f64>) -> String {
    ms.map_or_else(|| "-".to_owned(), secs)
}

/// A fraction as a percentage with at most four decimals, trailing zeros dropped: `12.5%`.
pub(crate) fn percent(fraction: f64) -> String {
    format!("{}%", trimmed(fraction * 100.0, 4))
}

/// A limit in seconds with at most three decimals, trailing zeros dropped: `10s`, `1.5s`.
pub(crate) fn limit_secs(secs: f64) -> String {
    format!("{}s", trimmed(secs, 3))
}

fn trimmed(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(secs(1234.0), "1.234s");
        assert_eq!(secs(-500.0), "-0.500s");
        assert_eq!(opt_secs(None), "-");
        assert_eq!(percent(0.125), "12.5%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(2.0 / 3.0), "66.6667%");
        assert_eq!(limit_secs(10.0), "10s");
        assert_eq!(limit_secs(1.5), "1.5s");
    }
}
