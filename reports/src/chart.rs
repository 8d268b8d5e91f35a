//! The report's charts, drawn with plotters into inline `<svg>` strings. Each chart draws only
//! figures and samples recorded in the journal.

use std::error::Error;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::timeline::{MarkerKind, TrialTimeline};
use crate::TrialOutcome;

type Drawn = Result<String, Box<dyn Error>>;
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

const FONT: &str = "sans-serif";
const WIDTH: u32 = 1000;
const DOWN: RGBColor = RGBColor(220, 40, 40);
const OK: RGBColor = RGBColor(0, 140, 70);
const DETECT: RGBColor = RGBColor(140, 60, 180);
const ACT: RGBColor = RGBColor(30, 100, 220);
const ACT_END: RGBColor = RGBColor(0, 170, 200);
const FAULT: RGBColor = RGBColor(230, 120, 0);
const GREY: RGBColor = RGBColor(120, 120, 120);
/// Line colours of the probe series, one per target.
const SERIES: [RGBColor; 4] = [
    RGBColor(40, 90, 160),
    RGBColor(0, 150, 150),
    RGBColor(160, 110, 0),
    RGBColor(100, 100, 100),
];

/// Draws on a white `width × height` SVG canvas and returns the `<svg>` element.
fn draw(height: u32, paint: impl FnOnce(&Area<'_>) -> Result<(), Box<dyn Error>>) -> Drawn {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        paint(&root)?;
        root.present()?;
    }
    Ok(svg)
}

/// The legend of the series drawn with a label, boxed at `position` in the charts' style.
fn draw_legend<'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
    position: SeriesLabelPosition,
) -> Result<(), Box<dyn Error>> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(GREY)
        .label_font((FONT, 13))
        .draw()?;
    Ok(())
}

fn marker_color(kind: MarkerKind) -> RGBColor {
    match kind {
        MarkerKind::Fault => FAULT,
        MarkerKind::Detection => DETECT,
        MarkerKind::ActionStart => ACT,
        MarkerKind::ActionEnd => ACT_END,
        MarkerKind::Recovered => OK,
    }
}

/// Probe latency over the trial (log scale), failed probes as red crosses, failing spans shaded,
/// and a vertical line for each fault, detection, action start/end and the recovery.
pub(crate) fn timeline(tl: &TrialTimeline) -> Drawn {
    let latencies = tl.probes.values().flatten().map(|p| p.latency_ms);
    let (lo, hi) = latencies.fold((f64::MAX, f64::MIN), |(lo, hi), l| (lo.min(l), hi.max(l)));
    let (lo, hi) = if lo > hi {
        (0.1, 10.0)
    } else {
        ((lo.max(0.01) / 2.0), (hi.max(0.02) * 2.0))
    };
    let len = tl.length_s.max(1.0);
    draw(360, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("Trial {}: probes and events", tl.trial), (FONT, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..len, (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("seconds since the trial's first record")
            .y_desc("probe latency (ms, log)")
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        if !tl.down_spans.is_empty() {
            chart
                .draw_series(tl.down_spans.iter().map(|&(from, to)| {
                    Rectangle::new([(from, lo), (to, hi)], DOWN.mix(0.15).filled())
                }))?
                .label("downtime (probes failing)")
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 16, y + 5)], DOWN.mix(0.3).filled())
                });
        }
        for (i, (target, points)) in tl.probes.iter().enumerate() {
            let color = SERIES[i % SERIES.len()];
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|p| (p.at_s, p.latency_ms.max(lo))),
                    color.stroke_width(1),
                ))?
                .label(format!("probe latency {target}"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        }
        let failed: Vec<(f64, f64)> = tl
            .probes
            .values()
            .flatten()
            .filter(|p| !p.ok)
            .map(|p| (p.at_s, p.latency_ms.max(lo)))
            .collect();
        if !failed.is_empty() {
            chart
                .draw_series(
                    failed
                        .iter()
                        .map(|&at| Cross::new(at, 3, DOWN.stroke_width(1))),
                )?
                .label("failed probe")
                .legend(|(x, y)| Cross::new((x + 8, y), 3, DOWN.stroke_width(1)));
        }
        let mut labelled = Vec::new();
        for &(kind, at) in &tl.markers {
            let color = marker_color(kind);
            // The healer acts within a millisecond of detecting: the detection line is drawn
            // wider so it still shows beside the action line drawn over it.
            let width = if kind == MarkerKind::Detection { 6 } else { 2 };
            let line = vec![(at, lo), (at, hi)];
            let series = if kind == MarkerKind::ActionEnd {
                chart.draw_series(DashedLineSeries::new(line, 6, 4, color.stroke_width(width)))?
            } else {
                chart.draw_series(LineSeries::new(line, color.stroke_width(width)))?
            };
            if !labelled.contains(&kind) {
                labelled.push(kind);
                series.label(kind.label()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(width))
                });
            }
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

