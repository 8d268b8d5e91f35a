//! Appending records to a JSON-lines file as they happen, and reading them back.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::{Event, Record};

/// Errors opening or reading a journal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    #[error("cannot open journal {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read journal {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a journal record: {source}")]
    Parse {
        path: PathBuf,
        line: usize,
        source: serde_json::Error,
    },
}

/// Where events go. The healer and the runner write through this trait, so tests can collect
/// events in memory and the standalone healer can write its own audit file.
pub trait Sink: Send + Sync {
    /// Records one event now. Never fails: a sink that cannot write counts the failure.
    fn record(&self, event: Event);
}

/// An append-only JSON-lines journal. Each record is written and flushed before `record`
/// returns, so a crash or Ctrl-C loses nothing that was recorded.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    started: Instant,
    /// `t_ms` of the instant `started`: zero for a new journal, where the file's earlier
    /// sessions left off for an appended one.
    offset_ms: f64,
    state: Mutex<State>,
    failed_writes: AtomicU32,
}

#[derive(Debug)]
struct State {
    file: File,
    trial: Option<u32>,
}

/// How far back [`Journal::append`] first looks for the file's last record.
const TAIL: u64 = 64 * 1024;

impl Journal {
    /// Creates (or truncates) the journal at `path`: one run's journal, `t_ms` from zero.
    pub fn create(path: &Path) -> Result<Self, JournalError> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(|source| open_error(path, source))?;
        Ok(Journal::new(path, file, 0.0))
    }

    /// Opens the journal at `path` to append to it, creating it when missing; nothing recorded
    /// before is lost (a daemon's audit file, kept across its restarts).
    ///
    /// One clock runs through the file: this session's `t_ms` go on from the last record's,
    /// plus the wall-clock time (`unix_ms`) since it, so `t_ms` never goes back. Between two
    /// records of one session `t_ms` is the monotonic clock's; across a restart, the wall
    /// clock's. A last line cut short by a crash is ended with a newline first, so this
    /// session's first record is a line of its own and the torn one stays a line
    /// [`read_journal`] skips.
    pub fn append(path: &Path) -> Result<Self, JournalError> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(|source| open_error(path, source))?;
        let read_error = |source| JournalError::Read {
            path: path.to_owned(),
            source,
        };
        let (last, torn) = tail(&mut file).map_err(read_error)?;
        if torn {
            file.write_all(b"\n")
                .map_err(|source| open_error(path, source))?;
        }
        let offset_ms = last.map_or(0.0, |record| {
            record.t_ms + unix_ms().saturating_sub(record.unix_ms) as f64
        });
        Ok(Journal::new(path, file, offset_ms))
    }

    fn new(path: &Path, file: File, offset_ms: f64) -> Journal {
        Journal {
            path: path.to_owned(),
            started: Instant::now(),
            offset_ms,
            state: Mutex::new(State { file, trial: None }),
            failed_writes: AtomicU32::new(0),
        }
    }

    /// The file this journal writes to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Tags every following record with `trial` (or with none).
    pub fn set_trial(&self, trial: Option<u32>) {
        self.lock().trial = trial;
    }

    /// The trial records are being tagged with now (`None` between trials).
    pub fn trial(&self) -> Option<u32> {
        self.lock().trial
    }

    /// How many records could not be written (disk full, file removed…).
    pub fn failed_writes(&self) -> u32 {
        self.failed_writes.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-written line behind (each line is
        // one write), so a poisoned lock is safe to keep using.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

impl Sink for Journal {
    fn record(&self, event: Event) {
        let mut state = self.lock();
        let record = Record {
            t_ms: self.offset_ms + self.started.elapsed().as_secs_f64() * 1000.0,
            unix_ms: unix_ms(),
            trial: state.trial,
            event,
        };
        let mut line = match serde_json::to_vec(&record) {
            Ok(line) => line,
            Err(_) => {
                self.failed_writes.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        line.push(b'\n');
        if state.file.write_all(&line).is_err() {
            self.failed_writes.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn open_error(path: &Path, source: std::io::Error) -> JournalError {
    JournalError::Open {
        path: path.to_owned(),
        source,
    }
}

/// Wall-clock time, milliseconds since the Unix epoch (0 before it).
fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The last record of `file` that parses, and whether the file ends inside a line (a torn
/// write). Reads back from the end, [`TAIL`] bytes first, more only while no record is found.
fn tail(file: &mut File) -> std::io::Result<(Option<Record>, bool)> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok((None, false));
    }
    let mut window = TAIL;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = vec![0; usize::try_from(len - start).unwrap_or(usize::MAX)];
        file.read_exact(&mut bytes)?;
        let torn = bytes.last() != Some(&b'\n');
        let mut lines = bytes.split(|byte| *byte == b'\n');
        if start > 0 {
            // Begun before the window: not a whole line.
            lines.next();
        }
        let last = lines
            .rev()
            .find_map(|line| serde_json::from_slice(line).ok());
        if last.is_some() || start == 0 {
            return Ok((last, torn));
        }
        window = window.saturating_mul(4);
    }
}

/// Reads every record of the journal at `path`. A line cut short by a crash (a run or a daemon
/// killed mid-write) is skipped: the last line, or a line that begins a record and does not end
/// it (where an appending session started after it); any other malformed line is an error
/// naming the line.
pub fn read_journal(path: &Path) -> Result<Vec<Record>, JournalError> {
    let file = File::open(path).map_err(|source| JournalError::Open {
        path: path.to_owned(),
        source,
    })?;
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|source| JournalError::Read {
            path: path.to_owned(),
            source,
        })?;
    let last = lines.len();
    let mut records = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(record) => records.push(record),
            Err(_) if !line.ends_with('}') && (index + 1 == last || line.starts_with('{')) => {
                continue
            }
            Err(source) => {
                return Err(JournalError::Parse {
                    path: path.to_owned(),
                    line: index + 1,
                    source,
                })
            }
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_with_trial_tags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let journal = Journal::create(&path).unwrap();
        journal.record(Event::TrialStarted);
        journal.set_trial(Some(2));
        journal.record(Event::Docker {
            target: "leaky-0".into(),
            action: "oom".into(),
            exit_code: None,
        });
        let records = read_journal(&path).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].trial, None);
        assert_eq!(records[1].trial, Some(2));
        assert_eq!(records[1].event.target(), Some("leaky-0"));
        assert!(records[1].t_ms >= records[0].t_ms);
        assert_eq!(journal.failed_writes(), 0);
    }

    #[test]
    fn an_appended_clock_goes_on_from_a_last_record_far_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let last = format!(
            r#"{{"t_ms":5000000.0,"unix_ms":{},"event":"trial_started"}}"#,
            unix_ms()
        );
        // Torn after a line longer than the first look back.
        let torn = format!(
            "{{\"t_ms\":5000001.0,\"x\":\"{}",
            "x".repeat(3 * TAIL as usize)
        );
        std::fs::write(&path, format!("{last}\n{torn}")).unwrap();
        Journal::append(&path).unwrap().record(Event::TrialStarted);
        let records = read_journal(&path).unwrap();
        assert_eq!(records.len(), 2);
        assert!(records[1].t_ms >= 5_000_000.0, "{}", records[1].t_ms);
    }

    #[test]
    fn truncated_last_line_is_skipped_but_corruption_elsewhere_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let good = r#"{"t_ms":1.0,"unix_ms":5,"event":"trial_started"}"#;
        std::fs::write(&path, format!("{good}\n{{\"t_ms\":2.0,\"unix")).unwrap();
        assert_eq!(read_journal(&path).unwrap().len(), 1);

        std::fs::write(&path, format!("garbage\n{good}\n")).unwrap();
        let err = read_journal(&path).unwrap_err().to_string();
        assert!(err.contains(":1: not a journal record"), "{err}");
    }
}
