//! A trial's resource and load charts over time, drawn with plotters into inline `<svg>` strings
//! on the trial timeline's axis (seconds since the trial's first record), with its downtime
//! shaded and its event markers. Each chart draws only samples recorded in the journal.

use std::error::Error;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use crate::over_time::{shared_limit_mib, Line, LoadSeries, Resources};
use crate::timeline::{MarkerKind, TrialTimeline};

type Drawn = Result<String, Box<dyn Error>>;
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Panel<'a, 'b, Y> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, Y>>;
type Done = Result<(), Box<dyn Error>>;

// The canvas, font and palette of `chart.rs` (private there), so that these charts read as one
// set with the trial timeline; a test checks that the marker colours still agree.
const FONT: &str = "sans-serif";
const WIDTH: u32 = 1000;
const DOWN: RGBColor = RGBColor(220, 40, 40);
const OK: RGBColor = RGBColor(0, 140, 70);
const DETECT: RGBColor = RGBColor(140, 60, 180);
const ACT: RGBColor = RGBColor(30, 100, 220);
const ACT_END: RGBColor = RGBColor(0, 170, 200);
const FAULT: RGBColor = RGBColor(230, 120, 0);
const GREY: RGBColor = RGBColor(120, 120, 120);
const DARK: RGBColor = RGBColor(30, 30, 30);
/// Line colours, one per target.
const SERIES: [RGBColor; 4] = [
    RGBColor(40, 90, 160),
    RGBColor(0, 150, 150),
    RGBColor(160, 110, 0),
    RGBColor(100, 100, 100),
];
/// Room right of the plots for their legends, so a legend covers no samples.
const LEGEND_W: u32 = 240;
/// A legend's distance from the top of its panel: below the panel's caption.
const KEY_TOP: u32 = 34;

/// Draws on a white canvas of `WIDTH × height` and returns the `<svg>` element.
fn draw(height: u32, paint: impl FnOnce(&Area<'_>) -> Done) -> Drawn {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        paint(&root)?;
        root.present()?;
    }
    Ok(svg)
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

/// How a legend entry shows its series.
#[derive(Debug, Clone, Copy)]
enum Swatch {
    Line(ShapeStyle),
    Dashed(ShapeStyle),
    Fill(RGBAColor),
}

/// A panel's legend entries, in drawing order.
type Key = Vec<(String, Swatch)>;

/// A panel over the trial's `len` seconds and the y range `y`, with [`LEGEND_W`] left free on
/// its right for its legend. Only the bottom panel of a chart names the time axis.
fn panel<'a, 'b: 'a, Y>(
    area: &'a Area<'b>,
    caption: &str,
    len: f64,
    y: Y,
    y_desc: &str,
    bottom: bool,
) -> Result<Panel<'a, 'b, Y::CoordDescType>, Box<dyn Error>>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 16))
        .margin(8)
        .margin_right(LEGEND_W)
        .x_label_area_size(if bottom { 40 } else { 24 })
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..len, y)?;
    let mut mesh = chart.configure_mesh();
    mesh.y_desc(y_desc).light_line_style(WHITE.mix(0.0));
    if bottom {
        mesh.x_desc("seconds since the trial's first record");
    }
    mesh.draw()?;
    Ok(chart)
}

/// The panel's legend, boxed in the charts' style in the [`LEGEND_W`] right of its plot (a
/// legend inside the plot would cover samples). Plotters clips a chart's legend to its plot, so
/// it is drawn as the legend of an empty chart there. Nothing is drawn without entries.
fn legend(area: &Area<'_>, key: Key) -> Done {
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
                }
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(GREY)
        .label_font((FONT, 13))
        .draw()?;
    Ok(())
}

/// The downtime (failing probe spans) shaded from `lo` to `hi`; in `key` when given.
fn shade<'a, 'b: 'a, Y: Ranged<ValueType = f64>>(
    chart: &mut Panel<'a, 'b, Y>,
    tl: &TrialTimeline,
    (lo, hi): (f64, f64),
    key: Option<&mut Key>,
) -> Done {
    if tl.down_spans.is_empty() {
        return Ok(());
    }
    chart.draw_series(
        tl.down_spans
            .iter()
            .map(|&(from, to)| Rectangle::new([(from, lo), (to, hi)], DOWN.mix(0.15).filled())),
    )?;
    if let Some(key) = key {
        key.push((
            "downtime (probes failing)".into(),
            Swatch::Fill(DOWN.mix(0.3)),
        ));
    }
    Ok(())
}

