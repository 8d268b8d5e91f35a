//! The configuration files sim generates for Prometheus and Alertmanager, and where they live
//! inside the containers.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

/// Prometheus's configuration file inside its container.
pub const PROMETHEUS_CONFIG: &str = "/etc/sim/prometheus.yml";
/// The scrape targets (file service discovery) inside Prometheus's container.
pub const PROMETHEUS_TARGETS: &str = "/etc/sim/targets.json";
/// Directory of the scenario's rule files inside Prometheus's container.
pub const PROMETHEUS_RULES_DIR: &str = "/etc/sim/rules";
/// Alertmanager's configuration file inside its container.
pub const ALERTMANAGER_CONFIG: &str = "/etc/sim/alertmanager.yml";
/// Prometheus's listen port inside its container.
pub const PROMETHEUS_PORT: u16 = 9090;
/// Alertmanager's listen port inside its container.
pub const ALERTMANAGER_PORT: u16 = 9093;
/// The receiver name in the generated Alertmanager route.
pub const RECEIVER: &str = "sim";

/// One Prometheus scrape job and its targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeJob {
    /// The `job` label, e.g. `leaky`.
    pub job: String,
    pub targets: Vec<ScrapeTarget>,
}

/// One target: `host:port` on the run network, and labels added to its series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeTarget {
    /// e.g. `sim-<run>-t1-leaky-0:8080`.
    pub address: String,
    /// e.g. `container=leaky-0`, so an alert names the replica as the journal knows it.
    pub labels: BTreeMap<String, String>,
}

/// Intervals of the alerting pipeline. Prometheus's and Alertmanager's defaults (1 min scrape
/// and evaluation, 30 s group wait, 5 min group interval) are sized for production; a test
/// needs seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub scrape_interval: Duration,
    pub evaluation_interval: Duration,
    pub group_wait: Duration,
    pub group_interval: Duration,
    pub repeat_interval: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            scrape_interval: Duration::from_secs(1),
            evaluation_interval: Duration::from_secs(1),
            group_wait: Duration::from_secs(1),
            group_interval: Duration::from_secs(1),
            repeat_interval: Duration::from_secs(60),
        }
    }
}

/// `prometheus.yml`: every job from [`PROMETHEUS_TARGETS`], the given rule files (paths
/// inside the container), alerts to Alertmanager at `alertmanager` (`host:port`).
pub fn prometheus_yml(
    jobs: &[ScrapeJob],
    rule_files: &[String],
    alertmanager: &str,
    timing: &Timing,
) -> String {
    let scrape_configs: Vec<Value> = jobs
        .iter()
        .map(|job| {
            json!({
                "job_name": job.job,
                "scrape_interval": duration(timing.scrape_interval),
                "scrape_timeout": duration(timing.scrape_interval),
                "file_sd_configs": [{
                    "files": [targets_path(&job.job)],
                    "refresh_interval": duration(timing.scrape_interval),
                }],
            })
        })
        .collect();
    let config = json!({
        "global": {
            "scrape_interval": duration(timing.scrape_interval),
            "evaluation_interval": duration(timing.evaluation_interval),
        },
        "rule_files": rule_files,
        "alerting": {
            "alertmanagers": [{ "static_configs": [{ "targets": [alertmanager] }] }],
        },
        "scrape_configs": scrape_configs,
    });
    yaml(&config)
}

/// The file-discovery file of one job, inside the container.
pub fn targets_path(job: &str) -> String {
    let safe: String = job
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    PROMETHEUS_TARGETS.replace("targets", &format!("targets-{safe}"))
}

/// The file-discovery content of one job (JSON, Prometheus's `file_sd` format).
pub fn targets_json(job: &ScrapeJob) -> String {
    let groups: Vec<Value> = job
        .targets
        .iter()
        .map(|t| json!({ "targets": [t.address], "labels": t.labels }))
        .collect();
    Value::Array(groups).to_string()
}

/// `alertmanager.yml`: one route, every alert its own group (`group_by: ['...']`), delivered to
/// `webhook_url` with resolutions too.
pub fn alertmanager_yml(webhook_url: &str, timing: &Timing) -> String {
    let config = json!({
        "route": {
            "receiver": RECEIVER,
            "group_by": ["..."],
            "group_wait": duration(timing.group_wait),
            "group_interval": duration(timing.group_interval),
            "repeat_interval": duration(timing.repeat_interval),
        },
        "receivers": [{
            "name": RECEIVER,
            "webhook_configs": [{ "url": webhook_url, "send_resolved": true }],
        }],
    });
    yaml(&config)
}

/// A Prometheus duration: whole seconds as `5s`, anything finer in milliseconds (`250ms`).
pub fn duration(d: Duration) -> String {
    if d.as_secs() > 0 && d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis().max(1))
    }
}

fn yaml(value: &Value) -> String {
    // A `serde_json::Value` always serializes; the fallback (JSON is YAML) keeps it panic-free.
    serde_yaml::to_string(value).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaky_job() -> ScrapeJob {
        ScrapeJob {
            job: "leaky".to_owned(),
            targets: vec![ScrapeTarget {
                address: "sim-r-t1-leaky-0:8080".to_owned(),
                labels: BTreeMap::from([("container".to_owned(), "leaky-0".to_owned())]),
            }],
        }
    }

    #[test]
    fn durations_use_prometheus_units() {
        assert_eq!(duration(Duration::from_secs(1)), "1s");
        assert_eq!(duration(Duration::from_millis(250)), "250ms");
        assert_eq!(duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(duration(Duration::ZERO), "1ms");
    }

    #[test]
    fn prometheus_config_scrapes_jobs_loads_rules_and_alerts_alertmanager() {
        let rules = vec!["/etc/sim/rules/0-leaky.rules.yml".to_owned()];
        let text = prometheus_yml(&[leaky_job()], &rules, "am:9093", &Timing::default());
        let config: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(config["global"]["scrape_interval"], "1s");
        assert_eq!(config["global"]["evaluation_interval"], "1s");
        assert_eq!(config["rule_files"][0], "/etc/sim/rules/0-leaky.rules.yml");
        let am = &config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"][0];
        assert_eq!(am, "am:9093");
        let job = &config["scrape_configs"][0];
        assert_eq!(job["job_name"], "leaky");
        assert_eq!(
            job["file_sd_configs"][0]["files"][0],
            "/etc/sim/targets-leaky.json"
        );
    }

    #[test]
    fn targets_carry_their_labels() {
        let targets: serde_json::Value = serde_json::from_str(&targets_json(&leaky_job())).unwrap();
        assert_eq!(targets[0]["targets"][0], "sim-r-t1-leaky-0:8080");
        assert_eq!(targets[0]["labels"]["container"], "leaky-0");
        assert_eq!(targets_path("a b/c"), "/etc/sim/targets-a_b_c.json");
    }

    #[test]
    fn alertmanager_config_routes_everything_to_the_webhook_quickly() {
        let text = alertmanager_yml("http://172.18.0.1:4000/alerts", &Timing::default());
        let config: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(config["route"]["receiver"], RECEIVER);
        assert_eq!(config["route"]["group_wait"], "1s");
        assert_eq!(config["route"]["group_by"][0], "...");
        let hook = &config["receivers"][0]["webhook_configs"][0];
        assert_eq!(hook["url"], "http://172.18.0.1:4000/alerts");
        assert_eq!(hook["send_resolved"], true);
    }
}
