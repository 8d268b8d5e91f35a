//! The run journal: every event of a run (faults, probes, Docker events, healer decisions and
//! actions, load figures) as one closed enum, appended to a JSON-lines file the moment it happens.
//!
//! Reports and MTTR figures are computed by replaying a journal, never from live state, so the
//! file is the single source of truth. Writing never breaks a run: a failed append is counted and
//! reported once, and the run goes on.

mod event;
mod memory;
mod writer;

pub use event::{Event, Record, RunSetup};
pub use memory::MemorySink;
pub use writer::{read_journal, Journal, JournalError, Sink};
