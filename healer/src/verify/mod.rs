//! Verification: probe the target over HTTP on a fixed schedule until enough answers in a row
//! are healthy, or the runbook's time is up.
//!
//! Probes leave every [`PROBE_INTERVAL`] whether or not the earlier ones have answered, each
//! with its own [`PROBE_TIMEOUT`], so a probe stuck on a dying or starting container does not
//! hold back the one after it. "In a row" is by send order: `consecutive` probes sent one after
//! the other must all answer healthily, in whatever order their answers arrive, and the
//! verification succeeds as soon as the last of them answers.

use std::future::Future;
use std::num::NonZeroU32;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;

use crate::platform::Platform;
use crate::runbook::Verify;
use crate::signal::TargetRef;
use crate::sources::HEALTH_LABEL;

/// Time between the sends of two verification probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(50);
/// Each probe (endpoint lookup plus request) gives up after this long.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// Probes in flight at once: as many as the schedule sends within one timeout. On schedule,
/// even with every probe hanging, the oldest gives up at the instant the next is due, so the
/// cap holds sends back only when the runtime has fallen behind and would catch up on several
/// missed ticks at once.
const MAX_IN_FLIGHT: usize = (PROBE_TIMEOUT.as_millis() / PROBE_INTERVAL.as_millis()) as usize;

/// Container port used when neither the runbook nor the target's labels name one.
const DEFAULT_PORT: u16 = 8080;
/// Target label naming the container port to verify.
const PORT_LABEL: &str = "healer.port";

/// How a verification went.
#[derive(Debug, PartialEq)]
pub struct Outcome {
    pub ok: bool,
    /// Probes sent.
    pub attempts: u32,
    /// Until the answer that completed the run, or until the deadline.
    pub elapsed: Duration,
    /// The latest failed probe's error.
    pub last_error: Option<String>,
}

/// The path verification asks: the runbook's `http_path`, else the target's [`HEALTH_LABEL`],
/// else `default` (the healer's probe path, `/health` unless configured).
pub(crate) fn path(check: &Verify, target: &TargetRef, default: &str) -> String {
    check
        .http_path
        .clone()
        .unwrap_or_else(|| label_path(target, HEALTH_LABEL, default))
}

/// Probes `http://{endpoint}{path}` (see the module docs for the schedule) until `consecutive`
/// probes in a row answer 2xx, or `within` has passed.
pub(crate) async fn verify(
    platform: &dyn Platform,
    client: &reqwest::Client,
    target: &TargetRef,
    check: &Verify,
    path: &str,
) -> Outcome {
    let port = check.port.unwrap_or_else(|| label_port(target));
    judge(check, || ask(platform, client, target, port, path)).await
}

/// Verifies `target` as a runbook's `verify:` without a path or port of its own does: probes
/// its health path (its [`HEALTH_LABEL`], else `default_path`) on its `healer.port` (else
/// 8080) on the schedule of the module docs, until `consecutive` probes in a row answer 2xx or
/// `within` has passed. For those who act without a runbook (the Agent API's callers) and want
/// the same check.
pub async fn verify_health(
    platform: &dyn Platform,
    client: &reqwest::Client,
    target: &TargetRef,
    within: Duration,
    consecutive: NonZeroU32,
    default_path: &str,
) -> Outcome {
    let check = Verify {
        http_path: None,
        port: None,
        within,
        consecutive,
    };
    let path = path(&check, target, default_path);
    verify(platform, client, target, &check, &path).await
}

