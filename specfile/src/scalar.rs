//! [`Scalar`]: a leaf value kept as written, whatever YAML type it was read as, so that
//! `memory: 4096`, `memory: 4KiB` and `env: { N: 2000 }` all reach the compile step as text.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A YAML string, number or boolean, as text. The compile step parses and checks it, so every bad
/// value in a file can be reported at once instead of stopping at the first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scalar(pub String);

impl Scalar {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl Visitor<'_> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a single value such as 30s, 64MiB, 5% or 2000")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn strings_numbers_and_booleans_become_text() {
        let text = "a: 64MiB\nb: 4096\nc: -3\nd: 1.5\ne: true\nf: \"2000\"\n";
        let map: BTreeMap<String, Scalar> = serde_yaml::from_str(text).unwrap();
        let got: Vec<&str> = map.values().map(Scalar::as_str).collect();
        assert_eq!(got, ["64MiB", "4096", "-3", "1.5", "true", "2000"]);
    }

    #[test]
    fn lists_and_maps_are_refused_with_what_was_expected() {
        let err = serde_yaml::from_str::<BTreeMap<String, Scalar>>("a: [1, 2]\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a single value such as 30s"),
            "{err}"
        );
    }
}
