//! `when[i]` (or `fallback[i]`) → [`Trigger`]: exactly one kind key, its settings checked by its
//! module in [`crate::triggers`] (through [`TriggerFields`]), which the registry also tells
//! apart from unknown keys.

use std::collections::BTreeMap;

use super::{Compiler, TriggerFields};
use crate::runbook::spec::TriggerSpec;
use crate::triggers::{self, Trigger, KINDS};

impl Compiler {
    pub(super) fn trigger(&mut self, path: &str, spec: &TriggerSpec) -> Option<Trigger> {
        let expected = triggers::expected();
        let (given, unknown): (BTreeMap<_, _>, BTreeMap<_, _>) = spec
            .fields
            .iter()
            .map(|(key, value)| (key.clone(), value))
            .partition(|(key, _)| expected.contains(&key.as_str()));
        self.p.unknown_fields(path, &unknown, &expected);
        let named: Vec<_> = KINDS
            .iter()
            .filter(|kind| given.get(kind.key).is_some_and(|value| !value.is_null()))
            .collect();
        let &[kind] = named.as_slice() else {
            // `when[0]` or `fallback[0]`.
            let list = path.split('[').next().unwrap_or(path);
            self.p.push(
                path,
                format!(
                    "a `{list}` entry needs exactly one of: {}",
                    triggers::keys().join(", ")
                ),
                None,
            );
            return None;
        };
        let (mut fields, maps) = self.settings(path, given, &triggers::maps());
        // `None`: not a single value, a problem already recorded at the key.
        let value = fields.remove(kind.key)?;
        self.only(
            path,
            kind.key,
            kind.fields,
            fields.keys().chain(maps.keys()),
        );
        (kind.compile)(&value, &mut TriggerFields::new(self, path, &fields, &maps))
    }
}
