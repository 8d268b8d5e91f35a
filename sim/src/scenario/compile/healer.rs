//! The `healer` section: the runbooks, given by name or by path, each resolved to a file, the
//! strategy (`strategy:`, `external:`) that heals when `--strategy` does not say, and the
//! embedded healer's model advisor (`advisor:`) and probe timeout (`probe_timeout:`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Compiler;
use specfile::Scalar;

use crate::scenario::plan::StrategyPlan;
use crate::scenario::spec::{AdvisorSpec, ExternalSpec, HealerSpec};
use crate::strategy::{self, External};

/// A field's text, trimmed, when there is any.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A runbook entry that is a path (`runbooks/x.yaml`) rather than a name (`x`).
fn is_runbook_path(entry: &str) -> bool {
    entry.contains(['/', '\\']) || entry.ends_with(".yaml") || entry.ends_with(".yml")
}

/// The longest `healer.probe_timeout`: a health endpoint slower than this is down.
const MAX_PROBE_TIMEOUT: Duration = Duration::from_secs(30);

impl Compiler<'_> {
    /// The runbook files, each checked to exist, the strategy the section names, and the
    /// advisor.
    pub(super) fn healer(
        &mut self,
        spec: &HealerSpec,
    ) -> (Vec<PathBuf>, Option<StrategyPlan>, Option<healer::Advisor>) {
        self.p
            .unknown_fields("healer", &spec.unknown, HealerSpec::FIELDS);
        let strategy = self.strategy(spec.strategy.as_deref(), spec.external.as_ref());
        let advisor = spec.advisor.as_ref().and_then(|a| self.advisor(a));
        (self.runbooks(spec), strategy, advisor)
    }

    /// `healer.probe_timeout`: more than zero and at most [`MAX_PROBE_TIMEOUT`]; `None` when
    /// not given (or wrong, which is recorded), the healer's default.
    pub(super) fn probe_timeout(&mut self, value: Option<&Scalar>) -> Option<Duration> {
        const FIELD: &str = "healer.probe_timeout";
        let timeout = self.p.duration(FIELD, value?.as_str());
        let timeout = self.nonzero(FIELD, timeout)?;
        if timeout > MAX_PROBE_TIMEOUT {
            self.p.push(
                FIELD,
                format!("must be at most 30s, got `{}`", value?.as_str()),
                Some("a probe that needs longer is failing; such as `probe_timeout: 1s`".into()),
            );
            return None;
        }
        Some(timeout)
    }

    /// `healer.advisor`: an http `url` and a `model`, both required; `timeout` (default 10s)
    /// more than zero; `min_confidence` (default 0.7) a number in 0..=1.
    fn advisor(&mut self, spec: &AdvisorSpec) -> Option<healer::Advisor> {
        self.p
            .unknown_fields("healer.advisor", &spec.unknown, AdvisorSpec::FIELDS);
        let url = given(&spec.url);
        let model = given(&spec.model);
        if url.is_none() {
            self.missing("healer.advisor.url", "url: http://127.0.0.1:11434");
        }
        if model.is_none() {
            self.missing("healer.advisor.model", "model: qwen2.5:0.5b");
        }
        let timeout = self.duration_or(
            "healer.advisor.timeout",
            spec.timeout.as_ref(),
            healer::advisor::DEFAULT_TIMEOUT,
        );
        let timeout = self.nonzero("healer.advisor.timeout", timeout);
        let min_confidence = match &spec.min_confidence {
            None => Some(healer::advisor::DEFAULT_MIN_CONFIDENCE),
            Some(text) => match text.as_str().trim().parse::<f64>() {
                Ok(n) if (0.0..=1.0).contains(&n) => Some(n),
                _ => {
                    self.p.push(
                        "healer.advisor.min_confidence",
                        format!("must be a number from 0 to 1, got `{}`", text.as_str()),
                        Some("such as `min_confidence: 0.7`".into()),
                    );
                    None
                }
            },
        };
        let advisor = match healer::Advisor::new(url?, model?) {
            Ok(advisor) => advisor,
            Err(e) => {
                let field = match e {
                    healer::AdvisorError::NoModel => "healer.advisor.model",
                    _ => "healer.advisor.url",
                };
                self.p.push(
                    field,
                    e.to_string(),
                    Some(
                        "give the server's base URL, such as `http://127.0.0.1:11434` (Ollama);                          requests go to its /v1/chat/completions"
                            .into(),
                    ),
                );
                return None;
            }
        };
        let advisor = advisor.timeout(timeout?).ok()?;
        advisor.min_confidence(min_confidence?).ok()
    }

    /// `healer.strategy`, a name the registry knows; `healer.external` only with `external`,
    /// where it must name a command or a loopback webhook.
    fn strategy(
        &mut self,
        name: Option<&str>,
        external: Option<&ExternalSpec>,
    ) -> Option<StrategyPlan> {
        if let Some(e) = external {
            self.p
                .unknown_fields("healer.external", &e.unknown, ExternalSpec::FIELDS);
        }
        let name = name.map(str::trim);
        match (name, external) {
            (None, None) => return None,
            (Some(name), _) if !strategy::names().contains(&name) => {
                let known = strategy::names().join(", ");
                self.p.push(
                    "healer.strategy",
                    format!("unknown strategy `{name}`"),
                    Some(format!("write one of: {known}")),
                );
                return None;
            }
            (Some(External::NAME), None) => {
                self.p.push(
                    "healer.strategy",
                    "strategy `external` needs `healer.external`",
                    Some(
                        "add `external: { command: python3 my_agent.py }` (or a `webhook:`) \
                         under `healer:`"
                            .into(),
                    ),
                );
                return None;
            }
            (Some(name), Some(_)) if name != External::NAME => {
                self.p.push(
                    "healer.external",
                    format!("applies to `strategy: external` only, not to `{name}`"),
                    Some("remove it, or write `strategy: external`".into()),
                );
                return None;
            }
            (None, Some(_)) => {
                self.p.push(
                    "healer.external",
                    "is given without `strategy: external`",
                    Some("add `strategy: external` under `healer:`".into()),
                );
                return None;
            }
            _ => {}
        }
        let (command, webhook) =
            external.map_or((None, None), |e| (given(&e.command), given(&e.webhook)));
        if external.is_some() && command.is_none() && webhook.is_none() {
            self.p.push(
                "healer.external",
                "names neither a `command` nor a `webhook`",
                Some("add `command: python3 my_agent.py` (the healer sim starts)".into()),
            );
        }
        if let Some(Err(e)) = webhook.map(strategy::check_webhook) {
            self.p.push(
                "healer.external.webhook",
                e,
                Some("serve the webhook on 127.0.0.1".into()),
            );
        }
        Some(StrategyPlan {
            name: name?.to_owned(),
            external_command: command.map(str::to_owned),
            external_webhook: webhook.map(str::to_owned),
        })
    }

    /// The runbook files, each checked to exist.
    fn runbooks(&mut self, spec: &HealerSpec) -> Vec<PathBuf> {
        let scenario_dir = self.source.parent().unwrap_or(Path::new(""));
        let mut found = Vec::new();
        for (i, entry) in spec.runbooks.iter().enumerate() {
            let field = format!("healer.runbooks[{i}]");
            if entry.trim().is_empty() {
                self.p.push(
                    &field,
                    "is empty",
                    Some("write a runbook name such as `restart-on-oom`".into()),
                );
            } else if is_runbook_path(entry) {
                let path = scenario_dir.join(entry);
                if path.is_file() {
                    found.push(path);
                } else {
                    self.p.push(
                        &field,
                        format!("runbook file {} not found", path.display()),
                        Some("paths are relative to the scenario file".into()),
                    );
                }
            } else {
                let candidates: Vec<PathBuf> = self
                    .ctx
                    .runbook_dirs
                    .iter()
                    .map(|dir| dir.join(format!("{entry}.yaml")))
                    .collect();
                match candidates.iter().find(|path| path.is_file()) {
                    Some(path) => found.push(path.clone()),
                    None if candidates.is_empty() => self.p.push(
                        &field,
                        format!(
                            "runbook `{entry}` not found: no runbook directories are configured"
                        ),
                        Some(
                            "write a path relative to the scenario file, such as `runbooks/x.yaml`"
                                .into(),
                        ),
                    ),
                    None => {
                        let looked: Vec<String> =
                            candidates.iter().map(|p| p.display().to_string()).collect();
                        self.p.push(
                            &field,
                            format!(
                                "runbook `{entry}` not found; looked for {}",
                                looked.join(", ")
                            ),
                            Some(
                                "create it there, or write a path relative to the scenario file"
                                    .into(),
                            ),
                        );
                    }
                }
            }
        }
        found
    }
}
