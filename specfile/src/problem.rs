//! Problems found in a spec file, each located at file:line:col with the field it concerns and,
//! where one is known, the fix; and [`ProblemList`], which collects them during a compile step.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::human;
use crate::source_map::SourceMap;

/// One thing wrong with a spec file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub col: usize,
    /// The field path, such as `faults[1].at`; empty for the file as a whole.
    pub field: String,
    pub message: String,
    pub fix: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.col)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n  fix: {fix}")?;
        }
        Ok(())
    }
}

/// Every problem found in a spec file, in file order.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", list(.0))]
pub struct Problems(pub Vec<Problem>);

fn list(problems: &[Problem]) -> String {
    let mut out = String::new();
    for problem in problems {
        out.push_str(&problem.to_string());
        out.push('\n');
    }
    match problems.len() {
        1 => out.push_str("1 problem"),
        n => out.push_str(&format!("{n} problems")),
    }
    out
}

impl Problems {
    /// A single problem about the file as a whole (say, it cannot be read), at 1:1.
    pub fn whole_file(file: &Path, message: impl Into<String>) -> Self {
        Problems(vec![Problem {
            file: file.to_owned(),
            line: 1,
            col: 1,
            field: String::new(),
            message: message.into(),
            fix: None,
        }])
    }
}

/// Collects the problems of one file during a compile step and locates each by its field path.
///
/// The leaf helpers ([`duration`](Self::duration), [`size`](Self::size), …) parse a value, record
/// a problem if it is bad and return `None` then, so a compile step can go on and find the rest.
#[derive(Debug)]
pub struct ProblemList {
    file: PathBuf,
    map: SourceMap,
    problems: Vec<Problem>,
}

impl ProblemList {
    pub fn new(file: &Path, map: SourceMap) -> Self {
        ProblemList {
            file: file.to_owned(),
            map,
            problems: Vec::new(),
        }
    }

