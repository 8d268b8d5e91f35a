//! Guardrails the operator sets on the whole healer: how many actions may run at once, how sure
//! the healer must be before it acts, dry-run, and approval mode with its [`ApprovalHandle`].
//! (Per-runbook guardrails, cooldown and `max_actions` per window, live in the runbooks.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;

/// Operator-wide limits on what the healer does. The defaults are the safe ones: at most two
/// actions at once, act only at a confidence of 0.5 or more (below it: notify only), really
/// act (no dry run), no approval needed.
#[derive(Debug, Clone, PartialEq)]
pub struct Guardrails {
    pub(crate) max_concurrent: usize,
    pub(crate) min_confidence: f64,
    pub(crate) dry_run: bool,
    pub(crate) approval_timeout: Option<Duration>,
}

impl Default for Guardrails {
    fn default() -> Self {
        Guardrails {
            max_concurrent: 2,
            min_confidence: 0.5,
            dry_run: false,
            approval_timeout: None,
        }
    }
}

impl Guardrails {
    /// At most `n` actions (restart, stop, HTTP call…; not waits and notifications) run at
    /// the same time across all incidents; others wait their turn. `0` counts as 1.
    pub fn max_concurrent(mut self, n: usize) -> Self {
        self.max_concurrent = n.max(1);
        self
    }

    /// Below this classification confidence (0..=1) the healer only runs the runbook's
    /// `notify` steps and escalates; it touches nothing.
    pub fn min_confidence(mut self, confidence: f64) -> Self {
        self.min_confidence = confidence.clamp(0.0, 1.0);
        self
    }

    /// Decide and record every step as `ActionSkipped`, but touch nothing and notify no one.
    pub fn dry_run(mut self, on: bool) -> Self {
        self.dry_run = on;
        self
    }

    /// Every incident waits for [`ApprovalHandle::approve`] before its steps; without an
    /// approval within `timeout` it is escalated instead.
    pub fn require_approval(mut self, timeout: Duration) -> Self {
        self.approval_timeout = Some(timeout);
        self
    }
}

/// Approves incidents waiting in approval mode. Cheap to clone; get one from
/// [`Healer::approvals`](crate::Healer::approvals).
#[derive(Debug, Clone, Default)]
pub struct ApprovalHandle {
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<()>>>>,
}

impl ApprovalHandle {
    /// Lets the incident `incident_id` act; `false` when no incident of that id is waiting.
    pub fn approve(&self, incident_id: &str) -> bool {
        let sender = self.lock().remove(incident_id);
        sender.is_some_and(|sender| sender.send(()).is_ok())
    }

    /// The ids of the incidents waiting for approval, sorted.
    pub fn waiting(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.lock().keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Registers `incident` as waiting; the receiver completes on approval.
    pub(crate) fn wait_for(&self, incident: &str) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.lock().insert(incident.to_owned(), tx);
        rx
    }

    /// Forgets `incident` (it timed out or ended).
    pub(crate) fn forget(&self, incident: &str) {
        self.lock().remove(incident);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<()>>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