/// An x axis for items 1..=n: from 0.5 to n + 0.5, and how many labels to ask for (at most 20).
fn trial_axis(n: usize) -> (std::ops::Range<f64>, usize) {
    (0.5..n as f64 + 0.5, n.clamp(1, 20))
}

/// Whole numbers only: the axis may place ticks between items.
fn trial_label(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{}", x.round())
    } else {
        String::new()
    }
}

/// MTTR per trial as bars, with the median as a dashed line; unrecovered outages as red crosses.
pub(crate) fn mttr_distribution(trials: &[TrialOutcome], p50_ms: Option<f64>) -> Drawn {
    let secs: Vec<Option<f64>> = trials
        .iter()
        .map(|t| t.mttr_ms.map(|m| m / 1000.0))
        .collect();
    let top = secs
        .iter()
        .flatten()
        .fold(0.0_f64, |a, &b| a.max(b))
        .max(0.1)
        * 1.2;
    let (x_range, labels) = trial_axis(trials.len());
    draw(320, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("MTTR per trial", (FONT, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x_range, 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc("trial")
            .y_desc("MTTR (s)")
            .light_line_style(WHITE.mix(0.0))
            .x_labels(labels)
            .x_label_formatter(&trial_label)
            .disable_x_mesh()
            .draw()?;
        let bars: Vec<(f64, f64)> = secs
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|s| ((i + 1) as f64, s)))
            .collect();
        chart
            .draw_series(bars.iter().map(|&(x, s)| {
                Rectangle::new([(x - 0.3, 0.0), (x + 0.3, s)], OK.mix(0.8).filled())
            }))?
            .label("MTTR (recovered outage)")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], OK.filled()));
        chart.draw_series(bars.iter().map(|&(x, s)| {
            Text::new(format!("{s:.2}s"), (x - 0.25, s + top * 0.06), (FONT, 12))
        }))?;
        let unrecovered: Vec<f64> = trials
            .iter()
            .enumerate()
            .filter(|(_, t)| t.outage && t.mttr_ms.is_none())
            .map(|(i, _)| (i + 1) as f64)
            .collect();
        if !unrecovered.is_empty() {
            chart
                .draw_series(
                    unrecovered
                        .iter()
                        .map(|&x| Cross::new((x, top * 0.05), 6, DOWN.stroke_width(2))),
                )?
                .label("outage never recovered")
                .legend(|(x, y)| Cross::new((x + 8, y), 5, DOWN.stroke_width(2)));
        }
        if let Some(p50) = p50_ms {
            let p50 = p50 / 1000.0;
            let (x0, x1) = (0.5, trials.len() as f64 + 0.5);
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x0, p50), (x1, p50)],
                    8,
                    5,
                    GREY.stroke_width(2),
                ))?
                .label(format!("p50 {p50:.3}s"))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], GREY.stroke_width(2)));
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

/// A bar's span on the y axis, when the trial has that segment.
type Span = Option<(f64, f64)>;
/// The phases of the MTTR breakdown, in time order, then the confirmation after the recovery.
const PHASES: usize = 6;
/// (trial, a span per phase), seconds relative to the outage start.
type Row = (f64, [Span; PHASES]);

/// Each phase's legend label and colour, in the order of a row's spans.
const SEGMENTS: [(&str, RGBColor); PHASES] = [
    ("detect (below 0: healer first)", DETECT),
    ("act", ACT),
    ("platform call", ACT_END),
    ("start → first good answer", OK),
    (
        "confirm (K-th good probe answered)",
        RGBColor(150, 200, 160),
    ),
    ("recovered, no healer action", GREY),
];

/// A trial's phases: outage start → detection → action start → action finished → recovered →
/// confirmed, each relative to the outage start (either end first: a healer can detect before
/// the outage). A trial recovered without a finished action gets one grey bar to its recovery.
fn phases(t: &TrialOutcome) -> [Span; PHASES] {
    let rel = |at: Option<f64>| Some((at? - t.outage_start_ms?) / 1000.0);
    let span = |from: Option<f64>, to: Option<f64>| {
        let (a, b) = (from?, to?);
        Some((a.min(b), a.max(b)))
    };
    let zero = t.outage_start_ms.map(|_| 0.0);
    let detected = rel(t.detected_at_ms);
    let action = rel(t.action_started_at_ms);
    let finished = rel(t.action_finished_at_ms);
    let recovered = rel(t.recovered_at_ms);
    let unexplained = finished.is_none().then(|| span(zero, recovered)).flatten();
    [
        span(zero, detected),
        span(detected, action),
        span(action, finished),
        span(finished, recovered),
        span(recovered, rel(t.confirmed_at_ms)),
        unexplained,
    ]
}

