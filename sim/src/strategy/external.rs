//! `--strategy external`: a healer of the user's own that knows only the Agent API
//! (`crate::agent`): a command (`--external-cmd`), an Alertmanager webhook receiver
//! (`--external-webhook`), or both. Per trial the API is served; the command is started through
//! `sh -c` in its own process group with the API's address and token in its environment, its
//! output forwarded to sim's log; the run's alerts are posted to the webhook with the API's
//! address and token in headers. When the trial ends the group gets SIGTERM, then SIGKILL after
//! [`GRACE`], and the API shuts down. A heal task that is dropped instead
//! (aborted, or the runtime going away) kills the group on the spot: the agent never outlives the
//! run.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Alertmanager, Strategy, Trial};
use crate::alerting::{AgentWebhook, AlertPipeline};
use crate::monitoring::Timing;
use crate::runner::RunError;
use crate::scenario::Plan;
use crate::{agent, docker};

/// How long an agent has to exit after SIGTERM before its process group is SIGKILLed.
const GRACE: Duration = Duration::from_secs(2);

/// How often a stopping agent's process group is checked for members.
const POLL: Duration = Duration::from_millis(50);

/// A user's healer: a command run as `sh -c <command>` for every trial, an Alertmanager webhook
/// that sim's alerting posts to, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct External {
    /// The command line, as `--external-cmd` gives it.
    pub command: Option<String>,
    /// The agent's Alertmanager webhook, as `--external-webhook` gives it: a loopback URL.
    pub webhook: Option<String>,
    /// The alerting pipeline that feeds the webhook when the scenario has none of its own.
    pub alerting: Alertmanager,
}

impl External {
    /// The strategy's name, which needs `--external-cmd` or `--external-webhook`.
    pub const NAME: &'static str = "external";

    /// Before the flags configure it: no command and no webhook (the CLI refuses to run it so).
    pub const DEFAULTS: External = External {
        command: None,
        webhook: None,
        alerting: Alertmanager::DEFAULTS,
    };
}

impl Strategy for External {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn settings(&self) -> BTreeMap<String, String> {
        let mut settings = BTreeMap::new();
        settings.extend(self.command.clone().map(|c| ("command".to_owned(), c)));
        if let Some(webhook) = &self.webhook {
            settings.insert("webhook".to_owned(), webhook.clone());
            settings.extend(self.alerting.settings());
        }
        settings
    }

    /// With a webhook and a scenario that monitors nothing, the pipeline of `--strategy
    /// alertmanager` (`up == 0` held `for`, at its flags' timing) feeds it; a scenario's own
    /// monitoring is kept as it is.
    fn alerting(&self, plan: &mut Plan, dir: &Path) -> Result<Timing, RunError> {
        match (&self.webhook, &plan.monitoring) {
            (Some(_), None) => self.alerting.alerting(plan, dir),
            _ => Ok(Timing::default()),
        }
    }

    fn heal(&self, trial: &Trial<'_>, cancel: CancellationToken) -> Option<JoinHandle<()>> {
        let docker = trial.docker.clone();
        let journal = trial.narrator.clone();
        let observed = trial.observed.clone();
        let run_id = label(trial, docker::LABEL_RUN).to_owned();
        let number: u32 = label(trial, docker::LABEL_TRIAL)
            .parse()
            .unwrap_or_default();
        let command = self.command.clone();
        let webhook = self.webhook.clone();
        let alerts = trial.alerts.map(AlertPipeline::relay);
        Some(tokio::spawn(async move {
            let api = match agent::serve(docker, &run_id, number, journal, observed).await {
                Ok(api) => api,
                Err(e) => {
                    tracing::error!(
                        "trial {number}: the Agent API did not start, no agent runs: {e}"
                    );
                    return;
                }
            };
            match (webhook, alerts) {
                (Some(url), Some(alerts)) => alerts.relay_trial(AgentWebhook {
                    url,
                    agent_url: api.url().to_owned(),
                    agent_token: api.token().to_owned(),
                }),
                (Some(url), None) => tracing::warn!(
                    "trial {number}: the run has no alerting pipeline: nothing is posted to {url}"
                ),
                (None, _) => {}
            }
            let env = [
                ("SIM_AGENT_URL", api.url().to_owned()),
                ("SIM_AGENT_TOKEN", api.token().to_owned()),
                ("SIM_RUN_ID", run_id),
                ("SIM_TRIAL", number.to_string()),
            ];
            match command.map(|command| (Agent::spawn(&command, &env), command)) {
                Some((Ok(agent), command)) => agent.supervise(&command, cancel).await,
                Some((Err(e), command)) => {
                    tracing::error!("trial {number}: agent `{command}` did not start: {e}");
                    cancel.cancelled().await;
                }
                // A healer already running at the webhook: the API serves it until the end.
                None => cancel.cancelled().await,
            }
            api.shutdown().await;
        }))
    }
}

