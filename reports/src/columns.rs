//! The columns of every per-trial table (terminal, HTML, Markdown): one list, so that the three
//! show the same figures under the same names. Each renderer adds its own trial key (the HTML's
//! is a link) and result cell (coloured, bold, with reasons), which differ by format; JUnit
//! gives them in a failed trial's message. The run-wide figures are in `figures`.

use crate::fmt::Amount;
use crate::TrialOutcome;

/// One column: its heading, and its amount for a trial.
pub(crate) struct Column {
    pub name: &'static str,
    /// A figure, right-aligned; else text, left-aligned.
    pub numeric: bool,
    pub value: fn(&TrialOutcome) -> Amount,
}

const fn figure(name: &'static str, value: fn(&TrialOutcome) -> Amount) -> Column {
    Column {
        name,
        numeric: true,
        value,
    }
}

impl Column {
    /// Its text for `t`.
    pub fn text(&self, t: &TrialOutcome) -> String {
        (self.value)(t).to_string()
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
    figure("detect", |t| Amount::Ms(t.ttd_ms)),
    figure("act", |t| Amount::Ms(t.tta_ms)),
    figure("platform", |t| Amount::Ms(t.platform_call_ms)),
    figure("start→good", |t| Amount::Ms(t.finished_to_recovered_ms)),
    figure("MTTR", |t| Amount::Ms(t.mttr_ms)),
    figure("confirm", |t| Amount::Ms(t.confirmation_ms)),
    figure("downtime", |t| Amount::Ms(Some(t.downtime_ms))),
    figure("errors", |t| Amount::Fraction(t.error_rate)),
    figure("OOM", |t| Amount::Count(t.oom_kills)),
    figure("heals", heals),
];

/// What the phase columns mean, for under the table: MTTR's phases, then the confirmation.
pub(crate) const PHASES: [&str; 2] = [
    "detect + act + platform + start→good = MTTR: outage start → first good answer (of K in a row)",
    "confirm: first good answer → the K-th good probe answered",
];

fn outage(t: &TrialOutcome) -> Amount {
    Amount::Text(match (&t.outage_target, t.outage) {
        (Some(target), true) => format!("yes ({target})"),
        (None, true) => "yes".to_owned(),
        (_, false) => "no".to_owned(),
    })
}

/// Verified heals, with the unverified remediations and the false positives beside them when
/// there are any.
fn heals(t: &TrialOutcome) -> Amount {
    let mut beside = Vec::new();
    if t.unverified > 0 {
        beside.push(format!("{} unverified", t.unverified));
    }
    if t.false_positives > 0 {
        beside.push(format!("{} false positive(s)", t.false_positives));
    }
    if beside.is_empty() {
        Amount::Count(t.heals)
    } else {
        Amount::Text(format!("{} ({})", t.heals, beside.join(", ")))
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
            false_positives: 1,
            ..TrialOutcome::default()
        };
        let row: Vec<String> = TRIAL_COLUMNS.iter().map(|c| c.text(&t)).collect();
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
                "1 (2 unverified, 1 false positive(s))"
            ]
        );
    }
}
