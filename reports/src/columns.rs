//! The columns of every per-trial table (terminal, HTML, Markdown): one list, so that the three
//! show the same figures under the same names. Each renderer adds its own trial key (the HTML's
//! is a link) and result cell (coloured, bold, with reasons), which differ by format.

use crate::fmt::{opt_secs, percent, secs};
use crate::TrialOutcome;

/// One column: its heading, and its text for a trial.
pub(crate) struct Column {
    pub name: &'static str,
    /// A figure, right-aligned; else text, left-aligned.
    pub numeric: bool,
    pub value: fn(&TrialOutcome) -> String,
}

const fn figure(name: &'static str, value: fn(&TrialOutcome) -> String) -> Column {
    Column {
        name,
        numeric: true,
        value,
    }
}

/// Between the trial and its result: the outage, its MTTR phases in time order (detect + act +
/// platform + start→good = MTTR), the confirmation, then what users and the healer saw.
pub(crate) const TRIAL_COLUMNS: [Column; 11] = [
    Column {
        name: "outage",
        numeric: false,
        value: outage,
    },
    figure("detect", |t| opt_secs(t.ttd_ms)),
    figure("act", |t| opt_secs(t.tta_ms)),
    figure("platform", |t| opt_secs(t.platform_call_ms)),
    figure("start→good", |t| opt_secs(t.finished_to_recovered_ms)),
    figure("MTTR", |t| opt_secs(t.mttr_ms)),
    figure("confirm", |t| opt_secs(t.confirmation_ms)),
    figure("downtime", |t| secs(t.downtime_ms)),
    figure("errors", |t| {
        t.error_rate.map_or_else(|| "-".to_owned(), percent)
    }),
    figure("OOM", |t| t.oom_kills.to_string()),
    figure("heals", heals),
];

/// What the phase columns mean, for under the table: MTTR's phases, then the confirmation.
pub(crate) const PHASES: [&str; 2] = [
    "detect + act + platform + start→good = MTTR: outage start → first good answer (of K in a row)",
    "confirm: first good answer → the K-th good probe answered",
];

fn outage(t: &TrialOutcome) -> String {
    match (&t.outage_target, t.outage) {
        (Some(target), true) => format!("yes ({target})"),
        (None, true) => "yes".to_owned(),
        (_, false) => "no".to_owned(),
    }
}

/// Verified heals, with the unverified remediations beside them when there are any.
fn heals(t: &TrialOutcome) -> String {
    if t.unverified > 0 {
        format!("{} ({} unverified)", t.heals, t.unverified)
    } else {
        t.heals.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trial_reads_in_phase_order() {
        let t = TrialOutcome {
            outage: true,
            outage_target: Some("leaky-0".into()),
            ttd_ms: Some(-100.0),
            tta_ms: Some(50.0),
            platform_call_ms: Some(350.0),
            finished_to_recovered_ms: Some(100.0),
            mttr_ms: Some(400.0),
            heals: 1,
            unverified: 2,
            ..TrialOutcome::default()
        };
        let row: Vec<String> = TRIAL_COLUMNS.iter().map(|c| (c.value)(&t)).collect();
        assert_eq!(
            row,
            [
                "yes (leaky-0)",
                "-0.100s",
                "0.050s",
                "0.350s",
                "0.100s",
                "0.400s",
                "-",
                "0.000s",
                "-",
                "0",
                "1 (2 unverified)"
            ]
        );
    }
}
