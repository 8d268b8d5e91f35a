//! The knowledge base: outcomes per (incident class, runbook) — how often the runbook fixed
//! that class and how long recovery took — updated after every incident, optionally kept in a
//! JSON file, and used to rank runbooks when several match.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What the healer learnt of one runbook on one class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct OutcomeStats {
    /// Incidents handled.
    pub attempts: u32,
    /// Of which the steps and verification succeeded.
    pub successes: u32,
    /// Sum of the successful incidents' durations (detection to verified), in ms.
    pub recover_ms_total: f64,
}

impl OutcomeStats {
    /// Successes over attempts, `None` before the first attempt.
    pub fn success_rate(&self) -> Option<f64> {
        (self.attempts > 0).then(|| f64::from(self.successes) / f64::from(self.attempts))
    }

    /// Mean time to recover over the successful incidents.
    pub fn mean_time_to_recover(&self) -> Option<Duration> {
        (self.successes > 0).then(|| {
            Duration::from_secs_f64(self.recover_ms_total / f64::from(self.successes) / 1000.0)
        })
    }

    /// The ranking score: the success rate with one imagined success and one imagined failure
    /// (Laplace), so an unknown runbook scores 0.5 and one success is not certainty.
    pub(crate) fn score(&self) -> f64 {
        (f64::from(self.successes) + 1.0) / (f64::from(self.attempts) + 2.0)
    }
}

/// The file format: a list, because JSON object keys cannot be pairs.
#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    outcomes: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    class: String,
    runbook: String,
    #[serde(flatten)]
    stats: OutcomeStats,
}

/// Reading or writing the knowledge file failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KnowledgeError {
    #[error("cannot read the knowledge base {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the knowledge base {path} is not valid JSON of outcomes: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write the knowledge base {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Outcomes per (class, runbook). Cheap to clone: clones share the same knowledge.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeBase {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    outcomes: BTreeMap<(String, String), OutcomeStats>,
    path: Option<PathBuf>,
}

impl KnowledgeBase {
    /// An empty knowledge base kept in memory only.
    pub fn in_memory() -> Self {
        KnowledgeBase::default()
    }

    /// The knowledge base kept in the JSON file at `path`: read now (a missing file is an
    /// empty base) and rewritten after every recorded outcome.
    pub fn persistent(path: &Path) -> Result<Self, KnowledgeError> {
        let outcomes = match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str::<File>(&text)
                .map_err(|source| KnowledgeError::Parse {
                    path: path.to_owned(),
                    source,
                })?
                .outcomes
                .into_iter()
                .map(|entry| ((entry.class, entry.runbook), entry.stats))
                .collect(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => {
                return Err(KnowledgeError::Read {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        Ok(KnowledgeBase {
            inner: Arc::new(Mutex::new(Inner {
                outcomes,
                path: Some(path.to_owned()),
            })),
        })
    }

    /// What is known of `runbook` on `class`.
    pub fn stats(&self, class: &str, runbook: &str) -> Option<OutcomeStats> {
        self.lock()
            .outcomes
            .get(&(class.to_owned(), runbook.to_owned()))
            .copied()
    }

    /// Learns one incident's outcome, and rewrites the file when there is one.
    pub fn record(
        &self,
        class: &str,
        runbook: &str,
        ok: bool,
        took: Duration,
    ) -> Result<(), KnowledgeError> {
        let mut inner = self.lock();
        let stats = inner
            .outcomes
            .entry((class.to_owned(), runbook.to_owned()))
            .or_default();
        stats.attempts += 1;
        if ok {
            stats.successes += 1;
            stats.recover_ms_total += took.as_secs_f64() * 1000.0;
        }
        let Some(path) = inner.path.clone() else {
            return Ok(());
        };
        let file = File {
            outcomes: inner
                .outcomes
                .iter()
                .map(|((class, runbook), stats)| Entry {
                    class: class.clone(),
                    runbook: runbook.clone(),
                    stats: *stats,
                })
                .collect(),
        };
        let write = |source| KnowledgeError::Write {
            path: path.clone(),
            source,
        };
        // Write a sibling, then rename: a crash never leaves half a file.
        let temporary = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(&file)
            .map_err(std::io::Error::other)
            .map_err(write)?;
        std::fs::write(&temporary, text).map_err(write)?;
        std::fs::rename(&temporary, &path).map_err(write)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_give_success_rate_and_mean_time_to_recover() {
        let kb = KnowledgeBase::in_memory();
        assert_eq!(kb.stats("oom", "restart"), None);
        kb.record("oom", "restart", true, Duration::from_secs(1))
            .unwrap();
        kb.record("oom", "restart", true, Duration::from_secs(3))
            .unwrap();
        kb.record("oom", "restart", false, Duration::from_secs(60))
            .unwrap();
        let stats = kb.stats("oom", "restart").unwrap();
        assert_eq!((stats.attempts, stats.successes), (3, 2));
        assert_eq!(stats.success_rate(), Some(2.0 / 3.0));
        assert_eq!(stats.mean_time_to_recover(), Some(Duration::from_secs(2)));
        assert_eq!(stats.score(), 3.0 / 5.0);
        assert_eq!(OutcomeStats::default().score(), 0.5);
        assert_eq!(kb.stats("hang", "restart"), None, "per class");
    }

    #[test]
    fn a_persistent_base_survives_a_restart_of_the_healer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("knowledge.json");
        let kb = KnowledgeBase::persistent(&path).unwrap();
        kb.record("crash_loop", "restart", false, Duration::ZERO)
            .unwrap();
        kb.record("crash_loop", "rollback", true, Duration::from_millis(1500))
            .unwrap();
        let again = KnowledgeBase::persistent(&path).unwrap();
        assert_eq!(
            again.stats("crash_loop", "rollback"),
            kb.stats("crash_loop", "rollback")
        );
        assert_eq!(again.stats("crash_loop", "restart").unwrap().attempts, 1);

        std::fs::write(&path, "{ not json").unwrap();
        let error = KnowledgeBase::persistent(&path).unwrap_err();
        assert!(matches!(error, KnowledgeError::Parse { .. }), "{error}");
    }
}
