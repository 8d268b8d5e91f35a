//! One trial's series over time, taken from its records: memory against its limit, CPU and CFS
//! throttling per target (`ResourceSample`), and the load generator's throughput and latency per
//! window (`LoadWindow`). Values are converted (bytes → MiB, counts → rates), never resampled.

use std::collections::BTreeMap;

use journal::{Event, Record};

use crate::html::figure;
use crate::outcome::trial_records;
use crate::over_time_chart;
use crate::timeline::TrialTimeline;

/// Connected points: (seconds since the trial's first record, value).
pub(crate) type Line = Vec<(f64, f64)>;

/// Points further apart than this are not joined: nothing was recorded in between. The harness
/// samples 10 times a second from cgroup files (about once a second from Docker's stats API) and
/// the load generator journals a window every 250 ms.
const GAP_S: f64 = 2.0;

const MIB: f64 = 1024.0 * 1024.0;

/// One target's resource series.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TargetResources {
    pub memory_mib: Vec<Line>,
    /// The memory limit where samples carry one (absent: unlimited).
    pub limit_mib: Vec<Line>,
    /// CPU since the previous sample, in % of one core.
    pub cpu_percent: Vec<Line>,
    /// (from, to, %): the share of the time between two samples that the CFS quota throttled
    /// the target.
    pub throttled: Vec<(f64, f64, f64)>,
}

/// Per target, in name order.
pub(crate) type Resources = BTreeMap<String, TargetResources>;

/// The load generator's windows as steps: each window's value held over the window.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LoadSeries {
    pub ok_per_s: Vec<Line>,
    pub failed_per_s: Vec<Line>,
    /// Absent in windows without requests, where the lines break.
    pub p50_ms: Vec<Line>,
    pub p99_ms: Vec<Line>,
}

impl LoadSeries {
    pub fn is_empty(&self) -> bool {
        self.ok_per_s.is_empty()
    }
}

/// Lines built point by point, broken at a missing value or a gap longer than [`GAP_S`].
#[derive(Default)]
struct Lines {
    lines: Vec<Line>,
    /// Where the last line ends, while it is open.
    end: Option<f64>,
}

impl Lines {
    /// Ends the open line: the next point starts a new one.
    fn cut(&mut self) {
        self.end = None;
    }

    /// `value` held from `from` to `to` (one point when they are equal).
    fn push(&mut self, from: f64, to: f64, value: Option<f64>) {
        let Some(value) = value else {
            self.cut();
            return;
        };
        let mut points = vec![(from, value)];
        if to != from {
            points.push((to, value));
        }
        let joined = self.end.is_some_and(|end| from - end <= GAP_S);
        match self.lines.last_mut() {
            Some(line) if joined => line.extend(points),
            _ => self.lines.push(points),
        }
        self.end = Some(to);
    }
}

/// Per target, its memory (MiB) and limit, CPU (%) and throttling, from the trial's
/// `ResourceSample`s. `own` is the trial's records in time order; `start_ms` its first record.
pub(crate) fn resources(own: &[&Record], start_ms: f64) -> Resources {
    #[derive(Default)]
    struct Building {
        memory: Lines,
        limit: Lines,
        cpu: Lines,
        throttled: Vec<(f64, f64, f64)>,
        previous_s: Option<f64>,
    }
    let mut targets: BTreeMap<String, Building> = BTreeMap::new();
    for r in own {
        let Event::ResourceSample {
            target,
            memory_bytes,
            memory_limit_bytes,
            cpu_percent,
            throttled_ms,
            ..
        } = &r.event
        else {
            continue;
        };
        let at_s = (r.t_ms - start_ms) / 1000.0;
        let b = targets.entry(target.clone()).or_default();
        let mib = |bytes: u64| bytes as f64 / MIB;
        // No CPU figure: the container's first sample, or its first since it ran again (its
        // counters restarted). The memory line must not bridge the time it was not running.
        if cpu_percent.is_none() {
            b.memory.cut();
            b.limit.cut();
        }
        b.memory.push(at_s, at_s, Some(mib(*memory_bytes)));
        b.limit.push(at_s, at_s, memory_limit_bytes.map(mib));
        b.cpu.push(at_s, at_s, *cpu_percent);
        // Throttled time is measured since the previous sample, which bounds the span it covers.
        if let (Some(ms), Some(from)) = (throttled_ms, b.previous_s) {
            if at_s > from {
                b.throttled
                    .push((from, at_s, ms / ((at_s - from) * 1000.0) * 100.0));
            }
        }
        b.previous_s = Some(at_s);
    }
    targets
        .into_iter()
        .map(|(target, b)| {
            let series = TargetResources {
                memory_mib: b.memory.lines,
                limit_mib: b.limit.lines,
                cpu_percent: b.cpu.lines,
                throttled: b.throttled,
            };
            (target, series)
        })
        .collect()
}

