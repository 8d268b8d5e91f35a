//! Runbook triggers, one module per `when:` key (`docker_event`, `threshold`, `log_match`…): the settings an
//! entry gives it, checked with every problem located, the sources it reads, the evidence it is
//! for classification, and how it detects a fault (by matching one signal, or with a
//! [`Detector`] over a series), all in its [`TriggerKind`] implementation. The `registry!` at
//! the end is the one list of them: it gives the compiled runbook's [`Trigger`] and the runbook
//! compiler's [`KINDS`] (the keys, the settings each takes, did-you-mean hints). Adding a
//! trigger is a module and a registry line.

pub(crate) mod alert;
pub(crate) mod anomaly;
pub(crate) mod docker_event;
pub(crate) mod health;
pub(crate) mod log_match;
pub(crate) mod probe_failures;
pub(crate) mod threshold;
pub(crate) mod trend;

use std::fmt;

use specfile::Scalar;

use crate::classify::Symptom;
use crate::detect::Detector;
use crate::runbook::TriggerFields;
use crate::signal::SignalKind;
use crate::sources::Needs;

/// One kind of trigger: how a `when` entry spells it and how it detects its fault. Each module
/// of [`crate::triggers`] implements it for the trigger's compiled form.
pub(crate) trait TriggerKind: Sized + Into<Trigger> {
    /// The `when` key naming it, whose value is its main setting (`oom`, a metric, a count).
    const KEY: &'static str;
    /// The settings it takes besides its key, in the order messages list them.
    const FIELDS: &'static [&'static str] = &[];
    /// Of [`Self::FIELDS`], those whose value is a map (`labels: {severity: page}`) rather than
    /// a single value.
    const MAPS: &'static [&'static str] = &[];

    /// The trigger from its key's `value` and the entry's other settings, each problem
    /// recorded at its field; `None` after one.
    fn compile(value: &Scalar, when: &mut TriggerFields<'_>) -> Option<Self>;

    /// Whether a signal of `kind` is a fault this trigger names by itself (event and alert
    /// matches).
    fn matches(&self, kind: &SignalKind) -> bool {
        let _ = kind;
        false
    }

    /// A fresh detector, for a trigger over a series of one target's signals; `None` for one
    /// that only [`matches`](Self::matches) single signals.
    fn detector(&self) -> Option<Box<dyn Detector>> {
        None
    }

    /// Records in `needs` the healer's own sources it reads, if any.
    fn needs(&self, needs: &mut Needs) {
        let _ = needs;
    }

    /// What its firing is evidence of, for classification.
    fn symptom(&self) -> Symptom<'_> {
        Symptom::Other
    }

    /// The trigger as the runbook spells it.
    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// A trigger kind as the runbook compiler finds it by key.
pub(crate) struct Entry {
    pub(crate) key: &'static str,
    pub(crate) fields: &'static [&'static str],
    pub(crate) maps: &'static [&'static str],
    pub(crate) compile: fn(&Scalar, &mut TriggerFields<'_>) -> Option<Trigger>,
}

impl Entry {
    const fn of<T: TriggerKind>() -> Entry {
        Entry {
            key: T::KEY,
            fields: T::FIELDS,
            maps: T::MAPS,
            compile: compile::<T>,
        }
    }
}

fn compile<T: TriggerKind>(value: &Scalar, when: &mut TriggerFields<'_>) -> Option<Trigger> {
    T::compile(value, when).map(Into::into)
}

/// Every key, in registry order.
pub(crate) fn keys() -> Vec<&'static str> {
    KINDS.iter().map(|kind| kind.key).collect()
}

/// The settings some trigger takes whose value is a map, each once.
pub(crate) fn maps() -> Vec<&'static str> {
    crate::runbook::distinct(KINDS.iter().flat_map(|kind| kind.maps))
}

/// Every key a `when` entry may have: each trigger's key followed by its settings.
pub(crate) fn expected() -> Vec<&'static str> {
    crate::runbook::distinct(
        KINDS
            .iter()
            .flat_map(|kind| std::iter::once(&kind.key).chain(kind.fields)),
    )
}

/// Defines [`Trigger`], a variant per line named like the trigger's type, its dispatch to
/// [`TriggerKind`] (the one match over triggers), and [`KINDS`] in line order.
macro_rules! registry {
    ($($module:ident::$kind:ident,)*) => {
        /// A fault a runbook handles: one entry of its `when` list, compiled.
        #[derive(Debug, Clone, PartialEq)]
        pub(crate) enum Trigger {
            $($kind($module::$kind),)*
        }

        /// Every trigger kind, in the order messages list them.
        pub(crate) const KINDS: &[Entry] = &[$(Entry::of::<$module::$kind>(),)*];

        $(impl From<$module::$kind> for Trigger {
            fn from(trigger: $module::$kind) -> Trigger {
                Trigger::$kind(trigger)
            }
        })*

        impl Trigger {
            /// See [`TriggerKind::matches`].
            pub(crate) fn matches(&self, kind: &SignalKind) -> bool {
                match self {
                    $(Trigger::$kind(trigger) => trigger.matches(kind),)*
                }
            }

            /// See [`TriggerKind::detector`].
            pub(crate) fn detector(&self) -> Option<Box<dyn Detector>> {
                match self {
                    $(Trigger::$kind(trigger) => trigger.detector(),)*
                }
            }

            /// See [`TriggerKind::needs`].
            pub(crate) fn needs(&self, needs: &mut Needs) {
                match self {
                    $(Trigger::$kind(trigger) => trigger.needs(needs),)*
                }
            }

            /// See [`TriggerKind::symptom`].
            pub(crate) fn symptom(&self) -> Symptom<'_> {
                match self {
                    $(Trigger::$kind(trigger) => trigger.symptom(),)*
                }
            }
        }

        /// See [`TriggerKind::describe`].
        impl fmt::Display for Trigger {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $(Trigger::$kind(trigger) => trigger.describe(f),)*
                }
            }
        }
    };
}

registry! {
    docker_event::DockerEvent,
    health::Unhealthy,
    probe_failures::ProbeFailures,
    alert::Alert,
    threshold::Threshold,
    trend::Trend,
    anomaly::Anomaly,
    log_match::LogMatch,
}
