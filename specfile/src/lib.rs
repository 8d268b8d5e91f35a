//! YAML spec files for humans: durations (`1m30s`), sizes (`64MiB`), rates (`32MiB/s`) and
//! percentages (`5%`), and every problem in a file reported at once, each at file:line:col.
//!
//! The intended shape of a spec loader:
//!
//! 1. [`parse`] the text into a serde spec struct. Spec structs keep a
//!    `#[serde(flatten)] unknown: BTreeMap<String, serde_yaml::Value>` catch-all and hold leaf
//!    values that need checking as [`Scalar`]s, so serde itself fails only on structural errors
//!    (a map where a list belongs), which stop at the first.
//! 2. Compile the spec into a validated plan with a [`ProblemList`]: report each unknown key
//!    ([`ProblemList::unknown_fields`]) and each bad value ([`ProblemList::duration`], …) by field
//!    path; the list locates them through the [`SourceMap`] and [`ProblemList::finish`] returns
//!    the plan or every [`Problem`] found.

mod human;
mod problem;
mod scalar;
mod source_map;

use std::path::Path;

use serde::de::DeserializeOwned;

pub use human::{parse_duration, parse_percent, parse_rate, parse_size};
pub use problem::{did_you_mean, Problem, ProblemList, Problems};
pub use scalar::Scalar;
pub use source_map::SourceMap;

/// Deserializes `text` (the contents of `file`) and maps where each field was written.
///
/// A serde error becomes a single [`Problem`] at the place serde_yaml reports, naming the field.
pub fn parse<T: DeserializeOwned>(file: &Path, text: &str) -> Result<(T, SourceMap), Problems> {
    let map = SourceMap::new(text);
    match serde_yaml::from_str(text) {
        Ok(value) => Ok((value, map)),
        Err(error) => Err(Problems(vec![serde_problem(file, &map, &error)])),
    }
}

fn serde_problem(file: &Path, map: &SourceMap, error: &serde_yaml::Error) -> Problem {
    let full = strip_marks(&error.to_string());
    let (mut field, message) = split_path(&full);
    if let Some(name) = unknown_field_name(&message) {
        field = if field.is_empty() {
            name.to_owned()
        } else {
            format!("{field}.{name}")
        };
    }
    let (line, col) = error
        .location()
        .map(|at| (at.line(), at.column()))
        .or_else(|| map.locate(&field))
        .unwrap_or((1, 1));
    Problem {
        file: file.to_owned(),
        line,
        col,
        field,
        message,
        fix: None,
    }
}

/// Removes serde_yaml's ` at line N column M` and ` at position N` from a message: a
/// [`Problem`] carries its place itself.
fn strip_marks(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(" at ") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 4..];
        match mark_len(after) {
            Some(len) => rest = &after[len..],
            None => {
                out.push_str(" at ");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The length of `line N column M` or `position N` at the start of `s`.
fn mark_len(s: &str) -> Option<usize> {
    fn digits(s: &str) -> usize {
        s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len())
    }
    if let Some(after) = s.strip_prefix("line ") {
        let line = digits(after);
        let column = after[line..].strip_prefix(" column ")?;
        let col = digits(column);
        (line > 0 && col > 0).then(|| s.len() - column.len() + col)
    } else {
        let after = s.strip_prefix("position ")?;
        let n = digits(after);
        (n > 0).then(|| s.len() - after.len() + n)
    }
}

/// Splits serde_yaml's `path: message` into its parts; a message without a path is at the root.
fn split_path(message: &str) -> (String, String) {
    if let Some((path, rest)) = message.split_once(": ") {
        let is_path = !path.is_empty()
            && !path.contains(char::is_whitespace)
            && !path.contains(['`', '"', '\'']);
        if is_path {
            return (path.to_owned(), rest.to_owned());
        }
    }
    (String::new(), message.to_owned())
}

/// `name` out of "unknown field `name`, expected …".
fn unknown_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split_once('`').map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        name: String,
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
        items: Vec<u32>,
    }

    #[derive(Debug, Deserialize)]
    struct Open {
        name: Scalar,
        #[serde(flatten)]
        unknown: BTreeMap<String, serde_yaml::Value>,
    }

    fn one_problem<T: DeserializeOwned + std::fmt::Debug>(text: &str) -> Problem {
        let mut problems = parse::<T>(Path::new("s.yaml"), text).unwrap_err().0;
        assert_eq!(problems.len(), 1);
        problems.remove(0)
    }

    #[test]
    fn a_good_document_parses_with_its_map() {
        let (open, map) = parse::<Open>(Path::new("s.yaml"), "name: 3\nextra: x\n").unwrap();
        assert_eq!(open.name.as_str(), "3");
        assert_eq!(open.unknown.keys().collect::<Vec<_>>(), ["extra"]);
        assert_eq!(map.locate("extra"), Some((2, 1)));
    }

    #[test]
    fn a_type_error_is_located_with_its_field_path() {
        let p = one_problem::<Strict>("name: a\ninner:\n  count: 1\n  items: {a: 1}\n");
        assert_eq!(p.field, "inner.items");
        assert_eq!((p.line, p.col), (4, 10));
        assert!(p.message.starts_with("invalid type: map"), "{}", p.message);
        assert!(!p.message.contains("line"), "{}", p.message);
    }

    #[test]
    fn an_unknown_field_names_the_field_itself() {
        let p = one_problem::<Strict>("name: a\ninner:\n  count: 1\n  itmes: []\n");
        assert_eq!(p.field, "inner.itmes");
        assert_eq!(p.line, 4);
        assert!(
            p.message.starts_with("unknown field `itmes`"),
            "{}",
            p.message
        );
        let p = one_problem::<Strict>("nmae: a\n");
        assert_eq!(p.field, "nmae");
        assert_eq!(p.line, 1);
    }

    #[test]
    fn a_syntax_error_is_located() {
        let p = one_problem::<Strict>("name: a\ninner: [1, 2\n");
        assert!(p.line >= 2, "{p}");
        assert!(!p.message.is_empty());
        assert!(!p.message.contains(" at line "), "{}", p.message);
    }

    #[test]
    fn marks_are_stripped_and_other_text_kept() {
        assert_eq!(
            strip_marks("bad at line 3 column 4, while parsing at line 1 column 1"),
            "bad, while parsing"
        );
        assert_eq!(strip_marks("eof at position 12"), "eof");
        assert_eq!(strip_marks("look at me"), "look at me");
        assert_eq!(strip_marks("at line x column y"), "at line x column y");
    }

    #[test]
    fn paths_are_split_from_messages() {
        assert_eq!(
            split_path("faults[0].at: invalid type: map"),
            ("faults[0].at".into(), "invalid type: map".into())
        );
        assert_eq!(
            split_path("invalid type: map"),
            (String::new(), "invalid type: map".into())
        );
        assert_eq!(unknown_field_name("unknown field `x`, expected"), Some("x"));
        assert_eq!(unknown_field_name("missing field `x`"), None);
    }
}