/// The one memory limit every target had throughout (in every sample), when they all had the
/// same.
pub(crate) fn shared_limit_mib(resources: &Resources) -> Option<f64> {
    let points = |lines: &[Line]| lines.iter().map(Vec::len).sum::<usize>();
    let throughout = resources
        .values()
        .all(|t| points(&t.limit_mib) == points(&t.memory_mib));
    let mut limits = resources
        .values()
        .flat_map(|t| t.limit_mib.iter().flatten().map(|&(_, v)| v));
    let first = limits.next()?;
    (throughout && limits.all(|v| v == first)).then_some(first)
}

/// Throughput (requests per second, ok and failed) and latency percentiles per window, from the
/// trial's `LoadWindow`s. `own` is the trial's records in time order; `start_ms` its first record.
pub(crate) fn load(own: &[&Record], start_ms: f64) -> LoadSeries {
    let (mut ok, mut failed) = (Lines::default(), Lines::default());
    let (mut p50, mut p99) = (Lines::default(), Lines::default());
    for r in own {
        let Event::LoadWindow {
            window_ms,
            ok: ok_count,
            failed: failed_count,
            p50_ms,
            p99_ms,
            ..
        } = &r.event
        else {
            continue;
        };
        if *window_ms <= 0.0 {
            continue;
        }
        let to = (r.t_ms - start_ms) / 1000.0;
        let from = to - window_ms / 1000.0;
        let rate = |count: u64| Some(count as f64 / (window_ms / 1000.0));
        ok.push(from, to, rate(*ok_count));
        failed.push(from, to, rate(*failed_count));
        p50.push(from, to, *p50_ms);
        p99.push(from, to, *p99_ms);
    }
    LoadSeries {
        ok_per_s: ok.lines,
        failed_per_s: failed.lines,
        p50_ms: p50.lines,
        p99_ms: p99.lines,
    }
}

