//! Step actions, one module each (`restart`, `drain`, `http`…): the fields a step gives it,
//! checked with every problem located, its default timeout, and what it does in an incident,
//! all in its [`ActionKind`] implementation. The `registry!` at the end is the one list of
//! them: it gives the compiled runbook's [`Action`] and the step compiler's [`KINDS`] (the
//! action names, the fields each takes, did-you-mean hints). Adding an action is a module and a
//! registry line.

pub(crate) mod drain;
pub(crate) mod http;
pub(crate) mod notify;
pub(crate) mod recreate;
pub(crate) mod restart;
pub(crate) mod rollback;
pub(crate) mod scale;
pub(crate) mod signal;
pub(crate) mod stop;
pub(crate) mod unpause;
pub(crate) mod update_limits;
pub(crate) mod wait;

use std::fmt;
use std::time::Duration;

use crate::incident::Incident;
use crate::runbook::StepFields;
use crate::signal::TargetRef;

/// One action: how a step spells it and what it does. Each module of [`crate::actions`]
/// implements it for the action's compiled form.
pub(crate) trait ActionKind: Sized + Into<Action> {
    /// The `action:` value naming it.
    const NAME: &'static str;
    /// The step fields it takes besides `action`, `timeout` and `retries`, in the order
    /// messages list them.
    const FIELDS: &'static [&'static str] = &[];

    /// The action from the step's fields, each problem recorded at its field; `None` after one.
    fn compile(step: &mut StepFields<'_>) -> Option<Self>;

    /// The timeout of a step that names none, given the action if its fields compiled;
    /// `None`: the step must name one.
    fn default_timeout(compiled: Option<&Self>) -> Option<Duration> {
        let _ = compiled;
        None
    }

    /// One attempt on `target` (the target as it is now) in `incident`; the incident also
    /// bounds it by the step's `timeout`. `Err` says why it failed.
    async fn execute(
        &self,
        incident: &Incident,
        target: &TargetRef,
        timeout: Duration,
    ) -> Result<(), String>;

    /// Whether an attempt holds a permit of the guardrails' limit of actions at once; one that
    /// only waits or tells humans does not.
    fn holds_permit(&self) -> bool {
        true
    }

    /// Whether it only tells humans, so it runs even when the guardrails allow nothing else.
    fn only_notifies(&self) -> bool {
        false
    }

    /// How journal records and logs name it; by default its name alone.
    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::NAME)
    }
}

/// An action kind as the step compiler finds it by name.
pub(crate) struct Entry {
    pub(crate) name: &'static str,
    pub(crate) fields: &'static [&'static str],
    /// The step's action, and the timeout of a step that names none.
    pub(crate) compile: fn(&mut StepFields<'_>) -> (Option<Action>, Option<Duration>),
}

impl Entry {
    const fn of<A: ActionKind>() -> Entry {
        Entry {
            name: A::NAME,
            fields: A::FIELDS,
            compile: compile::<A>,
        }
    }
}

fn compile<A: ActionKind>(step: &mut StepFields<'_>) -> (Option<Action>, Option<Duration>) {
    let action = A::compile(step);
    let timeout = A::default_timeout(action.as_ref());
    (action.map(Into::into), timeout)
}

/// The kind called `name`.
pub(crate) fn kind(name: &str) -> Option<&'static Entry> {
    KINDS.iter().find(|kind| kind.name == name)
}

/// Every action name, in registry order.
pub(crate) fn names() -> Vec<&'static str> {
    KINDS.iter().map(|kind| kind.name).collect()
}

/// Every field some action takes, each once, in registry order.
pub(crate) fn fields() -> Vec<&'static str> {
    crate::runbook::distinct(KINDS.iter().flat_map(|kind| kind.fields))
}

/// Defines [`Action`], a variant per line named like the action's type, its dispatch to
/// [`ActionKind`] (the one match over actions), and [`KINDS`] in line order.
macro_rules! registry {
    ($($module:ident::$kind:ident,)*) => {
        /// What a step does: the compiled action of its kind.
        #[derive(Debug, Clone)]
        pub(crate) enum Action {
            $($kind($module::$kind),)*
        }

        /// Every action kind, in the order messages list them.
        pub(crate) const KINDS: &[Entry] = &[$(Entry::of::<$module::$kind>(),)*];

        $(impl From<$module::$kind> for Action {
            fn from(action: $module::$kind) -> Action {
                Action::$kind(action)
            }
        })*

        impl Action {
            /// See [`ActionKind::execute`].
            pub(crate) async fn execute(
                &self,
                incident: &Incident,
                target: &TargetRef,
                timeout: Duration,
            ) -> Result<(), String> {
                match self {
                    $(Action::$kind(action) => action.execute(incident, target, timeout).await,)*
                }
            }

            /// See [`ActionKind::holds_permit`].
            pub(crate) fn holds_permit(&self) -> bool {
                match self {
                    $(Action::$kind(action) => action.holds_permit(),)*
                }
            }

            /// See [`ActionKind::only_notifies`].
            pub(crate) fn only_notifies(&self) -> bool {
                match self {
                    $(Action::$kind(action) => action.only_notifies(),)*
                }
            }
        }

        /// See [`ActionKind::describe`].
        impl fmt::Display for Action {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $(Action::$kind(action) => action.describe(f),)*
                }
            }
        }
    };
}

registry! {
    restart::Restart,
    recreate::Recreate,
    stop::Stop,
    scale::Scale,
    rollback::Rollback,
    update_limits::UpdateLimits,
    wait::Wait,
    drain::Drain,
    http::Http,
    notify::Notify,
    signal::Signal,
    unpause::Unpause,
}
