//! The HTML report, JUnit XML and Markdown summary of the recorded runs: every chart is there,
//! the page is self-contained, and text from the journal cannot inject markup.

mod support;

use journal::{Event, Record};
use reports::{render_html, render_junit, render_markdown, summarize, Expectations, RunInfo};

fn fixture_html(run: &str) -> (String, Vec<Record>) {
    let (_scratch, records, run) = support::regenerated(run);
    (render_html(&records, &run.summary, &run.info), records)
}

/// The `<table id="{id}">` in `html`.
fn table<'h>(html: &'h str, id: &str) -> &'h str {
    support::element(html, &format!("<table id=\"{id}\""), "</table>")
}

/// The text of each `<th>` of `table`.
fn headers(table: &str) -> Vec<&str> {
    table
        .split("<th>")
        .skip(1)
        .filter_map(|h| h.split_once("</th>").map(|(text, _)| text))
        .collect()
}

#[test]
fn fixture_reports_have_every_chart_and_table() {
    for (run, trials) in [(support::OOM, 10), (support::CRASH, 3)] {
        let (html, records) = fixture_html(run);
        let mut expected = vec!["mttr-distribution".to_owned(), "mttr-breakdown".to_owned()];
        expected.extend((1..=trials).map(|t| format!("timeline-trial-{t}")));
        assert_eq!(support::chart_ids(&html), expected, "{run}");
        // Each figure holds an SVG drawn by plotters, not an error note.
        assert_eq!(html.matches("<svg").count(), expected.len(), "{run}");
        assert!(!html.contains("chart could not be drawn"));
        let pass = "<span class=\"pass\">PASS</span>";
        assert_eq!(table(&html, "expectations").matches(pass).count(), 3);
        let trials_table = table(&html, "trials");
        assert_eq!(trials_table.matches(pass).count(), trials);
        // No trial has a reason or a note: no column for them.
        assert!(!trials_table.contains("reason and notes"), "{run}");
        let figures = table(&html, "figures");
        for phase in [
            "detect p50",
            "act p50",
            "platform call p50",
            "start→good p50",
        ] {
            assert!(figures.contains(phase), "{run}: {phase} missing");
        }
        assert!(html.contains("id=\"audit\""), "{run}: no audit");
        // Every healer decision is in the audit: one row per record of those kinds.
        let decisions = records
            .iter()
            .filter(|r| {
                matches!(
                    r.event,
                    Event::Detected { .. }
                        | Event::RunbookSelected { .. }
                        | Event::Suppressed { .. }
                        | Event::ActionStarted { .. }
                        | Event::ActionFinished { .. }
                        | Event::Verified { .. }
                        | Event::Escalated { .. }
                )
            })
            .count();
        let audit = html.split("id=\"audit\"").nth(1).unwrap();
        assert_eq!(audit.matches("<tr><td").count(), decisions, "{run}");
        assert!(decisions >= trials * 4);
        // No resource series is recorded, and the report says so instead of drawing one.
        assert_eq!(
            html.matches("No resource samples recorded").count(),
            trials,
            "{run}"
        );
        // Load totals are shown as numbers, once per trial.
        assert_eq!(html.matches("<table class=\"load\">").count(), trials);
    }
}

#[test]
fn every_trials_table_has_the_terminal_tables_columns_and_the_notes() {
    let (_scratch, records, run) = support::regenerated(support::CRASH);
    let mut summary = run.summary;
    let note = "runbook restart: verification failed after 31 attempt(s) in 15.000s";
    summary.trials[1].notes = vec![note.into()];
    let terminal = summary.render_table();
    let columns: Vec<&str> = terminal
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        columns,
        [
            "trial",
            "outage",
            "detect",
            "act",
            "platform",
            "start→good",
            "MTTR",
            "confirm",
            "downtime",
            "errors",
            "OOM",
            "heals",
            "result"
        ]
    );
    assert!(
        terminal.contains(&format!("  trial 2 (note): {note}\n")),
        "{terminal}"
    );

    let html = render_html(&records, &summary, &run.info);
    let trials = table(&html, "trials");
    let mut with_notes = columns.clone();
    with_notes.push("reason and notes");
    assert_eq!(headers(trials), with_notes);
    let row = |n: u32| {
        trials
            .lines()
            .find(|l| l.contains(&format!("href=\"#trial-{n}\"")))
            .unwrap()
    };
    assert!(
        row(2).ends_with(&format!("<td>note: {note}</td></tr>")),
        "{}",
        row(2)
    );
    assert!(row(1).ends_with("<td></td></tr>"), "{}", row(1));
    let caption = support::figure(&html, "mttr-breakdown");
    let caption = caption.split("<figcaption>").nth(1).unwrap();
    for phase in [
        "detect",
        "act",
        "platform call",
        "first good answer",
        "confirm",
    ] {
        assert!(
            caption.contains(phase),
            "the breakdown's caption lacks {phase}"
        );
    }

    let md = render_markdown(&summary, &run.info);
    let header = md.lines().find(|l| l.starts_with("| trial |")).unwrap();
    let md_columns: Vec<&str> = header
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(md_columns, columns);
    let md_row = md.lines().find(|l| l.starts_with("| 2 |")).unwrap();
    assert!(
        md_row.ends_with(&format!(" ok (note: {note}) |")),
        "{md_row}"
    );
}

