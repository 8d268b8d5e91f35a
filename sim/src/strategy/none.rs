//! `--strategy none`: nobody heals, the baseline the others are compared with.

use super::Strategy;

/// Nobody: the baseline.
#[derive(Debug)]
pub(super) struct Nobody;

impl Strategy for Nobody {
    fn name(&self) -> &'static str {
        "none"
    }
}