/// Sends a probe with `send` every [`PROBE_INTERVAL`] (at most [`MAX_IN_FLIGHT`] in flight),
/// gives each [`PROBE_TIMEOUT`], and judges their answers by send order.
async fn judge<F, P>(check: &Verify, mut send: F) -> Outcome
where
    F: FnMut() -> P,
    P: Future<Output = Result<(), String>>,
{
    let started = Instant::now();
    let deadline = tokio::time::sleep_until(started + check.within);
    tokio::pin!(deadline);
    // The first tick is at once. A tick held back by the cap fires as soon as a place frees
    // (the default `Burst`), and the ticks after it keep the schedule.
    let mut schedule = tokio::time::interval(PROBE_INTERVAL);
    let mut in_flight = FuturesUnordered::new();
    let mut answers = Answers::default();
    let mut last_error = None;
    let outcome = |ok, answers: &Answers, last_error| Outcome {
        ok,
        attempts: answers.sent(),
        elapsed: started.elapsed(),
        last_error,
    };
    loop {
        // Answers first: one that came by the deadline counts.
        tokio::select! {
            biased;
            Some((index, answer)) = in_flight.next() => match answer {
                Ok(()) => {
                    if answers.good(index) >= check.consecutive.get() {
                        return outcome(true, &answers, last_error);
                    }
                }
                Err(error) => {
                    tracing::debug!(%error, "verification probe failed");
                    answers.bad(index);
                    last_error = Some(error);
                }
            },
            () = &mut deadline => return outcome(false, &answers, last_error),
            _ = schedule.tick(), if in_flight.len() < MAX_IN_FLIGHT => {
                let index = answers.send();
                let probe = within(PROBE_TIMEOUT, send());
                in_flight.push(async move { (index, probe.await) });
            }
        }
    }
}

/// The probes' answers in send order: `None` while one is in flight.
#[derive(Default)]
struct Answers(Vec<Option<bool>>);

impl Answers {
    /// Notes a probe sent; gives its index.
    fn send(&mut self) -> usize {
        self.0.push(None);
        self.0.len() - 1
    }

    fn sent(&self) -> u32 {
        u32::try_from(self.0.len()).unwrap_or(u32::MAX)
    }

    fn bad(&mut self, index: usize) {
        self.0[index] = Some(false);
    }

    /// Notes a healthy answer to probe `index`; gives the length of the run of healthy answers
    /// around it, in send order.
    fn good(&mut self, index: usize) -> u32 {
        self.0[index] = Some(true);
        let healthy = |answer: &&Option<bool>| **answer == Some(true);
        let before = self.0[..index].iter().rev().take_while(healthy).count();
        let after = self.0[index + 1..].iter().take_while(healthy).count();
        u32::try_from(before + 1 + after).unwrap_or(u32::MAX)
    }
}

/// The `healer.port` label, or the default port when it is missing or not a port number.
pub(crate) fn label_port(target: &TargetRef) -> u16 {
    match target.labels.get(PORT_LABEL) {
        None => DEFAULT_PORT,
        Some(value) => value.parse().unwrap_or_else(|_| {
            tracing::warn!(target_name = %target.name, %value, "label {PORT_LABEL} is not a port; using {DEFAULT_PORT}");
            DEFAULT_PORT
        }),
    }
}

/// The path in the target's `label`, or `default` when it is missing or does not start with `/`.
pub(crate) fn label_path(target: &TargetRef, label: &str, default: &str) -> String {
    match target.labels.get(label) {
        Some(value) if value.starts_with('/') => value.clone(),
        Some(value) => {
            tracing::warn!(target_name = %target.name, %value, "label {label} is not a path (it must start with /); using {default}");
            default.to_owned()
        }
        None => default.to_owned(),
    }
}

/// `probe` gives up after `timeout`.
async fn within(
    timeout: Duration,
    probe: impl Future<Output = Result<(), String>>,
) -> Result<(), String> {
    tokio::time::timeout(timeout, probe)
        .await
        .unwrap_or_else(|_| Err(format!("probe timed out after {timeout:?}")))
}

/// Looks the port up and asks `path` once, without a time limit (the healer's prober gives
/// each probe its own).
pub(crate) async fn ask(
    platform: &dyn Platform,
    client: &reqwest::Client,
    target: &TargetRef,
    port: u16,
    path: &str,
) -> Result<(), String> {
    let endpoint = platform
        .http_endpoint(target, port)
        .await
        .map_err(|err| err.to_string())?;
    let response = client
        .get(format!("http://{endpoint}{path}"))
        .send()
        .await
        .map_err(|err| format!("GET http://{endpoint}{path}: {err}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!(
            "GET http://{endpoint}{path}: HTTP {}",
            response.status()
        ))
    }
}

#[cfg(test)]
mod tests;
