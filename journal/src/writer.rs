//! Appending records to a JSON-lines file as they happen, and reading them back.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
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
    state: Mutex<State>,
    failed_writes: AtomicU32,
}

#[derive(Debug)]
struct State {
    file: File,
    trial: Option<u32>,
}

impl Journal {
    /// Creates (or truncates) the journal at `path`.
    pub fn create(path: &Path) -> Result<Self, JournalError> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(|source| JournalError::Open {
                path: path.to_owned(),
                source,
            })?;
        Ok(Journal {
            path: path.to_owned(),
            started: Instant::now(),
            state: Mutex::new(State { file, trial: None }),
            failed_writes: AtomicU32::new(0),
        })
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
            t_ms: self.started.elapsed().as_secs_f64() * 1000.0,
            unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
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

/// Reads every record of the journal at `path`. A truncated last line (a run killed mid-write)
/// is skipped; any other malformed line is an error naming the line.
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
            Err(_) if index + 1 == last && !line.ends_with('}') => break,
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
