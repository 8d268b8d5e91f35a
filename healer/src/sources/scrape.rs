//! A `/metrics` scrape (Prometheus text format, through prometheus-parse) as metrics.
//!
//! From each scrape it derives, for every metric name:
//! - `NAME`: the sum over all label sets of a counter, gauge or untyped sample;
//! - `NAME_rate`: for counters, the per-second increase of that sum since the previous scrape;
//! - `NAME_p50`, `NAME_p95`, `NAME_p99`: for histograms, the quantile of the observations made
//!   since the previous scrape (all label sets together), as the upper bound of the bucket that
//!   holds it (the usual bucket approximation; `+Inf` gives the largest finite bound).
//!
//! Only names some runbook needs are returned. The first scrape has no rates or quantiles, and
//! a scrape with no new observations has no quantiles: nothing is said rather than a guess.

use std::collections::{BTreeMap, BTreeSet};

use prometheus_parse::{Scrape, Value};
use tokio::time::Instant;

/// The quantiles derived from histograms, with their name suffix.
const QUANTILES: [(f64, &str); 3] = [(0.5, "_p50"), (0.95, "_p95"), (0.99, "_p99")];

/// Remembers the previous scrape, to derive rates and recent quantiles.
#[derive(Debug, Default)]
pub(crate) struct Deriver {
    previous: Option<Previous>,
}

#[derive(Debug)]
struct Previous {
    at: Instant,
    counters: BTreeMap<String, f64>,
    /// Histogram name → (upper bound → cumulative count).
    histograms: BTreeMap<String, Vec<(f64, f64)>>,
}

impl Deriver {
    /// The metrics in `wanted` that `text`, scraped at `now`, gives.
    pub(crate) fn derive(
        &mut self,
        text: &str,
        now: Instant,
        wanted: &BTreeSet<String>,
    ) -> Result<Vec<(String, f64)>, std::io::Error> {
        // Comment lines other than `# TYPE` (`# HELP` and the rest) give no sample: they are
        // left out rather than copied and run through prometheus-parse's three regexes.
        let lines = text.lines().filter(|line| gives_samples(line));
        let scrape = Scrape::parse(lines.map(|line| Ok(line.to_owned())))?;
        let mut plain: BTreeMap<String, f64> = BTreeMap::new();
        let mut counters: BTreeMap<String, f64> = BTreeMap::new();
        let mut histograms: BTreeMap<String, BTreeMap<u64, (f64, f64)>> = BTreeMap::new();
        for sample in scrape.samples {
            match sample.value {
                Value::Counter(v) => {
                    *plain.entry(sample.metric.clone()).or_default() += v;
                    *counters.entry(sample.metric).or_default() += v;
                }
                Value::Gauge(v) | Value::Untyped(v) => {
                    *plain.entry(sample.metric).or_default() += v;
                }
                Value::Histogram(buckets) => {
                    let sums = histograms.entry(sample.metric).or_default();
                    for bucket in buckets {
                        let slot = sums
                            .entry(bucket.less_than.to_bits())
                            .or_insert((bucket.less_than, 0.0));
                        slot.1 += bucket.count;
                    }
                }
                Value::Summary(_) => {}
            }
        }
        let histograms: BTreeMap<String, Vec<(f64, f64)>> = histograms
            .into_iter()
            .map(|(name, buckets)| {
                let mut buckets: Vec<(f64, f64)> = buckets.into_values().collect();
                buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
                (name, buckets)
            })
            .collect();

        let mut out: Vec<(String, f64)> = plain
            .iter()
            .filter(|(name, _)| wanted.contains(*name))
            .map(|(name, value)| (name.clone(), *value))
            .collect();
        if let Some(previous) = &self.previous {
            let secs = now.duration_since(previous.at).as_secs_f64();
            for (name, value) in &counters {
                let rate_name = format!("{name}_rate");
                let before = previous.counters.get(name);
                if let (true, Some(before)) = (wanted.contains(&rate_name), before) {
                    // A reset counter (the target restarted) gives no rate this time.
                    if secs > 0.0 && value >= before {
                        out.push((rate_name, (value - before) / secs));
                    }
                }
            }
            for (name, buckets) in &histograms {
                let before = previous.histograms.get(name).map_or(&[][..], Vec::as_slice);
                for (q, suffix) in QUANTILES {
                    let quantile_name = format!("{name}{suffix}");
                    if wanted.contains(&quantile_name) {
                        if let Some(value) = quantile(buckets, before, q) {
                            out.push((quantile_name, value));
                        }
                    }
                }
            }
        }
        self.previous = Some(Previous {
            at: now,
            counters,
            histograms,
        });
        Ok(out)
    }
}

/// Whether prometheus-parse can make anything of `line` but a doc string: a sample, a
/// `# TYPE` line (which needs `#`, white space, `TYPE`), or white space. It trims and matches
/// with Unicode white space, as prometheus-parse does.
fn gives_samples(line: &str) -> bool {
    match line.trim_start().strip_prefix('#') {
        Some(comment) => comment.trim_start().starts_with("TYPE"),
        None => true,
    }
}

