//! Verification: probe the target over HTTP until it answers healthily enough times in a row,
//! or the runbook's time is up.

use std::time::Duration;

use tokio::time::Instant;

use crate::platform::Platform;
use crate::runbook::Verify;
use crate::signal::TargetRef;

/// Each probe (endpoint lookup plus request) gives up after this long.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Container port used when neither the runbook nor the target's labels name one.
const DEFAULT_PORT: u16 = 8080;
/// Target label naming the container port to verify.
const PORT_LABEL: &str = "healer.port";

/// How a verification went.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) ok: bool,
    pub(crate) attempts: u32,
    pub(crate) elapsed: Duration,
    pub(crate) last_error: Option<String>,
}

/// Probes `http://{endpoint}{http_path}` with exponential backoff (50 ms, doubling, at most 1 s;
/// back to 50 ms after a healthy answer) until `consecutive` healthy answers in a row or until
/// `within` has passed, with one last probe at the deadline.
pub(crate) async fn verify(
    platform: &dyn Platform,
    client: &reqwest::Client,
    target: &TargetRef,
    check: &Verify,
) -> Outcome {
    let port = check.port.unwrap_or_else(|| label_port(target));
    let started = Instant::now();
    let deadline = started + check.within;
    let mut backoff = FIRST_BACKOFF;
    let mut streak = 0;
    let mut attempts = 0;
    let mut last_error = None;
    loop {
        attempts += 1;
        let wait = match probe(
            platform,
            client,
            target,
            port,
            &check.http_path,
            PROBE_TIMEOUT,
        )
        .await
        {
            Ok(()) => {
                streak += 1;
                if streak >= check.consecutive.get() {
                    return Outcome {
                        ok: true,
                        attempts,
                        elapsed: started.elapsed(),
                        last_error,
                    };
                }
                backoff = FIRST_BACKOFF;
                backoff
            }
            Err(error) => {
                tracing::debug!(target_name = %target.name, %error, "verification probe failed");
                streak = 0;
                last_error = Some(error);
                let wait = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                wait
            }
        };
        let now = Instant::now();
        if now >= deadline {
            return Outcome {
                ok: false,
                attempts,
                elapsed: started.elapsed(),
                last_error,
            };
        }
        tokio::time::sleep_until(deadline.min(now + wait)).await;
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

/// One probe: where is the port now, and does it answer 2xx within `timeout`?
pub(crate) async fn probe(
    platform: &dyn Platform,
    client: &reqwest::Client,
    target: &TargetRef,
    port: u16,
    path: &str,
    timeout: Duration,
) -> Result<(), String> {
    let attempt = async {
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
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("probe timed out after {timeout:?}")))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn target(labels: &[(&str, &str)]) -> TargetRef {
        TargetRef {
            id: "id".into(),
            name: "t".into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn port_comes_from_the_label_else_the_default() {
        assert_eq!(label_port(&target(&[])), 8080);
        assert_eq!(label_port(&target(&[("healer.port", "9000")])), 9000);
        assert_eq!(label_port(&target(&[("healer.port", "http")])), 8080);
    }
}
