//! A trial's charts over time, drawn with plotters into inline `<svg>` strings: its probes and
//! events, its resources and its load. All share one time axis (seconds since the trial's first
//! record) at the same place on the page, with the legend beside the plot, the downtime shaded and
//! the event markers, so that one instant sits at the same x in every chart. Each chart draws
//! only samples recorded in the journal.

use std::error::Error;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use crate::chart::{
    draw, legend, marker_color, Area, Drawn, Key, Swatch, DOWN, FONT, GREY, KEY_TOP, LEGEND_W,
    SERIES,
};
use crate::over_time::{shared_limit_mib, Line, LoadSeries, Resources};
use crate::timeline::{MarkerKind, TrialTimeline};

type Panel<'a, 'b, Y> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, Y>>;
type Done = Result<(), Box<dyn Error>>;

/// The p99 latency line.
const DARK: RGBColor = RGBColor(30, 30, 30);
/// A panel over the trial's `len` seconds and the y range `y`, with [`LEGEND_W`] left free on
/// its right for its legend and about six y labels (a short panel stays legible). Only the
/// bottom panel of a chart names the time axis.
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
    mesh.y_desc(y_desc)
        .y_labels(6)
        .light_line_style(WHITE.mix(0.0));
    if bottom {
        mesh.x_desc("seconds since the trial's first record");
    }
    mesh.draw()?;
    Ok(chart)
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

/// A log-scale range holding `values` with room on both sides; 0.1 to 10 without any.
fn log_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        (0.1, 10.0)
    } else {
        (lo.max(0.01) / 2.0, hi.max(0.02) * 2.0)
    }
}

/// The independent prober's latency (log scale), each probe at its send time, failed probes as
/// red crosses, with the trial's downtime shaded and its event markers.
pub(crate) fn probes(tl: &TrialTimeline) -> Drawn {
    let len = tl.length_s.max(1.0);
    let (lo, hi) = log_range(tl.probes.values().flatten().map(|p| p.latency_ms));
    // The downtime, a line per target, the failed probes and five markers.
    let entries = 2 + tl.probes.len() + 5;
    draw(fit(360, entries), |root| {
        let mut key = Key::new();
        let title = format!("Trial {}: probes and events", tl.trial);
        let y = (lo..hi).log_scale();
        let mut chart = panel(root, &title, len, y, "probe latency (ms, log)", true)?;
        shade(&mut chart, tl, (lo, hi), Some(&mut key))?;
        for (i, (target, points)) in tl.probes.iter().enumerate() {
            let style = SERIES[i % SERIES.len()].stroke_width(1);
            let line = points.iter().map(|p| (p.at_s, p.latency_ms.max(lo)));
            chart.draw_series(LineSeries::new(line, style))?;
            key.push((format!("probe latency {target}"), Swatch::Line(style)));
        }
        let failed: Vec<(f64, f64)> = tl
            .probes
            .values()
            .flatten()
            .filter(|p| !p.ok)
            .map(|p| (p.at_s, p.latency_ms.max(lo)))
            .collect();
        if !failed.is_empty() {
            let style = DOWN.stroke_width(1);
            chart.draw_series(failed.iter().map(|&at| Cross::new(at, 3, style)))?;
            key.push(("failed probe".into(), Swatch::Cross(DOWN)));
        }
        markers(&mut chart, tl, (lo, hi), Some(&mut key))?;
        legend(root, key)
    })
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
    let (lat_lo, lat_hi) = log_range(values(&load.p50_ms).chain(values(&load.p99_ms)));
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