    /// Records a problem with `field`, located at the field or its nearest written ancestor
    /// (1:1 if none is written).
    pub fn push(&mut self, field: &str, message: impl Into<String>, fix: Option<String>) {
        let (line, col) = self.map.locate(field).unwrap_or((1, 1));
        self.problems.push(Problem {
            file: self.file.clone(),
            line,
            col,
            field: field.to_owned(),
            message: message.into(),
            fix,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// `Ok(value)` if nothing was recorded, else every problem sorted by place in the file.
    pub fn finish<T>(self, value: T) -> Result<T, Problems> {
        if self.problems.is_empty() {
            return Ok(value);
        }
        let mut problems = self.problems;
        problems.sort_by_key(|p| (p.line, p.col));
        Err(Problems(problems))
    }

    /// Records one problem per key in `unknown` (the `#[serde(flatten)]` catch-all of the struct
    /// at `parent`), naming the fields that `expected` allows and the closest one to the typo.
    pub fn unknown_fields<V>(
        &mut self,
        parent: &str,
        unknown: &BTreeMap<String, V>,
        expected: &[&str],
    ) {
        for key in unknown.keys() {
            let field = if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            };
            let fix = did_you_mean(key, expected);
            self.push(
                &field,
                format!(
                    "unknown field `{key}`, expected one of: {}",
                    expected.join(", ")
                ),
                fix,
            );
        }
    }

    /// Parses `value` with `parse`, recording its error at `field`.
    pub fn parsed<T>(
        &mut self,
        field: &str,
        value: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match parse(value) {
            Ok(parsed) => Some(parsed),
            Err(message) => {
                self.push(field, message, None);
                None
            }
        }
    }

    /// A duration at `field`, see [`human::parse_duration`].
    pub fn duration(&mut self, field: &str, value: &str) -> Option<Duration> {
        self.parsed(field, value, human::parse_duration)
    }

    /// A duration at `field`, or `default` when the file leaves the field out.
    pub fn duration_or(
        &mut self,
        field: &str,
        value: Option<&str>,
        default: Duration,
    ) -> Option<Duration> {
        match value {
            Some(value) => self.duration(field, value),
            None => Some(default),
        }
    }

    /// A size in bytes at `field`, see [`human::parse_size`].
    pub fn size(&mut self, field: &str, value: &str) -> Option<u64> {
        self.parsed(field, value, human::parse_size)
    }

    /// A rate in bytes per second at `field`, see [`human::parse_rate`].
    pub fn rate(&mut self, field: &str, value: &str) -> Option<u64> {
        self.parsed(field, value, human::parse_rate)
    }

    /// A fraction 0..=1 written as a percentage at `field`, see [`human::parse_percent`].
    pub fn percent(&mut self, field: &str, value: &str) -> Option<f64> {
        self.parsed(field, value, human::parse_percent)
    }
}

/// "did you mean `x`?" with the expected name nearest to `typo`, if one is near enough to be a
/// likely typo.
pub fn did_you_mean(typo: &str, expected: &[&str]) -> Option<String> {
    closest(typo, expected).map(|near| format!("did you mean `{near}`?"))
}

/// The expected name at the least Levenshtein distance from `typo` (lowercased; a swap of two
/// letters counts as two edits), if that distance is at most a third of the name's length.
fn closest<'a>(typo: &str, expected: &[&'a str]) -> Option<&'a str> {
    let typo = typo.to_ascii_lowercase();
    expected
        .iter()
        .map(|name| (strsim::levenshtein(&typo, name), *name))
        .filter(|(distance, name)| *distance <= name.len().div_ceil(3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(fix: Option<&str>) -> Problem {
        Problem {
            file: PathBuf::from("scenarios/x.yaml"),
            line: 12,
            col: 5,
            field: "faults[1].at".into(),
            message: human::parse_duration("3x").unwrap_err(),
            fix: fix.map(Into::into),
        }
    }

    #[test]
    fn a_problem_reads_file_line_col_field_message() {
        assert_eq!(
            problem(None).to_string(),
            "scenarios/x.yaml:12:5: faults[1].at: invalid duration \"3x\": \
             expected e.g. 30s, 500ms, 1m30s, 1.5s"
        );
    }

    #[test]
    fn a_fix_goes_on_its_own_indented_line() {
        let text = problem(Some("write 3s")).to_string();
        assert!(text.ends_with("1.5s\n  fix: write 3s"), "{text}");
    }

    #[test]
    fn a_whole_file_problem_has_no_field() {
        let problems = Problems::whole_file(Path::new("a.yaml"), "cannot read: gone");
        assert_eq!(problems.0[0].to_string(), "a.yaml:1:1: cannot read: gone");
    }

    #[test]
    fn problems_list_every_problem_and_a_count() {
        let problems = Problems(vec![problem(Some("write 3s")), problem(None)]);
        let text = problems.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("scenarios/x.yaml:12:5: faults[1].at:"));
        assert_eq!(lines[1], "  fix: write 3s");
        assert!(lines[2].starts_with("scenarios/x.yaml:12:5: faults[1].at:"));
        assert_eq!(lines[3], "2 problems");
        let one = Problems(vec![problem(None)]).to_string();
        assert!(one.ends_with("\n1 problem"), "{one}");
    }

    #[test]
    fn problem_list_locates_sorts_and_parses_leaves() {
        let text = "a: 1\nb:\n  c: 3x\n  d: 5\n";
        let mut list = ProblemList::new(Path::new("f.yaml"), SourceMap::new(text));
        assert_eq!(list.duration("b.c", "3x"), None);
        assert_eq!(list.size("a", "64MiB"), Some(64 << 20));
        assert_eq!(list.rate("b.d", "5"), None);
        assert_eq!(list.percent("a", "5%"), Some(0.05));
        list.push("a", "bad a", Some("fix a".into()));
        list.push("z", "not written anywhere", None);
        assert!(!list.is_empty());
        let problems = list.finish(()).unwrap_err().0;
        let places: Vec<(usize, usize, &str)> = problems
            .iter()
            .map(|p| (p.line, p.col, p.field.as_str()))
            .collect();
        assert_eq!(
            places,
            [(1, 1, "a"), (1, 1, "z"), (3, 3, "b.c"), (4, 3, "b.d")]
        );
        assert!(problems[2].message.starts_with("invalid duration \"3x\""));
        assert!(problems[3].message.starts_with("invalid rate \"5\""));
    }

    #[test]
    fn an_empty_problem_list_finishes_ok() {
        let list = ProblemList::new(Path::new("f.yaml"), SourceMap::default());
        assert!(list.is_empty());
        assert_eq!(list.finish(7), Ok(7));
    }

    #[test]
    fn unknown_fields_name_the_expected_ones_and_the_likely_typo() {
        let text = "target:\n  imgae: leaky\n  colour: red\n";
        let mut list = ProblemList::new(Path::new("f.yaml"), SourceMap::new(text));
        let unknown: BTreeMap<String, ()> = [("imgae".into(), ()), ("colour".into(), ())].into();
        list.unknown_fields("target", &unknown, &["image", "port", "memory"]);
        let problems = list.finish(()).unwrap_err().0;
        assert_eq!(problems.len(), 2);
        assert_eq!(
            (
                problems[0].line,
                problems[0].col,
                problems[0].field.as_str()
            ),
            (2, 3, "target.imgae")
        );
        assert_eq!(
            problems[0].message,
            "unknown field `imgae`, expected one of: image, port, memory"
        );
        assert_eq!(problems[0].fix.as_deref(), Some("did you mean `image`?"));
        assert_eq!(problems[1].field, "target.colour");
        assert_eq!(problems[1].fix, None);
    }

    #[test]
    fn did_you_mean_suggests_only_near_names() {
        let kinds = ["memory-leak", "cpu-burn", "latency"];
        assert_eq!(
            did_you_mean("memory-leek", &kinds).as_deref(),
            Some("did you mean `memory-leak`?")
        );
        assert_eq!(did_you_mean("explode", &kinds), None);
    }
}
