//! Whether the healer may act on a valid answer: the runbook it names must be in the loaded
//! library and apply to the target (its `targets:` labels), and its confidence must reach the
//! advisor's `min_confidence` and the operator-wide guardrail. The engine then takes the chosen
//! runbook down the same path as a rule-selected one (cooldown, `max_actions`, dry run,
//! approval); anything refused here is escalated with the rationale.

use std::sync::Arc;

use super::Answer;
use crate::runbook::Runbook;
use crate::signal::TargetRef;

/// What to do with an answer.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Run this runbook of the library.
    Act(Arc<Runbook>),
    /// Do not act; why.
    Escalate(String),
}

/// Decides on `answer` about `target`, with the `library` loaded and the confidence `needed`.
pub(crate) fn decide(
    answer: &Answer,
    library: &[Arc<Runbook>],
    target: &TargetRef,
    needed: f64,
) -> Decision {
    let rationale = &answer.rationale;
    if answer.runbook.trim().eq_ignore_ascii_case("none") {
        return Decision::Escalate(format!("the advisor picked no runbook: {rationale}"));
    }
    let Some(runbook) = library.iter().find(|r| r.name == answer.runbook) else {
        return Decision::Escalate(format!(
            "the advisor named runbook {:?}, which is not in the library; not acting ({rationale})",
            answer.runbook
        ));
    };
    if !runbook.targets.contains(target) {
        return Decision::Escalate(format!(
            "the advisor named runbook {}, which does not apply to {} (its `targets:` labels); \
             not acting ({rationale})",
            runbook.name, target.name
        ));
    }
    if answer.confidence < needed {
        return Decision::Escalate(format!(
            "the advisor's confidence {:.2} in runbook {} is below {needed:.2}; not acting \
             ({rationale})",
            answer.confidence, runbook.name
        ));
    }
    Decision::Act(Arc::clone(runbook))
}
