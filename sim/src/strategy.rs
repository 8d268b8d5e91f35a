//! The healing strategies a scenario can be run with: nothing, Docker's restart policy,
//! docker-autoheal's behaviour, or the embedded healer. Same scenario, same load, same faults:
//! only who heals changes, so `sim compare` can put them side by side.

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
    /// The embedded healer with the scenario's runbooks.
    Embedded,
}

/// docker-autoheal at its defaults: Docker's HEALTHCHECK defaults (30s interval, 3 retries) and
/// autoheal's 5s poll.
pub const AUTOHEAL_DEFAULTS: Strategy = Strategy::Autoheal {
    interval: Duration::from_secs(30),
    retries: 3,
    poll: Duration::from_secs(5),
};

/// The names `--strategy` and `--strategies` accept.
pub const STRATEGY_NAMES: [&str; 4] = ["none", "docker-restart", "autoheal", "embedded"];

/// A strategy name `sim` does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown strategy {0:?}; expected one of: none, docker-restart, autoheal, embedded")]
#[non_exhaustive]
pub struct UnknownStrategy(pub String);

impl Strategy {
    /// The strategy called `name`; `autoheal` takes its settings from `autoheal`.
    pub fn parse(name: &str, autoheal: Strategy) -> Result<Strategy, UnknownStrategy> {
        match name.trim() {
            "none" => Ok(Strategy::None),
            "docker-restart" => Ok(Strategy::DockerRestart),
            "autoheal" => Ok(match autoheal {
                Strategy::Autoheal { .. } => autoheal,
                _ => AUTOHEAL_DEFAULTS,
            }),
            "embedded" => Ok(Strategy::Embedded),
            other => Err(UnknownStrategy(other.to_owned())),
        }
    }

    /// The name the journal, the CLI and the comparison use.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::None => "none",
            Strategy::DockerRestart => "docker-restart",
            Strategy::Autoheal { .. } => "autoheal",
            Strategy::Embedded => "embedded",
        }
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
            let strategy = Strategy::parse(name, AUTOHEAL_DEFAULTS).unwrap();
            assert_eq!(strategy.name(), name);
        }
        assert_eq!(
            Strategy::parse("restart", AUTOHEAL_DEFAULTS),
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
        assert_eq!(Strategy::parse("autoheal", fast), Ok(fast));
        assert_eq!(
            Strategy::parse("autoheal", Strategy::Embedded),
            Ok(AUTOHEAL_DEFAULTS)
        );
    }
}
