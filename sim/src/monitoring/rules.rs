//! The scenario's Prometheus rule files: checked on the host with `promtool check rules` when
//! promtool is installed, and mapped to their paths inside the Prometheus container, so an
//! error Prometheus reports can be told in terms of the user's file.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::config::PROMETHEUS_RULES_DIR;
use super::MonitoringError;

/// A rule file, read, with its path inside the container.
#[derive(Debug, Clone)]
pub struct RuleFile {
    pub host_path: PathBuf,
    pub container_path: String,
    pub content: Vec<u8>,
}

/// Reads every rule file; the container paths keep the file names, prefixed by their position
/// so two files with one name do not collide.
pub fn read_rule_files(paths: &[PathBuf]) -> Result<Vec<RuleFile>, MonitoringError> {
    paths
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let content = std::fs::read(path).map_err(|source| MonitoringError::ReadRules {
                path: path.clone(),
                source,
            })?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "rules.yml".to_owned());
            Ok(RuleFile {
                host_path: path.clone(),
                container_path: format!("{PROMETHEUS_RULES_DIR}/{i}-{name}"),
                content,
            })
        })
        .collect()
}

/// `promtool` on the `PATH`, if installed.
pub fn find_promtool() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("promtool"))
        .find(|candidate| candidate.is_file())
}

/// Runs `promtool check rules` on each file; the first failure becomes an error naming the file
/// and carrying promtool's explanation.
pub fn check_rule_files(promtool: &Path, paths: &[PathBuf]) -> Result<(), MonitoringError> {
    for path in paths {
        let output = Command::new(promtool)
            .args(["check", "rules"])
            .arg(path)
            .output()
            .map_err(|source| MonitoringError::Promtool {
                promtool: promtool.to_owned(),
                source,
            })?;
        if !output.status.success() {
            let mut detail = String::from_utf8_lossy(&output.stderr).into_owned();
            detail.push_str(&String::from_utf8_lossy(&output.stdout));
            return Err(MonitoringError::InvalidRules {
                path: path.clone(),
                detail: detail.trim().to_owned(),
            });
        }
    }
    Ok(())
}

/// If Prometheus's log blames a rule file, the error naming the user's file, with the log lines
/// that mention it (container paths replaced by host paths).
pub fn blame_rule_file(rules: &[RuleFile], log: &str) -> Option<MonitoringError> {
    let rule = rules.iter().find(|r| log.contains(&r.container_path))?;
    let host = rule.host_path.display().to_string();
    let detail: Vec<String> = log
        .lines()
        .filter(|line| line.contains(&rule.container_path))
        .map(|line| line.replace(&rule.container_path, &host))
        .collect();
    Some(MonitoringError::InvalidRules {
        path: rule.host_path.clone(),
        detail: detail.join("\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_paths_keep_names_apart() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::create_dir(&a).unwrap();
        std::fs::write(a.join("x.yml"), "groups: []").unwrap();
        std::fs::write(dir.path().join("x.yml"), "groups: []").unwrap();
        let rules = read_rule_files(&[a.join("x.yml"), dir.path().join("x.yml")]).unwrap();
        assert_eq!(rules[0].container_path, "/etc/sim/rules/0-x.yml");
        assert_eq!(rules[1].container_path, "/etc/sim/rules/1-x.yml");
        assert_eq!(rules[1].content, b"groups: []");
    }

    #[test]
    fn a_missing_rule_file_is_named() {
        let err = read_rule_files(&[PathBuf::from("/nonexistent/r.yml")]).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/r.yml"), "{err}");
    }

    #[test]
    fn prometheus_log_lines_are_told_in_terms_of_the_users_file() {
        let rules = vec![RuleFile {
            host_path: PathBuf::from("scenarios/rules/bad.yml"),
            container_path: "/etc/sim/rules/0-bad.yml".to_owned(),
            content: Vec::new(),
        }];
        let log = "level=info msg=starting\n\
                   level=error msg=\"Error loading config\" err=\"/etc/sim/rules/0-bad.yml: 5:15: parse error\"\n";
        let err = blame_rule_file(&rules, log).unwrap();
        let text = err.to_string();
        assert!(
            text.contains("scenarios/rules/bad.yml: 5:15: parse error"),
            "{text}"
        );
        assert!(!text.contains("starting"), "{text}");
        assert!(blame_rule_file(&rules, "all fine").is_none());
    }
}
