//! The report's over-time charts: memory against its limit, CPU and throttling, and load
//! throughput and latency per trial, drawn when the journal has the samples and replaced by one
//! line when it has not.

mod samples;
mod support;

use journal::Event;

/// The text of every `<text>` element in `svg`, trimmed.
fn text(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            Some(
                t.split_once('>')?
                    .1
                    .split_once("</text>")?
                    .0
                    .trim()
                    .to_owned(),
            )
        })
        .collect()
}

/// The HTML of trial `n`'s section.
fn section(html: &str, n: u32) -> &str {
    let start = html.find(&format!("<h2 id=\"trial-{n}\">")).unwrap();
    let end = html[start + 1..]
        .find("<h2")
        .map_or(html.len(), |e| e + start + 1);
    &html[start..end]
}

#[test]
fn trials_with_samples_get_resource_and_load_charts_and_older_ones_a_line() {
    let html = samples::html(&samples::oom_run());
    assert_eq!(support::chart_ids(&html), samples::CHART_IDS);
    assert_eq!(html.matches("<svg").count(), samples::CHART_IDS.len());
    assert!(!html.contains("chart could not be drawn"));
    let (first, second) = (section(&html, 1), section(&html, 2));
    for note in ["No resource samples recorded", "No load windows recorded"] {
        assert!(!first.contains(note), "trial 1 says {note}");
        assert_eq!(second.matches(note).count(), 1, "trial 2: {note}");
    }
    // The load totals are still shown, once per trial.
    assert_eq!(html.matches("<table class=\"load\">").count(), 2);
}

#[test]
fn resource_chart_shows_memory_against_its_limit_cpu_throttling_and_the_events() {
    let html = samples::html(&samples::oom_run());
    let chart = support::figure(&html, "resources-trial-1");
    for text in [
        "Trial 1: memory against its limit",
        "Trial 1: CPU and throttling",
        "memory (MiB)",
        "percent",
        "seconds since the trial",
        "memory leaky-0",
        "memory limit (64 MiB)",
        "CPU leaky-0 (% of one core)",
        "throttled leaky-0 (% of time)",
        "downtime (probes failing)",
        "fault injected",
        "detected",
        "action started",
        "action finished",
        "recovered",
    ] {
        assert!(chart.contains(text), "{text} missing");
    }
    // The outage is shaded as on the timeline, in both panels.
    assert_eq!(
        chart.matches("opacity=\"0.15\" fill=\"#DC2828\"").count(),
        2,
        "downtime shading"
    );
    // The limit is dashed: drawn as many short segments, not one line.
    assert!(chart.matches("stroke=\"#787878\"").count() > 20);
}

#[test]
fn load_chart_shows_throughput_and_latency_with_the_events() {
    let html = samples::html(&samples::oom_run());
    let chart = support::figure(&html, "load-trial-1");
    for text in [
        "Trial 1: load throughput",
        "Trial 1: load latency",
        "requests per second",
        "latency (ms, log)",
        "seconds since the trial",
        "ok (req/s)",
        "failed (req/s)",
        "p50 (ms)",
        "p99 (ms)",
        "downtime (probes failing)",
        "fault injected",
        "recovered",
    ] {
        assert!(chart.contains(text), "{text} missing");
    }
    // The throughput axis reaches the busiest window (140 requests in 250 ms = 560 req/s) and
    // stops soon after it, with about six ticks: 0, 200, 400, 600.
    let ticks = text(chart);
    assert!(
        ticks.iter().any(|t| t == "600.0"),
        "no 600 req/s tick: {ticks:?}"
    );
    assert!(
        !ticks.iter().any(|t| t == "800.0" || t == "500.0"),
        "axis far above the busiest window, or crowded: {ticks:?}"
    );
}

#[test]
fn different_limits_are_drawn_per_target() {
    let mut records = samples::oom_run();
    let mut other = Vec::new();
    for r in &records {
        if let Event::ResourceSample { .. } = r.event {
            let mut copy = r.clone();
            if let Event::ResourceSample {
                target,
                memory_limit_bytes,
                ..
            } = &mut copy.event
            {
                *target = "leaky-1".into();
                *memory_limit_bytes = Some(128 * 1024 * 1024);
            }
            other.push(copy);
        }
    }
    records.extend(other);
    let html = samples::html(&records);
    let chart = support::figure(&html, "resources-trial-1");
    for text in ["limit leaky-0", "limit leaky-1", "memory leaky-1"] {
        assert!(chart.contains(text), "{text} missing");
    }
    assert!(!chart.contains("memory limit ("));
}

#[test]
fn target_names_cannot_inject_markup() {
    let mut records = samples::oom_run();
    for r in &mut records {
        if let Event::ResourceSample { target, .. } = &mut r.event {
            *target = "<script>alert(1)</script>".into();
        }
    }
    let html = samples::html(&records);
    assert!(!html.contains("<script"));
    assert!(support::figure(&html, "resources-trial-1").contains("memory &lt;script&gt;"));
}
