//! The charts' canvas, palette and legend, and the charts across trials (MTTR per trial, its
//! phases) and across runs (trends), drawn with plotters into inline `<svg>` strings. Each chart
//! draws only figures recorded in the journal; a trial's charts over time are `over_time_chart`.

use std::error::Error;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::timeline::MarkerKind;
use crate::TrialOutcome;

/// A chart's `<svg>` element, or why it could not be drawn.
pub(crate) type Drawn = Result<String, Box<dyn Error>>;
pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

// The canvas, font and palette of every chart of the report, so that they read as one set.
pub(crate) const FONT: &str = "sans-serif";
pub(crate) const WIDTH: u32 = 1000;
pub(crate) const DOWN: RGBColor = RGBColor(220, 40, 40);
const OK: RGBColor = RGBColor(0, 140, 70);
const DETECT: RGBColor = RGBColor(140, 60, 180);
const ACT: RGBColor = RGBColor(30, 100, 220);
const ACT_END: RGBColor = RGBColor(0, 170, 200);
const FAULT: RGBColor = RGBColor(230, 120, 0);
pub(crate) const GREY: RGBColor = RGBColor(120, 120, 120);
/// Line colours of the series, one per target.
pub(crate) const SERIES: [RGBColor; 4] = [
    RGBColor(40, 90, 160),
    RGBColor(0, 150, 150),
    RGBColor(160, 110, 0),
    RGBColor(100, 100, 100),
];

/// Draws on a white `WIDTH × height` SVG canvas and returns the `<svg>` element.
pub(crate) fn draw(
    height: u32,
    paint: impl FnOnce(&Area<'_>) -> Result<(), Box<dyn Error>>,
) -> Drawn {
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

pub(crate) fn marker_color(kind: MarkerKind) -> RGBColor {
    match kind {
        MarkerKind::Fault => FAULT,
        MarkerKind::Detection => DETECT,
        MarkerKind::ActionStart => ACT,
        MarkerKind::ActionEnd => ACT_END,
        MarkerKind::Recovered => OK,
    }
}

/// Room right of a plot for its legend, so that a legend covers no data.
pub(crate) const LEGEND_W: u32 = 240;
/// A legend's distance from the top of its chart: below the chart's caption.
pub(crate) const KEY_TOP: u32 = 34;

/// How a legend entry shows its series.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Swatch {
    Line(ShapeStyle),
    Dashed(ShapeStyle),
    Fill(RGBAColor),
    Cross(RGBColor),
}

/// A chart's legend entries, in drawing order.
pub(crate) type Key = Vec<(String, Swatch)>;

/// The legend of a chart whose plot leaves [`LEGEND_W`] free on its right, boxed there in the
/// charts' style (a legend inside the plot would cover data). Plotters clips a chart's legend to
/// its plot, so it is drawn as the legend of an empty chart there. Nothing is drawn without
/// entries.
pub(crate) fn legend(area: &Area<'_>, key: Key) -> Result<(), Box<dyn Error>> {
    if key.is_empty() {
        return Ok(());
    }
    let (_, right) = area.split_horizontally(WIDTH - LEGEND_W + 8);
    let mut chart = ChartBuilder::on(&right)
        .margin_top(KEY_TOP)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
    for (label, swatch) in key {
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label(label)
            .legend(move |(x, y)| {
                let path = vec![(x, y), (x + 16, y)];
                match swatch {
                    Swatch::Line(style) => PathElement::new(path, style).into_dyn(),
                    Swatch::Dashed(style) => DashedPathElement::new(path, 4, 3, style).into_dyn(),
                    Swatch::Fill(color) => {
                        Rectangle::new([(x, y - 5), (x + 16, y + 5)], color.filled()).into_dyn()
                    }
                    Swatch::Cross(color) => {
                        Cross::new((x + 8, y), 4, color.stroke_width(2)).into_dyn()
                    }
                }
            });
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
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

/// Bars narrower than this many trials' width get no value label: it would not fit.
const LABELLED_TRIALS: usize = 20;

/// MTTR per trial as bars, each labelled with its value, with the median as a dashed line behind
/// them; unrecovered outages as red crosses. The legend is beside the plot.
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
        * 1.15;
    let (x_range, labels) = trial_axis(trials.len());
    draw(320, |root| {
        let mut key = Key::new();
        let mut chart = ChartBuilder::on(root)
            .caption("MTTR per trial", (FONT, 18))
            .margin(12)
            .margin_right(LEGEND_W)
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
        // The median first, so that the bars hide it and it crosses none of their labels.
        if let Some(p50) = p50_ms {
            let p50 = p50 / 1000.0;
            let (x0, x1) = (0.5, trials.len() as f64 + 0.5);
            let style = GREY.stroke_width(2);
            chart.draw_series(DashedLineSeries::new(
                vec![(x0, p50), (x1, p50)],
                8,
                5,
                style,
            ))?;
            key.push((format!("median (p50) {p50:.3}s"), Swatch::Dashed(style)));
        }
        let bars: Vec<(f64, f64)> = secs
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|s| ((i + 1) as f64, s)))
            .collect();
        if !bars.is_empty() {
            chart.draw_series(bars.iter().map(|&(x, s)| {
                Rectangle::new([(x - 0.3, 0.0), (x + 0.3, s)], OK.mix(0.8).filled())
            }))?;
            key.push(("MTTR (recovered outage)".into(), Swatch::Fill(OK.mix(0.8))));
        }
        if trials.len() <= LABELLED_TRIALS {
            // Inside the top of a bar tall enough to hold it, in white; else above the bar.
            let font = (FONT, 12).into_font();
            chart.draw_series(bars.iter().map(|&(x, s)| {
                let (y, style) = if s > top * 0.15 {
                    let pos = Pos::new(HPos::Center, VPos::Top);
                    (s - top * 0.02, font.clone().color(&WHITE).pos(pos))
                } else {
                    let pos = Pos::new(HPos::Center, VPos::Bottom);
                    (s + top * 0.02, font.clone().color(&BLACK).pos(pos))
                };
                Text::new(format!("{s:.2}s"), (x, y), style)
            }))?;
        }
        let unrecovered: Vec<f64> = trials
            .iter()
            .enumerate()
            .filter(|(_, t)| t.outage && t.mttr_ms.is_none())
            .map(|(i, _)| (i + 1) as f64)
            .collect();
        if !unrecovered.is_empty() {
            chart.draw_series(
                unrecovered
                    .iter()
                    .map(|&x| Cross::new((x, top * 0.05), 6, DOWN.stroke_width(2))),
            )?;
            key.push(("outage never recovered".into(), Swatch::Cross(DOWN)));
        }
        legend(root, key)
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
    let (x_range, labels) = trial_axis(trials.len());
    draw(340, |root| {
        let mut key = Key::new();
        let mut chart = ChartBuilder::on(root)
            .caption("MTTR by phase per trial (0 = outage start)", (FONT, 18))
            .margin(12)
            .margin_right(LEGEND_W)
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
            chart.draw_series(bars)?;
            key.push((label.into(), Swatch::Fill(color.mix(0.85))));
        }
        let (x0, x1) = (0.5, trials.len() as f64 + 0.5);
        chart.draw_series(LineSeries::new(
            vec![(x0, 0.0), (x1, 0.0)],
            BLACK.stroke_width(1),
        ))?;
        key.push(("outage start".into(), Swatch::Line(BLACK.stroke_width(1))));
        legend(root, key)
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
                draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
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