/// The `q` quantile of the observations between two cumulative bucket lists (`before` may be
/// empty); `None` without new observations or after a reset.
fn quantile(now: &[(f64, f64)], before: &[(f64, f64)], q: f64) -> Option<f64> {
    // `before` is sorted by bound (`total_cmp`, under which equal means the same bits): a
    // binary search, not a scan per bucket, which made a histogram of many buckets quadratic.
    let count_before = |bound: f64| {
        before
            .binary_search_by(|(b, _)| b.total_cmp(&bound))
            .map_or(0.0, |at| before[at].1)
    };
    let deltas: Vec<(f64, f64)> = now
        .iter()
        .map(|(bound, count)| (*bound, count - count_before(*bound)))
        .collect();
    let total = deltas.last()?.1;
    if total <= 0.0 || deltas.iter().any(|(_, delta)| *delta < 0.0) {
        return None;
    }
    let largest_finite = deltas
        .iter()
        .rev()
        .find(|(bound, _)| bound.is_finite())
        .map(|(bound, _)| *bound);
    let (bound, _) = deltas.iter().find(|(_, count)| *count >= q * total)?;
    if bound.is_finite() {
        Some(*bound)
    } else {
        largest_finite
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn wanted(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn exposition(fast: u64, slow: u64, errors: u64, inflight: u64) -> String {
        let total = fast + slow;
        format!(
            "# TYPE http_requests_total counter\n\
             http_requests_total{{route=\"/\",code=\"200\"}} {total}\n\
             http_requests_total{{route=\"/\",code=\"500\"}} {errors}\n\
             # TYPE inflight gauge\n\
             inflight {inflight}\n\
             # TYPE latency_seconds histogram\n\
             latency_seconds_bucket{{route=\"/\",le=\"0.1\"}} {fast}\n\
             latency_seconds_bucket{{route=\"/\",le=\"1\"}} {total}\n\
             latency_seconds_bucket{{route=\"/\",le=\"+Inf\"}} {total}\n\
             latency_seconds_sum{{route=\"/\"}} 1.0\n\
             latency_seconds_count{{route=\"/\"}} {total}\n"
        )
    }

    #[test]
    fn gauges_and_counters_are_summed_over_label_sets_and_only_wanted_ones_returned() {
        let mut deriver = Deriver::default();
        let got = deriver
            .derive(
                &exposition(10, 0, 5, 3),
                Instant::now(),
                &wanted(&["inflight", "http_requests_total"]),
            )
            .unwrap();
        assert_eq!(
            got,
            [
                ("http_requests_total".to_owned(), 15.0),
                ("inflight".to_owned(), 3.0)
            ]
        );
    }

    #[test]
    fn rates_and_quantiles_come_from_the_difference_between_two_scrapes() {
        let mut deriver = Deriver::default();
        let names = wanted(&[
            "http_requests_total_rate",
            "latency_seconds_p95",
            "latency_seconds_p50",
        ]);
        let start = Instant::now();
        // The first scrape has nothing to compare with: no rate, no quantile.
        let first = deriver
            .derive(&exposition(100, 0, 0, 0), start, &names)
            .unwrap();
        assert_eq!(first, []);
        // Then 10 s with 90 fast and 10 slow requests: p50 in the 0.1 s bucket, p95 in the 1 s one.
        let second = deriver
            .derive(
                &exposition(190, 10, 0, 0),
                start + Duration::from_secs(10),
                &names,
            )
            .unwrap();
        assert_eq!(
            second,
            [
                ("http_requests_total_rate".to_owned(), 10.0),
                ("latency_seconds_p50".to_owned(), 0.1),
                ("latency_seconds_p95".to_owned(), 1.0),
            ]
        );
        // No new requests: a rate of 0, and no quantile rather than a made-up one.
        let third = deriver
            .derive(
                &exposition(190, 10, 0, 0),
                start + Duration::from_secs(20),
                &names,
            )
            .unwrap();
        assert_eq!(third, [("http_requests_total_rate".to_owned(), 0.0)]);
    }

    #[test]
    fn a_reset_gives_no_rate_and_no_quantile() {
        let mut deriver = Deriver::default();
        let names = wanted(&["http_requests_total_rate", "latency_seconds_p95"]);
        let start = Instant::now();
        deriver
            .derive(&exposition(100, 0, 0, 0), start, &names)
            .unwrap();
        let after_restart = deriver
            .derive(
                &exposition(3, 0, 0, 0),
                start + Duration::from_secs(5),
                &names,
            )
            .unwrap();
        assert_eq!(after_restart, []);
    }

    #[test]
    fn only_comment_lines_other_than_type_are_left_out() {
        assert!(gives_samples("up 1"));
        assert!(gives_samples("  # TYPE up gauge"));
        assert!(gives_samples("#\u{a0}TYPE up gauge"));
        assert!(gives_samples(""));
        assert!(!gives_samples("# HELP up Whether it is up."));
        assert!(!gives_samples(" #up 1"));
        let with_docs = "# HELP inflight Requests in flight.\n# TYPE inflight gauge\ninflight 3\n";
        let without = "# TYPE inflight gauge\ninflight 3\n";
        let names = wanted(&["inflight"]);
        let got = |text| {
            Deriver::default()
                .derive(text, Instant::now(), &names)
                .unwrap()
        };
        assert_eq!(got(with_docs), got(without));
        assert_eq!(got(with_docs), [("inflight".to_owned(), 3.0)]);
    }

    #[test]
    fn quantiles_match_buckets_by_bound_between_scrapes() {
        // 1000 buckets, each bound's count found among the previous scrape's; 100 new
        // observations, all in the bucket of bound 10.
        let mut before: Vec<(f64, f64)> = (0..1000).map(|i| (f64::from(i), 5.0)).collect();
        before.push((f64::INFINITY, 5.0));
        let now: Vec<(f64, f64)> = before
            .iter()
            .map(|&(bound, count)| (bound, if bound >= 10.0 { count + 100.0 } else { count }))
            .collect();
        assert_eq!(quantile(&now, &before, 0.5), Some(10.0));
        assert_eq!(quantile(&now, &now, 0.5), None);
    }

    #[test]
    fn observations_above_every_finite_bucket_report_the_largest_finite_bound() {
        let now = [(0.1, 0.0), (1.0, 0.0), (f64::INFINITY, 4.0)];
        assert_eq!(quantile(&now, &[], 0.95), Some(1.0));
    }
}