/// Per trial, the MTTR's phases detect → act → platform call → start → first good answer as one
/// floating stacked bar, then the confirmation, on a time axis whose zero is the outage start:
/// detection below zero means the healer was first (TTD < 0).
pub(crate) fn breakdown(trials: &[TrialOutcome]) -> Drawn {
    let rows: Vec<Row> = trials
        .iter()
        .enumerate()
        .map(|(i, t)| ((i + 1) as f64, phases(t)))
        .collect();
    let all = rows
        .iter()
        .flat_map(|(_, spans)| spans.iter().flatten())
        .flat_map(|&(a, b)| [a, b]);
    let (lo, hi) = all.fold((0.0_f64, 0.1_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let pad = (hi - lo) * 0.1;
    // Room above the bars for the legend.
    let hi = hi + (hi - lo) * 0.7;
    let (x_range, labels) = trial_axis(trials.len());
    draw(340, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                "MTTR by phase per trial: detect → act → platform call → first good answer \
                 (0 = outage start)",
                (FONT, 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x_range, (lo - pad)..(hi + pad))?;
        chart
            .configure_mesh()
            .x_desc("trial")
            .y_desc("seconds from outage start")
            .light_line_style(WHITE.mix(0.0))
            .x_labels(labels)
            .x_label_formatter(&trial_label)
            .disable_x_mesh()
            .draw()?;
        for (phase, (label, color)) in SEGMENTS.into_iter().enumerate() {
            let bars: Vec<_> = rows
                .iter()
                .filter_map(|(x, spans)| {
                    spans[phase].map(|(a, b)| {
                        Rectangle::new([(x - 0.3, a), (x + 0.3, b)], color.mix(0.85).filled())
                    })
                })
                .collect();
            if bars.is_empty() {
                continue;
            }
            chart.draw_series(bars)?.label(label).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 16, y + 5)], color.filled())
            });
        }
        let (x0, x1) = (0.5, trials.len() as f64 + 0.5);
        chart
            .draw_series(LineSeries::new(
                vec![(x0, 0.0), (x1, 0.0)],
                BLACK.stroke_width(1),
            ))?
            .label("outage start")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK));
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}

/// A figure per run, oldest first (x = run number), as a line with points; the newest point is
/// drawn large and red when `regression` is set. Runs without the figure are skipped. The y axis
/// runs from 0 to `y_max`, or to 1.2 × the largest value without one.
pub(crate) fn trend(
    title: &str,
    y_desc: &str,
    values: &[Option<f64>],
    y_max: Option<f64>,
    regression: bool,
) -> Drawn {
    let points: Vec<(f64, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| ((i + 1) as f64, v)))
        .collect();
    let top =
        y_max.unwrap_or_else(|| points.iter().fold(0.0_f64, |a, p| a.max(p.1)).max(0.001) * 1.2);
    let (x_range, labels) = trial_axis(values.len().max(1));
    draw(260, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(x_range, 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc("run (oldest → newest)")
            .y_desc(y_desc)
            .light_line_style(WHITE.mix(0.0))
            .x_labels(labels)
            .x_label_formatter(&trial_label)
            .draw()?;
        chart.draw_series(LineSeries::new(points.clone(), ACT.stroke_width(2)))?;
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, ACT.filled())))?;
        if regression {
            if let Some(&last) = points.last() {
                chart
                    .draw_series([Circle::new(last, 8, DOWN.filled())])?
                    .label("regression")
                    .legend(|(x, y)| Circle::new((x + 8, y), 5, DOWN.filled()));
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperLeft)
                    .background_style(WHITE.mix(0.85))
                    .border_style(GREY)
                    .draw()?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_follow_the_instants_and_meet_end_to_end() {
        let t = TrialOutcome {
            outage_start_ms: Some(1000.0),
            detected_at_ms: Some(900.0),
            action_started_at_ms: Some(1100.0),
            action_finished_at_ms: Some(1500.0),
            recovered_at_ms: Some(2000.0),
            confirmed_at_ms: Some(2100.0),
            ..TrialOutcome::default()
        };
        assert_eq!(
            phases(&t),
            [
                Some((-0.1, 0.0)),
                Some((-0.1, 0.1)),
                Some((0.1, 0.5)),
                Some((0.5, 1.0)),
                Some((1.0, 1.1)),
                None
            ]
        );
        let unhealed = TrialOutcome {
            outage_start_ms: Some(1000.0),
            recovered_at_ms: Some(3000.0),
            ..TrialOutcome::default()
        };
        assert_eq!(phases(&unhealed)[5], Some((0.0, 2.0)));
        assert_eq!(phases(&unhealed)[..5], [None; 5]);
    }
}
