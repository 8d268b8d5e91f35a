//! What became of one trial's remediations: which were verified, which were not, and why.
//!
//! A heal is a *verified* recovery: the healer's own check after its steps (`Verified { ok:
//! true }`). A remediation is unverified when its verification failed (`Verified { ok: false }`),
//! or when its incident started an action but recorded no verification before the trial ended
//! (a step failed and it escalated, or the trial ended first).

use journal::{Event, Record};

/// The trial's remediations, counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Verification {
    /// `Verified { ok: true }` records.
    pub heals: u32,
    /// Failed verifications plus acting incidents without any verification.
    pub unverified: u32,
    /// One sentence per unverified remediation, in the order they happened.
    pub notes: Vec<String>,
}

/// One incident that started an action.
struct Acting<'a> {
    target: &'a str,
    incident: &'a str,
    runbook: &'a str,
    verified: bool,
    /// Its last failed step and that step's error, if any.
    failed_step: Option<(&'a str, Option<&'a str>)>,
}

/// Counts and explains the verifications of the trial's records (in time order).
pub(super) fn verification(records: &[&Record]) -> Verification {
    let mut v = Verification::default();
    let mut acting: Vec<Acting<'_>> = Vec::new();
    for r in records {
        match &r.event {
            Event::ActionStarted {
                target,
                incident,
                runbook,
                ..
            } if !acting
                .iter()
                .any(|a| a.target == target && a.incident == incident) =>
            {
                acting.push(Acting {
                    target,
                    incident,
                    runbook,
                    verified: false,
                    failed_step: None,
                });
            }
            Event::ActionFinished {
                target,
                incident,
                action,
                ok,
                error,
                ..
            } => {
                if let Some(a) = acting
                    .iter_mut()
                    .find(|a| a.target == target && a.incident == incident)
                {
                    a.failed_step = (!ok).then_some((action.as_str(), error.as_deref()));
                }
            }
            Event::Verified {
                target,
                incident,
                runbook,
                ok,
                ..
            } => {
                if let Some(a) = acting
                    .iter_mut()
                    .find(|a| a.target == target && a.incident == incident)
                {
                    a.verified = true;
                }
                if *ok {
                    v.heals += 1;
                } else {
                    v.unverified += 1;
                    let note =
                        verification_outcome(&r.event).map(|o| format!("runbook {runbook}: {o}"));
                    v.notes.extend(note);
                }
            }
            _ => {}
        }
    }
    for a in acting.iter().filter(|a| !a.verified) {
        v.unverified += 1;
        v.notes.push(match a.failed_step {
            Some((action, error)) => format!(
                "runbook {} was not verified: its {action} step failed ({})",
                a.runbook,
                error.unwrap_or("no error recorded")
            ),
            None => format!(
                "runbook {} acted but recorded no verification before the trial ended",
                a.runbook
            ),
        });
    }
    v
}

/// A `Verified` event in words: `verification failed after 31 attempt(s) in 15.000s`; `None`
/// for any other event.
pub(crate) fn verification_outcome(event: &Event) -> Option<String> {
    let Event::Verified {
        ok,
        attempts,
        duration_ms,
        ..
    } = event
    else {
        return None;
    };
    Some(format!(
        "verification {} after {attempts} attempt(s) in {:.3}s",
        if *ok { "passed" } else { "failed" },
        duration_ms / 1000.0
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(event: Event) -> Record {
        Record {
            t_ms: 0.0,
            unix_ms: 0,
            trial: Some(1),
            event,
        }
    }

    fn started(incident: &str) -> Record {
        record(Event::ActionStarted {
            target: "t".into(),
            incident: incident.into(),
            runbook: "restart".into(),
            action: "restart".into(),
        })
    }

    fn finished(incident: &str, ok: bool) -> Record {
        record(Event::ActionFinished {
            target: "t".into(),
            incident: incident.into(),
            runbook: "restart".into(),
            action: "restart".into(),
            ok,
            duration_ms: 10.0,
            error: (!ok).then(|| "no such container".into()),
        })
    }

    fn verified(incident: &str, ok: bool) -> Record {
        record(Event::Verified {
            target: "t".into(),
            incident: incident.into(),
            runbook: "restart".into(),
            ok,
            attempts: 31,
            duration_ms: 15_000.0,
        })
    }

    #[test]
    fn failed_missing_and_good_verifications_are_told_apart() {
        let records = [
            started("a"),
            finished("a", true),
            verified("a", true),
            started("b"),
            finished("b", true),
            verified("b", false),
            started("c"),
            finished("c", false),
            started("d"),
        ];
        let refs: Vec<&Record> = records.iter().collect();
        let v = verification(&refs);
        assert_eq!((v.heals, v.unverified), (1, 3));
        assert_eq!(
            v.notes,
            [
                "runbook restart: verification failed after 31 attempt(s) in 15.000s",
                "runbook restart was not verified: its restart step failed (no such container)",
                "runbook restart acted but recorded no verification before the trial ended",
            ]
        );
    }
}