#[test]
fn timeline_shows_every_marker_and_the_downtime() {
    let (html, _) = fixture_html(support::OOM);
    let chart = support::figure(&html, "timeline-trial-1");
    for legend in [
        "fault injected",
        "detected",
        "action started",
        "action finished",
        "recovered",
        "downtime (probes failing)",
        "failed probe",
        "probe latency leaky-0",
        "seconds since the trial",
        "probe latency (ms, log)",
    ] {
        assert!(chart.contains(legend), "{legend} missing");
    }
    // The outage is shaded: one translucent red rectangle per failing span.
    assert!(
        chart.contains("opacity=\"0.15\" fill=\"#DC2828\""),
        "no downtime shading"
    );
}

#[test]
fn report_is_self_contained() {
    let (html, _) = fixture_html(support::OOM);
    let lower = html.to_lowercase();
    for forbidden in ["<script", "src=", "href=\"http", "url(", "@import", "<link"] {
        assert!(!lower.contains(forbidden), "report contains {forbidden}");
    }
    assert!(lower.starts_with("<!doctype html>"));
    assert!(lower.contains("<style>"));
}

/// The oom fixture with hostile strings in the journal and the run facts.
fn hostile() -> (Vec<Record>, reports::RunSummary, RunInfo) {
    let (_scratch, mut records, run) = support::regenerated(support::OOM);
    for r in &mut records {
        match &mut r.event {
            Event::RunbookSelected { reason, .. } => {
                *reason = "<script>alert('reason')</script>".into()
            }
            Event::Detected { target, .. } | Event::Suppressed { target, .. } => {
                *target = "<img src=x onerror=alert(1)>".into()
            }
            _ => {}
        }
    }
    let expect = Expectations {
        min_success_rate: Some(1.0),
        ..Expectations::default()
    };
    let mut summary = summarize(&records, 3, &expect);
    summary.verdicts[0].passed = false;
    summary.verdicts[0].detail = "<script>x</script> & | pipes \"quoted\"\nnew line".into();
    let mut info = run.info;
    info.scenario = "<script>alert('scenario')</script>".into();
    (records, summary, info)
}

#[test]
fn journal_strings_cannot_inject_markup() {
    let (records, summary, info) = hostile();
    let html = render_html(&records, &summary, &info);
    assert!(!html.to_lowercase().contains("<script"));
    assert!(!html.contains("<img"));
    assert!(html.contains("&lt;script&gt;alert(&#39;reason&#39;)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("&lt;script&gt;alert(&#39;scenario&#39;)&lt;/script&gt;"));

    let junit = render_junit(&summary, &info);
    assert!(!junit.contains("<script"));
    assert!(
        junit.contains("message=\"&lt;script&gt;x&lt;/script&gt; &amp; | pipes &quot;quoted&quot;")
    );

    let md = render_markdown(&summary, &info);
    assert!(!md.contains("<script"));
    let row = md
        .lines()
        .find(|l| l.starts_with("| min_success_rate"))
        .unwrap();
    // One table row: pipes escaped, the newline folded, so the table keeps its columns.
    assert!(
        row.contains("&amp; \\| pipes &quot;quoted&quot; new line"),
        "{row}"
    );
    assert!(row.contains("**FAIL**"));
}

#[test]
fn markdown_summary_is_a_table_per_trial() {
    let (_scratch, _records, run) = support::regenerated(support::CRASH);
    let md = render_markdown(&run.summary, &run.info);
    assert!(
        md.starts_with("### ✅ `crash-recovery` run `4a00b1e7`: PASS"),
        "{md}"
    );
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| ")).collect();
    // Header of each table, 3 verdicts, 1 trial header, 3 trials.
    assert_eq!(rows.len(), 1 + 3 + 1 + 3, "{md}");
    let columns = |l: &str| l.matches(" | ").count();
    let trial_rows: Vec<&&str> = rows.iter().filter(|l| l.starts_with("| 1 ")).collect();
    assert_eq!(trial_rows.len(), 1);
    assert_eq!(columns(trial_rows[0]), columns(rows[4]));
    let mttr = reports::percentile(
        run.summary
            .trials
            .iter()
            .filter_map(|t| t.mttr_ms)
            .collect(),
        50.0,
    )
    .unwrap();
    assert!(md.contains(&format!("**MTTR** p50 {:.3}s", mttr / 1000.0)));
}

/// The text of each `<td class="n">` of `table`.
fn numbers(table: &str) -> Vec<&str> {
    table
        .split("<td class=\"n\">")
        .skip(1)
        .filter_map(|h| h.split_once("</td>").map(|(text, _)| text))
        .collect()
}

#[test]
fn every_report_gives_the_same_run_figures() {
    for run in support::RUNS {
        let (_scratch, records, again) = support::regenerated(run);
        let html = render_html(&records, &again.summary, &again.info);
        let values = numbers(table(&html, "figures"));
        let junit = render_junit(&again.summary, &again.info);
        // The JUnit properties after the run's own facts (up to `interrupted`) are the figures.
        let properties: Vec<&str> = junit
            .split("<property name=\"")
            .skip(1)
            .skip_while(|p| !p.starts_with("interrupted\""))
            .skip(1)
            .filter_map(|p| p.split_once("value=\"")?.1.split_once('"'))
            .map(|(value, _)| value)
            .collect();
        assert_eq!(properties, values, "{run}");
        let md = render_markdown(&again.summary, &again.info);
        let terminal = again.summary.render_table();
        for value in values {
            assert!(
                md.contains(value),
                "{run}: {value} missing from the Markdown"
            );
            assert!(
                terminal.contains(value),
                "{run}: {value} missing from the table"
            );
        }
    }
}
