//! Runbook selection: when several runbooks' `when` fire on one signal, classify each and pick
//! one by confidence, then past outcomes in the knowledge base, then file order, and say why.

use tokio::time::Instant;

use crate::classify::{classify, Classification, History};
use crate::detect::Detection;
use crate::knowledge::{KnowledgeBase, OutcomeStats};
use crate::signal::SignalKind;

/// One matching runbook, classified.
pub(super) struct Candidate {
    pub(super) detection: Detection,
    pub(super) classification: Classification,
    /// The knowledge base's score of the runbook on this class.
    score: f64,
    known: Option<OutcomeStats>,
}

/// Classifies every matching runbook and picks one: the highest confidence, then the best
/// record in the knowledge base, then the runbooks' order. Gives the pick and, when there was
/// a choice, why (for `RunbookSelected`).
pub(super) fn rank(
    detections: Vec<Detection>,
    kind: &SignalKind,
    history: &History,
    at: Instant,
    knowledge: &KnowledgeBase,
) -> Option<(Candidate, String)> {
    let mut candidates: Vec<Candidate> = detections
        .into_iter()
        .map(|detection| {
            let classification =
                classify(&detection.runbook, &detection.trigger, kind, history, at);
            let known = knowledge.stats(&classification.class, &detection.runbook.name);
            Candidate {
                score: known.unwrap_or_default().score(),
                known,
                detection,
                classification,
            }
        })
        .collect();
    // Stable: equal candidates keep the runbooks' order. Confidences are compared to 0.01.
    candidates.sort_by(|a, b| {
        let confidence = |c: &Candidate| (c.classification.confidence * 100.0).round() as i64;
        confidence(b)
            .cmp(&confidence(a))
            .then(b.score.total_cmp(&a.score))
    });
    let count = candidates.len();
    let mut candidates = candidates.into_iter();
    let best = candidates.next()?;
    let mut ranking = String::new();
    if count > 1 {
        let others: Vec<String> = candidates
            .map(|c| {
                format!(
                    "{} ({:.2}, {})",
                    c.detection.runbook.name,
                    c.classification.confidence,
                    record(c.known)
                )
            })
            .collect();
        ranking = format!(
            "; ranked first of {count} matching runbooks ({}) by confidence, then past outcomes ({}), over {}",
            best.classification.reason,
            record(best.known),
            others.join(", ")
        );
    } else if best.classification.reason.contains(':') {
        ranking = format!(" ({})", best.classification.reason);
    }
    Some((best, ranking))
}

/// A knowledge base record in words.
fn record(known: Option<OutcomeStats>) -> String {
    match known {
        None => "no past outcomes".to_owned(),
        Some(stats) => match stats.mean_time_to_recover() {
            Some(mttr) => format!(
                "{}/{} fixed, mean recovery {mttr:?}",
                stats.successes, stats.attempts
            ),
            None => format!("{}/{} fixed", stats.successes, stats.attempts),
        },
    }
}