/// A vertical line per fault, detection, action start/end and the recovery, drawn as on the
/// trial timeline; in `key` when given.
fn markers<'a, 'b: 'a, Y: Ranged<ValueType = f64>>(
    chart: &mut Panel<'a, 'b, Y>,
    tl: &TrialTimeline,
    (lo, hi): (f64, f64),
    mut key: Option<&mut Key>,
) -> Done {
    let mut labelled = Vec::new();
    for &(kind, at) in &tl.markers {
        let color = marker_color(kind);
        // As on the timeline: the detection is wider, so it shows beside an action drawn over it.
        let width = if kind == MarkerKind::Detection { 6 } else { 2 };
        let line = vec![(at, lo), (at, hi)];
        if kind == MarkerKind::ActionEnd {
            chart.draw_series(DashedLineSeries::new(line, 6, 4, color.stroke_width(width)))?;
        } else {
            chart.draw_series(LineSeries::new(line, color.stroke_width(width)))?;
        }
        if let Some(key) = key.as_deref_mut() {
            if !labelled.contains(&kind) {
                labelled.push(kind);
                key.push((kind.label().into(), Swatch::Line(color.stroke_width(width))));
            }
        }
    }
    Ok(())
}

/// `lines`, solid or dashed, as one entry `label` in `key`.
fn lines<'a, 'b: 'a, Y: Ranged<ValueType = f64>>(
    chart: &mut Panel<'a, 'b, Y>,
    lines: &[Line],
    (style, dashed): (ShapeStyle, bool),
    label: String,
    key: &mut Key,
) -> Done {
    if lines.is_empty() {
        return Ok(());
    }
    if dashed {
        chart.draw_series(
            lines
                .iter()
                .map(|l| DashedPathElement::new(l.clone(), 8, 5, style)),
        )?;
        key.push((label, Swatch::Dashed(style)));
    } else {
        chart.draw_series(lines.iter().map(|l| PathElement::new(l.clone(), style)))?;
        key.push((label, Swatch::Line(style)));
    }
    Ok(())
}

/// A panel's height: `min`, or more when its legend of `entries` lines needs it.
fn fit(min: u32, entries: usize) -> u32 {
    min.max(KEY_TOP + 20 * entries as u32 + 16)
}

/// The largest value of `lines`, at least `floor`.
fn top(lines: impl IntoIterator<Item = f64>, floor: f64) -> f64 {
    lines.into_iter().fold(floor, f64::max)
}

fn values(lines: &[Line]) -> impl Iterator<Item = f64> + '_ {
    lines.iter().flatten().map(|&(_, v)| v)
}

/// Memory per target against its limit (MiB) above CPU per target with its throttling (%).
pub(crate) fn resources(tl: &TrialTimeline, res: &Resources) -> Drawn {
    let len = tl.length_s.max(1.0);
    let shared = shared_limit_mib(res);
    let mem_hi = 1.1
        * top(
            res.values()
                .flat_map(|t| values(&t.memory_mib).chain(values(&t.limit_mib))),
            1.0,
        );
    let cpu_hi = 1.1
        * top(
            res.values()
                .flat_map(|t| values(&t.cpu_percent).chain(t.throttled.iter().map(|&(_, _, p)| p))),
            10.0,
        );
    // Five markers and the downtime; per target its memory, its limit unless shared, its CPU
    // and its throttling.
    let n = res.len();
    let mem_entries = 6 + n + if shared.is_some() { 1 } else { n };
    let (mem_h, cpu_h) = (fit(280, mem_entries), fit(220, 2 * n));
    draw(mem_h + cpu_h, |root| {
        let (upper, lower) = root.split_vertically(mem_h);
        let mut key = Key::new();
        let title = format!("Trial {}: memory against its limit", tl.trial);
        let mut mem = panel(&upper, &title, len, 0.0..mem_hi, "memory (MiB)", false)?;
        shade(&mut mem, tl, (0.0, mem_hi), Some(&mut key))?;
        if let Some(limit) = shared {
            let line = [vec![(0.0, limit), (len, limit)]];
            let swatch = (GREY.stroke_width(2), true);
            let label = format!("memory limit ({limit:.0} MiB)");
            lines(&mut mem, &line, swatch, label, &mut key)?;
        }
        for (i, (target, t)) in res.iter().enumerate() {
            let color = SERIES[i % SERIES.len()];
            if shared.is_none() {
                let swatch = (color.stroke_width(2), true);
                lines(
                    &mut mem,
                    &t.limit_mib,
                    swatch,
                    format!("limit {target}"),
                    &mut key,
                )?;
            }
            let swatch = (color.stroke_width(2), false);
            lines(
                &mut mem,
                &t.memory_mib,
                swatch,
                format!("memory {target}"),
                &mut key,
            )?;
        }
        markers(&mut mem, tl, (0.0, mem_hi), Some(&mut key))?;
        legend(&upper, key)?;

        let mut key = Key::new();
        let title = format!("Trial {}: CPU and throttling", tl.trial);
        let mut cpu = panel(&lower, &title, len, 0.0..cpu_hi, "percent", true)?;
        shade(&mut cpu, tl, (0.0, cpu_hi), None)?;
        for (i, (target, t)) in res.iter().enumerate() {
            let color = SERIES[i % SERIES.len()];
            if !t.throttled.is_empty() {
                cpu.draw_series(t.throttled.iter().map(|&(from, to, p)| {
                    Rectangle::new([(from, 0.0), (to, p)], color.mix(0.3).filled())
                }))?;
                let label = format!("throttled {target} (% of time)");
                key.push((label, Swatch::Fill(color.mix(0.3))));
            }
            let swatch = (color.stroke_width(2), false);
            let label = format!("CPU {target} (% of one core)");
            lines(&mut cpu, &t.cpu_percent, swatch, label, &mut key)?;
        }
        markers(&mut cpu, tl, (0.0, cpu_hi), None)?;
        legend(&lower, key)
    })
}