/// The trial's resource and load charts, or a line saying the journal has no such series.
pub(crate) fn section(out: &mut String, records: &[Record], tl: &TrialTimeline) {
    let own = trial_records(records, tl.trial);
    let resources = resources(&own, tl.start_ms);
    if resources.is_empty() {
        out.push_str(
            "<p class=\"note\">No resource samples recorded: the journal holds no memory or CPU \
             series for this trial, so no resource chart is drawn.</p>\n",
        );
    } else {
        figure(
            out,
            &format!("resources-trial-{}", tl.trial),
            over_time_chart::resources(tl, &resources),
            "Memory of each target against its limit (dashed), and its CPU use with the share of \
             time the CFS quota throttled it (bars), sampled by the harness; shaded: downtime; \
             vertical lines: the events of the timeline above. A line breaks where the target \
             was not running (its counters restarted).",
        );
    }
    let load = load(&own, tl.start_ms);
    if load.is_empty() {
        out.push_str(
            "<p class=\"note\">No load windows recorded: the journal holds no throughput or \
             latency series for this trial, so no load chart is drawn.</p>\n",
        );
    } else {
        figure(
            out,
            &format!("load-trial-{}", tl.trial),
            over_time_chart::load(tl, &load),
            "The load generator's requests per window (each value held over its window): \
             completed ok and failed per second, and latency p50/p99 measured from each \
             request's intended send time (log scale), so a stalled request counts as latency; \
             shaded: downtime; vertical lines: the events of the timeline above.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(t_ms: f64, event: Event) -> Record {
        Record {
            t_ms,
            unix_ms: 1_700_000_000_000 + t_ms as u64,
            trial: Some(1),
            event,
        }
    }

    fn sample(
        t_ms: f64,
        target: &str,
        mib: u64,
        cpu: Option<f64>,
        throttled: Option<f64>,
    ) -> Record {
        record(
            t_ms,
            Event::ResourceSample {
                target: target.into(),
                memory_bytes: mib * 1024 * 1024,
                memory_limit_bytes: Some(64 * 1024 * 1024),
                cpu_percent: cpu,
                throttled_ms: throttled,
                source: "cgroup".into(),
            },
        )
    }

    fn window(t_ms: f64, ok: u64, failed: u64, p50: Option<f64>) -> Record {
        record(
            t_ms,
            Event::LoadWindow {
                window_ms: 250.0,
                ok,
                failed,
                p50_ms: p50,
                p99_ms: p50.map(|p| p * 10.0),
                max_ms: p50.map(|p| p * 20.0),
            },
        )
    }

    fn refs(records: &[Record]) -> Vec<&Record> {
        records.iter().collect()
    }

    #[test]
    fn memory_per_target_in_mib_breaks_where_the_target_was_not_running_or_not_sampled() {
        let records = [
            sample(1000.0, "a", 8, None, None),
            sample(1250.0, "b", 4, None, None),
            sample(1250.0, "a", 32, Some(90.0), Some(50.0)),
            sample(1500.0, "a", 64, Some(100.0), Some(125.0)),
            // `a` died and came back 2 s later: a new line, not a slope across the outage.
            sample(3500.0, "a", 5, None, None),
            sample(3750.0, "a", 6, Some(10.0), Some(0.0)),
            // Samples missing for over GAP_S: not joined either.
            sample(6000.0, "a", 7, Some(10.0), Some(0.0)),
        ];
        let res = resources(&refs(&records), 500.0);
        assert_eq!(res.keys().collect::<Vec<_>>(), ["a", "b"]);
        let a = &res["a"];
        assert_eq!(
            a.memory_mib,
            vec![
                vec![(0.5, 8.0), (0.75, 32.0), (1.0, 64.0)],
                vec![(3.0, 5.0), (3.25, 6.0)],
                vec![(5.5, 7.0)]
            ]
        );
        assert_eq!(
            a.limit_mib[..2],
            vec![
                vec![(0.5, 64.0), (0.75, 64.0), (1.0, 64.0)],
                vec![(3.0, 64.0), (3.25, 64.0)]
            ]
        );
        // The first sample of each container has no CPU figure.
        assert_eq!(
            a.cpu_percent,
            vec![
                vec![(0.75, 90.0), (1.0, 100.0)],
                vec![(3.25, 10.0)],
                vec![(5.5, 10.0)]
            ]
        );
        // 50 ms of 250 ms, then 125 of 250.
        assert_eq!(
            a.throttled,
            vec![
                (0.5, 0.75, 20.0),
                (0.75, 1.0, 50.0),
                (3.0, 3.25, 0.0),
                (3.25, 5.5, 0.0)
            ]
        );
        assert_eq!(res["b"].memory_mib, vec![vec![(0.75, 4.0)]]);
        assert_eq!(shared_limit_mib(&res), Some(64.0));
    }

    #[test]
    fn a_limit_is_shared_only_when_every_target_had_the_same_one_throughout() {
        let with_limit = |target: &str, limit: Option<u64>| {
            let mut r = sample(1000.0, target, 8, None, None);
            if let Event::ResourceSample {
                memory_limit_bytes, ..
            } = &mut r.event
            {
                *memory_limit_bytes = limit.map(|mib| mib * 1024 * 1024);
            }
            r
        };
        let shared = |records: &[Record]| shared_limit_mib(&resources(&refs(records), 0.0));
        assert_eq!(
            shared(&[with_limit("a", Some(64)), with_limit("b", Some(64))]),
            Some(64.0)
        );
        assert_eq!(
            shared(&[with_limit("a", Some(64)), with_limit("b", Some(128))]),
            None
        );
        assert_eq!(
            shared(&[with_limit("a", Some(64)), with_limit("b", None)]),
            None
        );
        assert_eq!(shared(&[with_limit("a", None)]), None);
        for later in [Some(128), None] {
            let mut changed = vec![with_limit("a", Some(64)), with_limit("a", later)];
            changed[1].t_ms = 1250.0;
            assert_eq!(shared(&changed), None, "then {later:?}");
        }
    }

    #[test]
    fn load_windows_become_rates_held_over_each_window() {
        let records = [
            window(1250.0, 50, 0, Some(2.0)),
            window(1500.0, 20, 30, Some(40.0)),
            // No request completed: the rates are zero, the latency lines break.
            window(1750.0, 0, 0, None),
            window(2000.0, 25, 0, Some(3.0)),
        ];
        let load = load(&refs(&records), 1000.0);
        assert_eq!(
            load.ok_per_s,
            vec![vec![
                (0.0, 200.0),
                (0.25, 200.0),
                (0.25, 80.0),
                (0.5, 80.0),
                (0.5, 0.0),
                (0.75, 0.0),
                (0.75, 100.0),
                (1.0, 100.0)
            ]]
        );
        assert_eq!(load.failed_per_s[0][2..4], [(0.25, 120.0), (0.5, 120.0)]);
        assert_eq!(
            load.p50_ms,
            vec![
                vec![(0.0, 2.0), (0.25, 2.0), (0.25, 40.0), (0.5, 40.0)],
                vec![(0.75, 3.0), (1.0, 3.0)]
            ]
        );
        assert_eq!(load.p99_ms[0][2], (0.25, 400.0));
        assert!(!load.is_empty());
    }

    #[test]
    fn other_events_make_no_series() {
        let records = [record(100.0, Event::TrialStarted)];
        assert!(resources(&refs(&records), 0.0).is_empty());
        assert!(load(&refs(&records), 0.0).is_empty());
    }
}