/// Whether `url` may be an agent's webhook: `http://` to a loopback address (`127.0.0.1`,
/// `[::1]`, `localhost`), where sim sends nothing but its own alerts. The message says why not.
pub fn check_webhook(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("webhook {url:?} must start with http://"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok_and(|p| p > 0) => host,
        _ => {
            return Err(format!(
                "webhook {url:?} must name a port, e.g. http://127.0.0.1:9095/alerts"
            ))
        }
    };
    match host {
        "localhost" | "[::1]" => Ok(()),
        host if host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback()) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "webhook {url:?} is not on this machine's loopback (127.0.0.1, [::1] or localhost): \
             sim posts alerts only to a healer on this machine"
        )),
    }
}

/// The value of the trial's scope label `key` (the run id, the trial number).
fn label<'a>(trial: &'a Trial<'_>, key: &str) -> &'a str {
    trial
        .scope
        .iter()
        .find(|(k, _)| *k == key)
        .map_or("", |(_, v)| v.as_str())
}

/// A running agent: `sh -c <command>`, leader of its own process group. Dropping it SIGKILLs the
/// group unless [`Agent::stop`] already ended it.
#[derive(Debug)]
struct Agent {
    /// The shell, spawned with `kill_on_drop`.
    child: Child,
    /// The process group: the shell's pid.
    group: u32,
    /// Whether the group is known to be gone.
    stopped: bool,
}

