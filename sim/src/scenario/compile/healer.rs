//! The `healer` section: the runbooks, given by name or by path, each resolved to a file.

use std::path::{Path, PathBuf};

use super::Compiler;
use crate::scenario::spec::HealerSpec;

/// A runbook entry that is a path (`runbooks/x.yaml`) rather than a name (`x`).
fn is_runbook_path(entry: &str) -> bool {
    entry.contains(['/', '\\']) || entry.ends_with(".yaml") || entry.ends_with(".yml")
}

impl Compiler<'_> {
    /// The runbook files, each checked to exist.
    pub(super) fn runbooks(&mut self, spec: HealerSpec) -> Vec<PathBuf> {
        self.p
            .unknown_fields("healer", &spec.unknown, HealerSpec::FIELDS);
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
