//! A journal appended to across sessions (the audit file of `healer serve`, kept through its
//! restarts): every session's records stay, every line parses, `t_ms` never goes back, and a
//! line torn by a crash does not spoil the next session's first record.

use std::path::Path;

use journal::{read_journal, Event, Journal, Record, Sink};

fn docker(target: &str) -> Event {
    Event::Docker {
        target: target.to_owned(),
        action: "die".to_owned(),
        exit_code: Some(137),
    }
}

/// One session: opens `path` for appending, records an event per target, closes it.
fn session(path: &Path, targets: &[&str]) {
    let journal = Journal::append(path).unwrap();
    for target in targets {
        journal.record(docker(target));
    }
    assert_eq!(journal.failed_writes(), 0);
}

fn targets(records: &[Record]) -> Vec<&str> {
    records.iter().filter_map(|r| r.event.target()).collect()
}

fn assert_clock_never_goes_back(records: &[Record]) {
    for pair in records.windows(2) {
        assert!(pair[0].t_ms <= pair[1].t_ms, "{pair:?}");
    }
}

#[test]
fn a_reopened_journal_keeps_every_session_and_its_clock_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    session(&path, &["a", "b"]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    session(&path, &["c"]);
    session(&path, &["d"]);

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with('\n'));
    for line in text.lines() {
        serde_json::from_str::<Record>(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    let records = read_journal(&path).unwrap();
    assert_eq!(targets(&records), ["a", "b", "c", "d"]);
    assert_clock_never_goes_back(&records);
    // The second session began after the 20 ms pause, on the wall clock.
    assert!(records[2].t_ms - records[1].t_ms >= 20.0, "{records:?}");
}

#[test]
fn a_line_torn_by_a_crash_does_not_spoil_the_next_session() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    session(&path, &["a"]);
    // SIGKILL mid-write: half a record, no newline.
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(r#"{"t_ms":12.5,"unix_ms":17000,"event":"dock"#);
    std::fs::write(&path, &text).unwrap();
    session(&path, &["b"]);
    session(&path, &["c"]);

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[1].ends_with(r#""event":"dock"#),
        "the torn line is kept as it was"
    );
    for line in [lines[0], lines[2], lines[3]] {
        serde_json::from_str::<Record>(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    let records = read_journal(&path).unwrap();
    assert_eq!(targets(&records), ["a", "b", "c"]);
    assert_clock_never_goes_back(&records);
}

#[test]
fn appending_creates_a_missing_file_and_create_still_truncates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.jsonl");
    session(&path, &["a"]);
    let records = read_journal(&path).unwrap();
    assert_eq!(targets(&records), ["a"]);
    assert!(
        records[0].t_ms < 1_000.0,
        "a new file's clock starts at zero"
    );

    let run = Journal::create(&path).unwrap();
    run.record(docker("b"));
    assert_eq!(targets(&read_journal(&path).unwrap()), ["b"]);
}
