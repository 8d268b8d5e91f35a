//! `steps[i]` → [`Step`]: the action named, its fields checked by its module in
//! [`crate::actions`], which the registry also tells apart from unknown keys, and the timeout.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use specfile::Scalar;

use super::Compiler;
use crate::actions;
use crate::runbook::spec::StepSpec;
use crate::runbook::Step;
use crate::template::Template;

impl Compiler {
    pub(super) fn step(&mut self, path: &str, spec: &StepSpec) -> Option<Step> {
        let action_fields = actions::fields();
        let (given, unknown): (BTreeMap<_, _>, BTreeMap<_, _>) = spec
            .fields
            .iter()
            .map(|(key, value)| (key.clone(), value))
            .partition(|(key, _)| action_fields.contains(&key.as_str()));
        let expected: Vec<&str> = StepSpec::FIELDS
            .iter()
            .copied()
            .chain(action_fields)
            .collect();
        self.p.unknown_fields(path, &unknown, &expected);
        let fields = self.scalars(path, given);
        let retries = match &spec.retries {
            None => Some(0),
            Some(v) => self.parse_num::<u32>(&format!("{path}.retries"), v, "a whole number"),
        };
        let field = format!("{path}.action");
        let Some(name) = spec.action.as_ref() else {
            self.missing(&field);
            return None;
        };
        let (action, default_timeout) = match actions::kind(name.as_str()) {
            Some(kind) => {
                let given: Vec<(&str, bool)> =
                    fields.keys().map(|key| (key.as_str(), true)).collect();
                self.only(path, kind.name, kind.fields, &given);
                (kind.compile)(&mut StepFields {
                    c: self,
                    path,
                    fields: &fields,
                })
            }
            None => (
                self.bad_choice(&field, name.as_str(), &actions::names()),
                None,
            ),
        };
        let timeout = match (&spec.timeout, default_timeout) {
            (Some(v), _) => self.p.duration(&format!("{path}.timeout"), v.as_str()),
            (None, Some(default)) => Some(default),
            (None, None) => {
                self.missing(&format!("{path}.timeout"));
                None
            }
        };
        Some(Step {
            action: action?,
            timeout: timeout?,
            retries: retries?,
        })
    }

    /// The action fields given, as text; a null is left out, as if not written; a list or map
    /// is a problem at its field.
    fn scalars(
        &mut self,
        path: &str,
        given: BTreeMap<String, &serde_yaml::Value>,
    ) -> BTreeMap<String, Scalar> {
        given
            .into_iter()
            .filter(|(_, value)| !value.is_null())
            .filter_map(|(key, value)| match Scalar::deserialize(value) {
                Ok(scalar) => Some((key, scalar)),
                Err(error) => {
                    self.p
                        .push(&format!("{path}.{key}"), error.to_string(), None);
                    None
                }
            })
            .collect()
    }
}

/// A step's fields as its action's [`ActionKind::compile`](crate::actions::ActionKind::compile)
/// reads them: by key, each problem recorded at its field path (`steps[2].grace`).
pub(crate) struct StepFields<'a> {
    c: &'a mut Compiler,
    path: &'a str,
    fields: &'a BTreeMap<String, Scalar>,
}

impl<'a> StepFields<'a> {
    /// The value of `key`, if the step sets it.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Scalar> {
        self.fields.get(key)
    }

    /// The step's own path, where problems of the step as a whole go.
    pub(crate) fn path(&self) -> &'a str {
        self.path
    }

    /// The path of field `key`.
    pub(crate) fn field(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    /// Records a problem at `field` (a path).
    pub(crate) fn push(&mut self, field: &str, message: impl Into<String>) {
        self.c.p.push(field, message, None);
    }

    /// `key` checked by `check` (given its path and value), which the step must set.
    pub(crate) fn required<T>(
        &mut self,
        key: &str,
        check: impl FnOnce(&mut Self, &str, &Scalar) -> Option<T>,
    ) -> Option<T> {
        let field = self.field(key);
        match self.get(key) {
            Some(value) => check(self, &field, value),
            None => {
                self.c.missing(&field);
                None
            }
        }
    }

    /// `key` checked by `check` if the step sets it: `Some(None)` when it does not, `None` after
    /// a problem.
    pub(crate) fn optional<T>(
        &mut self,
        key: &str,
        check: impl FnOnce(&mut Self, &str, &Scalar) -> Option<T>,
    ) -> Option<Option<T>> {
        let field = self.field(key);
        match self.get(key) {
            Some(value) => check(self, &field, value).map(Some),
            None => Some(None),
        }
    }

    /// The duration `key`, `default` when the step leaves it out.
    pub(crate) fn duration_or(&mut self, key: &str, default: Duration) -> Option<Duration> {
        let field = self.field(key);
        self.c.duration_or(&field, self.get(key), default)
    }

    /// The duration `key`, which the step must set.
    pub(crate) fn required_duration(&mut self, key: &str) -> Option<Duration> {
        let field = self.field(key);
        self.c.required_duration(&field, self.get(key))
    }

    /// The non-empty text `key`, which the step must set.
    pub(crate) fn required_text(&mut self, key: &str) -> Option<String> {
        let field = self.field(key);
        self.c.required_text(&field, self.get(key))
    }

    /// A whole number (or anything else `FromStr`), `expected` naming it in the problem.
    pub(crate) fn whole<T: FromStr>(
        &mut self,
        field: &str,
        value: &Scalar,
        expected: &str,
    ) -> Option<T> {
        self.c.parse_num(field, value, expected)
    }

    /// A number within `range`.
    pub(crate) fn number(
        &mut self,
        field: &str,
        value: &Scalar,
        range: RangeInclusive<f64>,
    ) -> Option<f64> {
        self.c.number(field, value, range)
    }

    /// A size in bytes (`256MiB`).
    pub(crate) fn size(&mut self, field: &str, value: &Scalar) -> Option<u64> {
        self.c.p.size(field, value.as_str())
    }

    /// A template of the incident (`/x?who={{target}}`).
    pub(crate) fn template(&mut self, field: &str, value: &Scalar) -> Option<Template> {
        self.c.template(field, value)
    }

    /// Records that `got` is none of `expected`, with a did-you-mean hint.
    pub(crate) fn bad_choice<T>(&mut self, field: &str, got: &str, expected: &[&str]) -> Option<T> {
        self.c.bad_choice(field, got, expected)
    }
}