/// Throughput (ok and failed requests per second) above latency p50/p99 (ms, log scale).
pub(crate) fn load(tl: &TrialTimeline, load: &LoadSeries) -> Drawn {
    let len = tl.length_s.max(1.0);
    let rate_hi = 1.1
        * top(
            values(&load.ok_per_s).chain(values(&load.failed_per_s)),
            1.0,
        );
    let latencies = values(&load.p50_ms).chain(values(&load.p99_ms));
    let (lo, hi) = latencies.fold((f64::MAX, f64::MIN), |(lo, hi), l| (lo.min(l), hi.max(l)));
    let (lat_lo, lat_hi) = if lo > hi {
        (0.1, 10.0)
    } else {
        (lo.max(0.01) / 2.0, hi.max(0.02) * 2.0)
    };
    draw(480, |root| {
        let (upper, lower) = root.split_vertically(240);
        let mut key = Key::new();
        let title = format!("Trial {}: load throughput", tl.trial);
        let y_desc = "requests per second";
        let mut rate = panel(&upper, &title, len, 0.0..rate_hi, y_desc, false)?;
        shade(&mut rate, tl, (0.0, rate_hi), Some(&mut key))?;
        let ok = (SERIES[0].stroke_width(2), false);
        lines(&mut rate, &load.ok_per_s, ok, "ok (req/s)".into(), &mut key)?;
        let failed = (DOWN.stroke_width(2), false);
        lines(
            &mut rate,
            &load.failed_per_s,
            failed,
            "failed (req/s)".into(),
            &mut key,
        )?;
        markers(&mut rate, tl, (0.0, rate_hi), Some(&mut key))?;
        legend(&upper, key)?;

        let mut key = Key::new();
        let title = format!("Trial {}: load latency", tl.trial);
        let y = (lat_lo..lat_hi).log_scale();
        let mut lat = panel(&lower, &title, len, y, "latency (ms, log)", true)?;
        shade(&mut lat, tl, (lat_lo, lat_hi), None)?;
        let p50 = (SERIES[0].stroke_width(2), false);
        lines(&mut lat, &load.p50_ms, p50, "p50 (ms)".into(), &mut key)?;
        let p99 = (DARK.stroke_width(1), false);
        lines(&mut lat, &load.p99_ms, p99, "p99 (ms)".into(), &mut key)?;
        markers(&mut lat, tl, (lat_lo, lat_hi), None)?;
        legend(&lower, key)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart;

    /// A colour as plotters writes it into SVG.
    fn hex(c: RGBColor) -> String {
        format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
    }

    #[test]
    fn markers_have_the_trial_timelines_colours() {
        let kinds = [
            MarkerKind::Fault,
            MarkerKind::Detection,
            MarkerKind::ActionStart,
            MarkerKind::ActionEnd,
            MarkerKind::Recovered,
        ];
        for kind in kinds {
            let tl = TrialTimeline {
                trial: 1,
                start_ms: 0.0,
                length_s: 5.0,
                probes: Default::default(),
                down_spans: vec![],
                markers: vec![(kind, 2.0)],
                load: vec![],
            };
            let timeline = chart::timeline(&tl).unwrap();
            let color = format!("stroke=\"{}\"", hex(marker_color(kind)));
            assert!(
                timeline.contains(&color),
                "{kind:?}: {color} not on the timeline"
            );
        }
    }
}
