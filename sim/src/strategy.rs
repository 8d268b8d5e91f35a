//! The healing strategies a scenario can be run with: nothing, Docker's restart policy,
//! docker-autoheal's behaviour, a Prometheus → Alertmanager → webhook setup, the embedded
//! healer, or the floor (a bare `start` on every `die`: the fastest a restart-based heal can be
//! on this machine). Same scenario, same load, same faults: only who heals changes, so
//! `sim compare` can put them side by side.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Who heals the targets during a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Nobody: the baseline.
    None,
    /// Docker's restart policy `on-failure`: restarts on a non-zero exit, never on "unhealthy".
    DockerRestart,
    /// docker-autoheal: a Docker HEALTHCHECK every `interval` (`retries` failures make the
    /// container `unhealthy`) and a poller restarting unhealthy containers every `poll`.
    Autoheal {
        interval: Duration,
        retries: u32,
        poll: Duration,
    },
    /// An alerting pipeline as common setups have it: Prometheus scraping every `scrape`, a
    /// rule `up == 0` held `for`, Alertmanager's `group_wait`, then its webhook → restart (the
    /// embedded healer with only the `restart-on-down-alert` runbook, fed only by alerts).
    Alertmanager {
        scrape: Duration,
        rule_for: Duration,
        group_wait: Duration,
    },
    /// The embedded healer with the scenario's runbooks.
    Embedded,
    /// The physical floor of a restart-based heal: the Docker API `start` called on a trial's
    /// container the moment its `die` event arrives. No runbook, no verification; it heals
    /// nothing that does not exit.
    Floor,
}

/// A common Prometheus → Alertmanager self-healing setup: 15s scrape, `up == 0` for 1m,
/// group_wait 10s (about 1.5 min before the webhook).
pub const ALERTMANAGER_DEFAULTS: Strategy = Strategy::Alertmanager {
    scrape: Duration::from_secs(15),
    rule_for: Duration::from_secs(60),
    group_wait: Duration::from_secs(10),
};

/// docker-autoheal at its defaults: Docker's HEALTHCHECK defaults (30s interval, 3 retries) and
/// autoheal's 5s poll.
pub const AUTOHEAL_DEFAULTS: Strategy = Strategy::Autoheal {
    interval: Duration::from_secs(30),
    retries: 3,
    poll: Duration::from_secs(5),
};

/// The names `--strategy` and `--strategies` accept.
pub const STRATEGY_NAMES: [&str; 6] = [
    "none",
    "docker-restart",
    "autoheal",
    "alertmanager",
    "embedded",
    "floor",
];

/// A strategy name `sim` does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown strategy {0:?}; expected one of: none, docker-restart, autoheal, alertmanager, embedded, floor"
)]
#[non_exhaustive]
pub struct UnknownStrategy(pub String);

impl Strategy {
    /// The strategy called `name`, with its settings from the first of `configured` that has
    /// that name, else its defaults.
    pub fn parse(name: &str, configured: &[Strategy]) -> Result<Strategy, UnknownStrategy> {
        let named = |wanted: &str, default: Strategy| {
            configured
                .iter()
                .copied()
                .find(|s| s.name() == wanted)
                .unwrap_or(default)
        };
        match name.trim() {
            "none" => Ok(Strategy::None),
            "docker-restart" => Ok(Strategy::DockerRestart),
            "autoheal" => Ok(named("autoheal", AUTOHEAL_DEFAULTS)),
            "alertmanager" => Ok(named("alertmanager", ALERTMANAGER_DEFAULTS)),
            "embedded" => Ok(Strategy::Embedded),
            "floor" => Ok(Strategy::Floor),
            other => Err(UnknownStrategy(other.to_owned())),
        }
    }

    /// The name the journal, the CLI and the comparison use.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::None => "none",
            Strategy::DockerRestart => "docker-restart",
            Strategy::Autoheal { .. } => "autoheal",
            Strategy::Alertmanager { .. } => "alertmanager",
            Strategy::Embedded => "embedded",
            Strategy::Floor => "floor",
        }
    }
}

impl Strategy {
    /// The strategy's settings, as the journal records them (`run_started.setup`).
    pub fn settings(&self) -> BTreeMap<String, String> {
        let secs = |d: &Duration| format!("{}s", d.as_secs_f64());
        let pairs: Vec<(&str, String)> = match self {
            Strategy::None | Strategy::DockerRestart | Strategy::Embedded | Strategy::Floor => {
                Vec::new()
            }
            Strategy::Autoheal {
                interval,
                retries,
                poll,
            } => vec![
                ("interval", secs(interval)),
                ("retries", retries.to_string()),
                ("poll", secs(poll)),
            ],
            Strategy::Alertmanager {
                scrape,
                rule_for,
                group_wait,
            } => vec![
                ("scrape", secs(scrape)),
                ("for", secs(rule_for)),
                ("group_wait", secs(group_wait)),
            ],
        };
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_itself() {
        for name in STRATEGY_NAMES {
            let strategy = Strategy::parse(name, &[]).unwrap();
            assert_eq!(strategy.name(), name);
        }
        assert_eq!(
            Strategy::parse("restart", &[]),
            Err(UnknownStrategy("restart".to_owned()))
        );
    }

    #[test]
    fn autoheal_takes_the_given_settings() {
        let fast = Strategy::Autoheal {
            interval: Duration::from_secs(1),
            retries: 1,
            poll: Duration::from_millis(500),
        };
        assert_eq!(Strategy::parse("autoheal", &[fast]), Ok(fast));
        assert_eq!(
            Strategy::parse("autoheal", &[Strategy::Embedded]),
            Ok(AUTOHEAL_DEFAULTS)
        );
        assert_eq!(
            Strategy::parse("alertmanager", &[fast]),
            Ok(ALERTMANAGER_DEFAULTS)
        );
    }

    #[test]
    fn settings_name_every_knob() {
        let settings = AUTOHEAL_DEFAULTS.settings();
        assert_eq!(settings["interval"], "30s");
        assert_eq!(settings["retries"], "3");
        assert_eq!(settings["poll"], "5s");
        assert_eq!(ALERTMANAGER_DEFAULTS.settings()["for"], "60s");
        assert!(Strategy::Embedded.settings().is_empty());
    }

    #[test]
    fn floor_is_a_strategy_of_its_own_without_settings() {
        assert_eq!(Strategy::parse(" floor ", &[]), Ok(Strategy::Floor));
        // Configured settings of other strategies do not turn it into one of them.
        assert_eq!(
            Strategy::parse("floor", &[AUTOHEAL_DEFAULTS, ALERTMANAGER_DEFAULTS]),
            Ok(Strategy::Floor)
        );
        assert!(Strategy::Floor.settings().is_empty());
        assert_eq!(Strategy::Floor.to_string(), "floor");
        // The error names every strategy there is.
        let unknown = Strategy::parse("flor", &[]).unwrap_err().to_string();
        for name in STRATEGY_NAMES {
            assert!(unknown.contains(&format!(" {name}")), "{unknown}");
        }
    }
}