impl Agent {
    /// Starts `sh -c <command>` in the current directory with `env` added, stdin null, and its
    /// stdout and stderr forwarded line by line to the log.
    fn spawn(command: &str, env: &[(&str, String)]) -> std::io::Result<Agent> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .envs(env.iter().map(|(k, v)| (*k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()?;
        let group = child
            .id()
            .ok_or_else(|| std::io::Error::other("exited at once"))?;
        if let Some(out) = child.stdout.take() {
            tokio::spawn(forward(out));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(forward(err));
        }
        Ok(Agent {
            child,
            group,
            stopped: false,
        })
    }

    /// Lets the agent run until `cancel`, then stops it. An agent that exits before is logged
    /// with its status and not restarted (whatever it left in its group is stopped at `cancel`).
    async fn supervise(mut self, command: &str, cancel: CancellationToken) {
        let early = tokio::select! {
            status = self.child.wait() => Some(status),
            () = cancel.cancelled() => None,
        };
        if let Some(status) = early {
            match status {
                Ok(status) => tracing::warn!(
                    "agent `{command}` exited before the trial ended ({status}); it is not restarted"
                ),
                Err(e) => tracing::warn!("agent `{command}`: waiting for it failed: {e}"),
            }
            cancel.cancelled().await;
        }
        self.stop().await;
    }

    /// SIGTERM to the group; SIGKILL if any member is left after [`GRACE`]; the shell reaped.
    async fn stop(mut self) {
        signal_group(self.group, "TERM");
        let deadline = tokio::time::Instant::now() + GRACE;
        loop {
            // Reaped, the shell no longer counts as a member.
            let _ = self.child.try_wait();
            if !signal_group(self.group, "0") {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!("agent did not exit within {GRACE:?} of SIGTERM; killing it");
                signal_group(self.group, "KILL");
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        let _ = self.child.wait().await;
        self.stopped = true;
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if !self.stopped {
            signal_group(self.group, "KILL");
        }
    }
}

/// Sends `signal` (`TERM`, `KILL`, or `0` to test for members) to process group `group` with
/// kill(1); whether some member received it.
fn signal_group(group: u32, signal: &str) -> bool {
    std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{group}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Logs every line of an agent's output at info level, prefixed `agent:`, until it closes.
async fn forward(output: impl AsyncRead + Unpin) {
    let mut lines = BufReader::new(output).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!("agent: {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a process of group `group` runs (zombies, dead but not yet reaped, do not).
    fn alive(group: u32) -> bool {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return false;
        };
        dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
            .any(|stat| {
                // `pid (comm) state ppid pgrp …`
                let fields: Vec<&str> = stat
                    .rsplit(')')
                    .next()
                    .unwrap_or("")
                    .split_whitespace()
                    .collect();
                fields.get(2) == Some(&group.to_string().as_str()) && fields.first() != Some(&"Z")
            })
    }

    /// Whether group `group` has stopped running within a second.
    async fn gone_soon(group: u32) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        while alive(group) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(POLL).await;
        }
        !alive(group)
    }

    #[tokio::test]
    async fn an_agent_that_heeds_sigterm_stops_at_once_with_its_children() {
        let agent = Agent::spawn("sleep 30 & wait", &[]).unwrap();
        let group = agent.group;
        assert!(alive(group));
        let started = tokio::time::Instant::now();
        agent.stop().await;
        assert!(started.elapsed() < GRACE, "{:?}", started.elapsed());
        assert!(!alive(group));
    }

    #[tokio::test]
    async fn an_agent_that_ignores_sigterm_is_killed_after_the_grace() {
        let agent = Agent::spawn("trap '' TERM; while :; do sleep 0.1; done", &[]).unwrap();
        let group = agent.group;
        // Let the shell install its trap first.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = tokio::time::Instant::now();
        agent.stop().await;
        assert!(started.elapsed() >= GRACE, "{:?}", started.elapsed());
        assert!(gone_soon(group).await);
    }

    #[tokio::test]
    async fn a_dropped_agent_is_killed_and_an_early_exit_is_waited_out() {
        let agent = Agent::spawn("sleep 30", &[("SIM_TRIAL", "1".to_owned())]).unwrap();
        let group = agent.group;
        drop(agent);
        assert!(gone_soon(group).await);

        // Exits at once with code 3: supervised until cancel all the same.
        let agent = Agent::spawn("exit 3", &[]).unwrap();
        let cancel = CancellationToken::new();
        let supervised = tokio::spawn(agent.supervise("exit 3", cancel.clone()));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!supervised.is_finished());
        cancel.cancel();
        supervised.await.unwrap();
    }

    #[test]
    fn settings_record_the_command_and_the_webhook_with_its_pipeline() {
        let external = External {
            command: Some("python3 agent.py".to_owned()),
            ..External::DEFAULTS
        };
        assert_eq!(
            external.settings(),
            BTreeMap::from([("command".to_owned(), "python3 agent.py".to_owned())])
        );
        assert_eq!(external.name(), External::NAME);
        let webhook = External {
            webhook: Some("http://127.0.0.1:9095/alerts".to_owned()),
            ..external
        };
        let settings = webhook.settings();
        assert_eq!(settings["webhook"], "http://127.0.0.1:9095/alerts");
        assert_eq!(settings["for"], "60s");
    }

    #[test]
    fn a_webhook_must_be_on_the_loopback_with_a_port() {
        for good in [
            "http://127.0.0.1:9095/alerts",
            "http://localhost:80",
            "http://[::1]:9095/",
            "http://127.3.0.1:1/x",
        ] {
            assert_eq!(check_webhook(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("https://127.0.0.1:9095/alerts", "must start with http://"),
            ("http://127.0.0.1/alerts", "must name a port"),
            ("http://127.0.0.1:0/alerts", "must name a port"),
            (
                "http://10.0.0.7:9095/alerts",
                "not on this machine's loopback",
            ),
            ("http://example.com:80/", "not on this machine's loopback"),
        ] {
            let error = check_webhook(bad).unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }
}
