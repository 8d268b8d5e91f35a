//! The HTML report of a real `oom-recovery` run, and of a synthetic one with resource samples
//! and load windows, opened in headless Chromium: it renders, its DOM holds every chart, and the
//! page logs no errors. The screenshots are kept in `target/tmp/report-screenshot/` for people
//! to look at.

mod samples;
mod support;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Chromium, or a failure that says how to get it: this test is never skipped.
fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        if let Ok(out) = Command::new("which").arg(name).output() {
            if out.status.success() {
                return PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            }
        }
    }
    panic!(
        "chromium is not installed: install Debian's `chromium` package \
         (apt-get install chromium); CI installs it in .ci/run"
    );
}

/// What Chromium printed, and whether it succeeded.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs headless Chromium on `page` with `args` and its own profile directory. Its output goes
/// to files, not pipes: Chromium logs a lot, and an undrained pipe would block it. A generous
/// guard ends a hung browser (it is not a speed check).
fn run_chromium(page: &Path, profile: &Path, args: &[String]) -> Run {
    let stdout_path = profile.join("stdout.txt");
    let stderr_path = profile.join("stderr.txt");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.join("profile").display()
        ))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).unwrap())
        .stderr(File::create(&stderr_path).unwrap())
        .spawn()
        .expect("chromium starts");
    // Polled every 100 ms, for 3 minutes at most (1,800 polls; a plain thread, no clock to own).
    let mut polls = 0;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        polls += 1;
        if polls > 1_800 {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within 3 minutes: {}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Run {
        success: status.success(),
        stdout: std::fs::read_to_string(&stdout_path).unwrap(),
        stderr: std::fs::read_to_string(&stderr_path).unwrap(),
    }
}

/// Where the screenshots are kept.
fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Screenshots `page` into [`screenshots`]`/{shot}` at `window` (`1200,3000`), then returns its
/// DOM: both runs succeed, the screenshot is a PNG larger than `min_png` bytes (a blank page
/// compresses to a few KB; charts and tables make it far larger), and the page logs no errors.
fn render(page: &Path, shot: &str, window: &str, min_png: usize) -> String {
    let profile = tempfile::tempdir().unwrap();
    let shot = screenshots().join(shot);
    let _ = std::fs::remove_file(&shot);
    let args = [
        format!("--screenshot={}", shot.display()),
        format!("--window-size={window}"),
        "--hide-scrollbars".to_owned(),
    ];
    let out = run_chromium(page, profile.path(), &args);
    assert!(out.success, "chromium --screenshot failed: {}", out.stderr);
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        png.len() > min_png,
        "screenshot is only {} bytes",
        png.len()
    );

    let args = ["--dump-dom", "--enable-logging=stderr", "--v=0"].map(str::to_owned);
    let out = run_chromium(page, profile.path(), &args);
    assert!(out.success, "chromium --dump-dom failed: {}", out.stderr);
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("Uncaught") || l.contains("CONSOLE"))
        .collect();
    assert!(errors.is_empty(), "the page logged: {errors:#?}");
    out.stdout
}

#[test]
fn report_renders_in_headless_chromium_with_its_charts_and_no_errors() {
    let (_scratch, _records, run) = support::regenerated(support::OOM);
    let page = screenshots().join("oom-recovery-report.html");
    std::fs::copy(&run.paths.report_html, &page).unwrap();
    let dom = render(&page, "oom-recovery-report.png", "1200,3000", 60_000);
    let mut expected = vec!["mttr-distribution".to_owned(), "mttr-breakdown".to_owned()];
    expected.extend((1..=10).map(|t| format!("timeline-trial-{t}")));
    assert_eq!(support::chart_ids(&dom), expected);
    assert_eq!(dom.matches("<svg").count(), expected.len());
}

#[test]
fn over_time_charts_render_in_headless_chromium() {
    let page = screenshots().join("over-time-report.html");
    std::fs::write(&page, samples::html(&samples::oom_run())).unwrap();
    let dom = render(&page, "over-time-report.png", "1200,3000", 60_000);
    assert_eq!(support::chart_ids(&dom), samples::CHART_IDS);
    assert_eq!(dom.matches("<svg").count(), samples::CHART_IDS.len());
    for text in [
        "Trial 1: memory against its limit",
        "Trial 1: CPU and throttling",
        "Trial 1: load throughput",
        "Trial 1: load latency",
        "No resource samples recorded",
        "No load windows recorded",
    ] {
        assert!(dom.contains(text), "{text} missing from the DOM");
    }
}

#[test]
fn history_index_renders_in_headless_chromium_with_its_trends() {
    let root = tempfile::tempdir().unwrap();
    for run in support::RUNS {
        let dir = support::copy_run(run, root.path());
        reports::regenerate(&dir).unwrap();
    }
    let history = reports::History::load(root.path()).unwrap();
    let index = history.write_index().unwrap();
    let dom = render(&index, "history-index.png", "1200,1800", 20_000);
    assert_eq!(
        support::chart_ids(&dom),
        [
            "mttr-trend-crash-recovery",
            "success-trend-crash-recovery",
            "mttr-trend-oom-recovery",
            "success-trend-oom-recovery",
        ]
    );
    // The links point at reports that exist, relative to the index.
    for run in support::RUNS {
        let link = format!("{run}/report.html");
        assert!(dom.contains(&format!("href=\"{link}\"")), "{link}");
        assert!(root.path().join(&link).is_file());
    }
}
