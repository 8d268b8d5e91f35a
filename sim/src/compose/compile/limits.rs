//! A service's resource limits: `mem_limit` and `cpus`, or the same under
//! `deploy.resources.limits`, sizes read as Docker reads them.

use specfile::Scalar;

use super::Compiler;
use crate::compose::spec::{DeploySpec, LimitsSpec, ResourcesSpec};
use crate::scenario::{CPUS, MIN_MEMORY};

impl Compiler<'_> {
    /// `deploy.resources.limits`, its unknown keys reported on the way.
    pub(super) fn limits<'s>(
        &mut self,
        at: &str,
        deploy: Option<&'s DeploySpec>,
    ) -> Option<&'s LimitsSpec> {
        let deploy = deploy?;
        let at = format!("{at}.deploy");
        self.keys(&at, &deploy.unknown, DeploySpec::FIELDS);
        let resources = deploy.resources.as_ref()?;
        self.keys(
            &format!("{at}.resources"),
            &resources.unknown,
            ResourcesSpec::FIELDS,
        );
        let limits = resources.limits.as_ref()?;
        self.keys(
            &format!("{at}.resources.limits"),
            &limits.unknown,
            LimitsSpec::FIELDS,
        );
        Some(limits)
    }

    /// A limit given as `key` or as `deploy.resources.limits.<limit>`, not both.
    fn one_of<'v>(
        &mut self,
        at: &str,
        key: &str,
        limit: &str,
        short: Option<&'v Scalar>,
        long: Option<&'v Scalar>,
    ) -> Option<(String, &'v Scalar)> {
        match (short, long) {
            (Some(_), Some(_)) => {
                self.p.push(
                    &format!("{at}.{key}"),
                    format!("`{key}` and `deploy.resources.limits.{limit}` are both given"),
                    Some("keep one of them".into()),
                );
                None
            }
            (Some(v), None) => Some((format!("{at}.{key}"), v)),
            (None, Some(v)) => Some((format!("{at}.deploy.resources.limits.{limit}"), v)),
            (None, None) => None,
        }
    }

    pub(super) fn memory(
        &mut self,
        at: &str,
        short: Option<&Scalar>,
        long: Option<&Scalar>,
    ) -> Option<u64> {
        let (field, value) = self.one_of(at, "mem_limit", "memory", short, long)?;
        let bytes = self.p.parsed(&field, value.as_str(), compose_size)?;
        if bytes < MIN_MEMORY {
            self.p.push(
                &field,
                format!("{value} is below the 6MiB Docker accepts as a memory limit"),
                None,
            );
            return None;
        }
        Some(bytes)
    }

    pub(super) fn cpus(
        &mut self,
        at: &str,
        short: Option<&Scalar>,
        long: Option<&Scalar>,
    ) -> Option<i64> {
        let (field, value) = self.one_of(at, "cpus", "cpus", short, long)?;
        match value.as_str().parse::<f64>() {
            // In range, so the product fits an i64 with room to spare.
            Ok(cpus) if CPUS.contains(&cpus) => Some((cpus * 1e9).round() as i64),
            _ => {
                self.p.push(
                    &field,
                    format!(
                        "must be between {} and {} CPUs, got {value}",
                        CPUS.start(),
                        CPUS.end()
                    ),
                    None,
                );
                None
            }
        }
    }
}

/// A size as Docker reads one: a number and an optional unit `b`, `k`, `m`, `g` or `t`
/// (1024-based), optionally followed by `b` or `ib`, in any case: `512m`, `1.5G`, `64MiB`.
pub(super) fn compose_size(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let bad =
        || format!("invalid size {text:?}: expected e.g. 512m, 1g, 64MiB or a number of bytes");
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: f64 = number.parse().map_err(|_| bad())?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit
        .strip_suffix('i')
        .filter(|u| !u.is_empty())
        .unwrap_or(unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(bad()),
    };
    Ok((number * (1u64 << shift) as f64) as u64)
}
