//! Durations in runbooks (`500ms`, `10s`, `1m30s`), parsed by the shared `specfile` rules so
//! runbooks and scenarios accept the same spellings.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::Deserializer;

/// `deserialize_with` helper for duration fields. It checks the text while the parser still
/// points at it, so errors carry the value's own line and column.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Duration, D::Error> {
    struct DurationVisitor;

    impl Visitor<'_> for DurationVisitor {
        type Value = Duration;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a duration such as 500ms, 10s or 5m")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
            specfile::parse_duration(text).map_err(E::custom)
        }
    }

    deserializer.deserialize_str(DurationVisitor)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Holder {
        #[serde(deserialize_with = "deserialize")]
        d: Duration,
    }

    #[test]
    fn durations_deserialize_with_the_shared_rules() {
        let parsed: Holder = serde_yaml::from_str("d: 1m30s").unwrap();
        assert_eq!(parsed.d, Duration::from_secs(90));
        let err = serde_yaml::from_str::<Holder>("d: 10 parsecs").unwrap_err();
        assert!(err.to_string().contains("expected"), "{err}");
        assert!(err.location().is_some(), "errors are located");
    }
}
