//! `steps[i]` → [`Step`]: the action named, its fields checked by its module in
//! [`crate::actions`] (through [`StepFields`]), which the registry also tells apart from
//! unknown keys, and the timeout.

use std::collections::BTreeMap;

use super::{Compiler, StepFields};
use crate::actions;
use crate::runbook::spec::StepSpec;
use crate::runbook::Step;

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
        let (fields, maps) = self.settings(path, given, &[]);
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
                self.only(path, kind.name, kind.fields, fields.keys());
                (kind.compile)(&mut StepFields::new(self, path, &fields, &maps))
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
}
