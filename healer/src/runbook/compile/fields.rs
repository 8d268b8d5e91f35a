//! [`Fields`]: an entry's fields (a step's, a `when` entry's) as its kind's module reads them,
//! each problem located at its field, and the compiler's conversion of the given values.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use specfile::Scalar;

use super::Compiler;
use crate::template::Template;

/// The single values of an entry's fields, and those of `maps` as maps of single values.
type Settings = (
    BTreeMap<String, Scalar>,
    BTreeMap<String, BTreeMap<String, Scalar>>,
);

impl Compiler {
    /// The fields `given` at `path`, as text: those named in `maps` as maps, the others as
    /// single values. A null is left out, as if not written; any other value of the wrong shape
    /// is a problem at its field.
    pub(super) fn settings(
        &mut self,
        path: &str,
        given: BTreeMap<String, &serde_yaml::Value>,
        maps: &[&str],
    ) -> Settings {
        let mut settings = Settings::default();
        for (key, value) in given.into_iter().filter(|(_, value)| !value.is_null()) {
            let field = format!("{path}.{key}");
            if !maps.contains(&key.as_str()) {
                if let Some(scalar) = self.scalar(&field, value) {
                    settings.0.insert(key, scalar);
                }
                continue;
            }
            match BTreeMap::<String, serde_yaml::Value>::deserialize(value) {
                Ok(map) => {
                    let map = map
                        .into_iter()
                        .filter_map(|(k, v)| {
                            Some((k.clone(), self.scalar(&format!("{field}.{k}"), &v)?))
                        })
                        .collect();
                    settings.1.insert(key, map);
                }
                Err(error) => self.p.push(&field, error.to_string(), None),
            }
        }
        settings
    }

    /// `value` as a single value; a list or map is a problem at `field`.
    fn scalar(&mut self, field: &str, value: &serde_yaml::Value) -> Option<Scalar> {
        Scalar::deserialize(value)
            .map_err(|error| self.p.push(field, error.to_string(), None))
            .ok()
    }
}

/// An entry's fields as its kind reads them: by key, each problem recorded at its field path
/// (`steps[2].grace`, `when[0].above`).
pub(crate) struct Fields<'a> {
    c: &'a mut Compiler,
    path: &'a str,
    fields: &'a BTreeMap<String, Scalar>,
    maps: &'a BTreeMap<String, BTreeMap<String, Scalar>>,
}

/// A step's fields as its action's
/// [`ActionKind::compile`](crate::actions::ActionKind::compile) reads them.
pub(crate) type StepFields<'a> = Fields<'a>;

/// A `when` entry's settings as its trigger's
/// [`TriggerKind::compile`](crate::triggers::TriggerKind::compile) reads them.
pub(crate) type TriggerFields<'a> = Fields<'a>;

impl<'a> Fields<'a> {
    pub(super) fn new(
        c: &'a mut Compiler,
        path: &'a str,
        fields: &'a BTreeMap<String, Scalar>,
        maps: &'a BTreeMap<String, BTreeMap<String, Scalar>>,
    ) -> Self {
        Fields {
            c,
            path,
            fields,
            maps,
        }
    }

    /// The value of `key`, if the entry sets it.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Scalar> {
        self.fields.get(key)
    }

    /// The map `key`, if the entry sets it and its kind reads it as a map.
    pub(crate) fn map(&self, key: &str) -> Option<&'a BTreeMap<String, Scalar>> {
        self.maps.get(key)
    }

    /// The entry's own path, where problems of the entry as a whole go.
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

    /// Records a problem at `field` with how to fix it.
    pub(crate) fn push_fix(&mut self, field: &str, message: String, fix: String) {
        self.c.p.push(field, message, Some(fix));
    }

    /// `key` checked by `check` (given its path and value), which the entry must set.
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

    /// `key` checked by `check` if the entry sets it: `Some(None)` when it does not, `None`
    /// after a problem.
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

    /// The duration `key`, `default` when the entry leaves it out.
    pub(crate) fn duration_or(&mut self, key: &str, default: Duration) -> Option<Duration> {
        let field = self.field(key);
        self.c.duration_or(&field, self.get(key), default)
    }

    /// The duration `key`, which the entry must set.
    pub(crate) fn required_duration(&mut self, key: &str) -> Option<Duration> {
        let field = self.field(key);
        self.c.required_duration(&field, self.get(key))
    }

    /// The non-empty text `key`, which the entry must set.
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

    /// A whole number of at least 1.
    pub(crate) fn nonzero(&mut self, field: &str, value: &Scalar) -> Option<NonZeroU32> {
        self.c.nonzero(field, value)
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
