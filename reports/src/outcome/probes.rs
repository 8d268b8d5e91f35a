//! The independent prober's results of one trial in SEND order: where an outage starts, when it
//! recovered and when that was confirmed, and the downtime.
//!
//! A probe's record is made when it answered (or timed out), `latency_ms` after it was sent, and
//! probes leave on a fixed schedule, so a probe that timed out is recorded after later probes that
//! answered at once. Probes are ordered by send time, so a slow failure cannot hide (or delay) a
//! recovery that later probes already saw. A failure is dated by its send time (the target did not
//! answer a request sent then); a recovery by its earliest good *answer*: a probe sent while a
//! container is down can be held (Docker's port proxy keeps the connection) and answered once the
//! container serves again, so its send time would date the recovery before the container even
//! started (measured here: good probes sent 100 ms before the restarted container's `start`).

use std::collections::{BTreeMap, HashMap};

use journal::{Event, Record};

/// One probe of a live target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Probe<'a> {
    pub target: &'a str,
    /// Record time − latency.
    pub sent_ms: f64,
    /// The record's time: when it answered or gave up.
    pub answered_ms: f64,
    pub ok: bool,
}

/// The probes of live targets (sent after the target's first `TargetReady`), in send order;
/// probes sent at the same instant keep their journal order.
pub(super) fn live_probes<'a>(
    records: &[&'a Record],
    ready_ms: &HashMap<&str, f64>,
) -> Vec<Probe<'a>> {
    let mut probes: Vec<Probe<'a>> = records
        .iter()
        .filter_map(|r| {
            let sent_ms = r.probe_sent_ms()?;
            let Event::Probe { target, ok, .. } = &r.event else {
                return None;
            };
            let live = ready_ms.get(target.as_str()).is_some_and(|&t| sent_ms > t);
            live.then_some(Probe {
                target,
                sent_ms,
                answered_ms: r.t_ms,
                ok: *ok,
            })
        })
        .collect();
    probes.sort_by(|a, b| a.sent_ms.total_cmp(&b.sent_ms));
    probes
}

/// The end of an outage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Recovery {
    /// The earliest answer among the K consecutive ok probes: when the target first served.
    pub recovered_ms: f64,
    /// When the last of those K answered (the latest answer among them).
    pub confirmed_ms: f64,
}

/// The first run of `k` consecutive ok probes of `target` sent after `start_ms`, in send order:
/// recovered at the earliest answer among them, confirmed at the latest.
pub(super) fn recovery(
    probes: &[Probe<'_>],
    target: &str,
    start_ms: f64,
    k: u32,
) -> Option<Recovery> {
    let mut run: Option<(Recovery, u32)> = None;
    for p in probes
        .iter()
        .filter(|p| p.target == target && p.sent_ms > start_ms)
    {
        if !p.ok {
            run = None;
            continue;
        }
        let (mut found, count) = run.unwrap_or((
            Recovery {
                recovered_ms: p.answered_ms,
                confirmed_ms: p.answered_ms,
            },
            0,
        ));
        found.recovered_ms = found.recovered_ms.min(p.answered_ms);
        found.confirmed_ms = found.confirmed_ms.max(p.answered_ms);
        if count + 1 >= k {
            return Some(found);
        }
        run = Some((found, count + 1));
    }
    None
}

/// The failing probe spans, per target in send order: from a failed probe's send time to the
/// earliest answer of an ok probe sent after it (as a recovery is dated), or, still open at the
/// trial's end, to the send time of its last probe. Spans of different targets may overlap: the
/// downtime is their [`merged_length`].
pub(super) fn down_spans(probes: &[Probe<'_>]) -> Vec<(f64, f64)> {
    let mut series: BTreeMap<&str, Vec<&Probe<'_>>> = BTreeMap::new();
    for p in probes {
        series.entry(p.target).or_default().push(p);
    }
    let mut spans = Vec::new();
    for probes in series.values() {
        // The earliest answer of an ok probe sent at or after each index: a span ends when the
        // target first answered well again, whichever later-sent probe saw it first.
        let mut first_ok_answer = vec![f64::INFINITY; probes.len() + 1];
        for (i, p) in probes.iter().enumerate().rev() {
            let own = if p.ok { p.answered_ms } else { f64::INFINITY };
            first_ok_answer[i] = own.min(first_ok_answer[i + 1]);
        }
        let mut open: Option<f64> = None;
        for (i, p) in probes.iter().enumerate() {
            match (open, p.ok) {
                (None, false) => open = Some(p.sent_ms),
                (Some(from), true) => {
                    spans.push((from, first_ok_answer[i].max(from)));
                    open = None;
                }
                _ => {}
            }
        }
        if let (Some(from), Some(last)) = (open, probes.last()) {
            spans.push((from, last.sent_ms));
        }
    }
    spans
}

/// Total length of the union of `spans`.
pub(super) fn merged_length(mut spans: Vec<(f64, f64)>) -> f64 {
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    let mut current: Option<(f64, f64)> = None;
    for (from, to) in spans {
        current = match current {
            Some((f, t)) if from <= t => Some((f, t.max(to))),
            Some((f, t)) => {
                total += t - f;
                Some((from, to))
            }
            None => Some((from, to)),
        };
    }
    total + current.map_or(0.0, |(f, t)| t - f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(sent_ms: f64, latency: f64, ok: bool) -> Probe<'static> {
        Probe {
            target: "t",
            sent_ms,
            answered_ms: sent_ms + latency,
            ok,
        }
    }

    #[test]
    fn overlapping_spans_count_once() {
        assert_eq!(
            merged_length(vec![(10.0, 20.0), (0.0, 5.0), (15.0, 30.0), (30.0, 31.0)]),
            26.0
        );
        assert_eq!(merged_length(Vec::new()), 0.0);
    }

    #[test]
    fn recovery_is_the_first_good_answer_and_confirmation_the_last() {
        // Probes sent while the target was down are held and answered together once it serves
        // (at 350): it recovered then, not when they were sent.
        let probes = [
            probe(0.0, 500.0, false),
            probe(50.0, 300.0, true),
            probe(100.0, 250.0, true),
            probe(150.0, 201.0, true),
        ];
        assert_eq!(
            recovery(&probes, "t", 0.0, 3),
            Some(Recovery {
                recovered_ms: 350.0,
                confirmed_ms: 351.0
            })
        );
        assert_eq!(recovery(&probes, "t", 0.0, 4), None);
        assert_eq!(recovery(&probes, "other", 0.0, 1), None);
    }
}
