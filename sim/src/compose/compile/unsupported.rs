//! The keys of the Compose specification sim does not support, section by section, and what to
//! write instead: each is a located error, so nothing in a file is silently skipped.

/// Top level.
const TOP: &[&str] = &["secrets", "configs", "include", "models"];

/// A service.
const SERVICE: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "configs",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpuset",
    "credential_spec",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "env_file",
    "extends",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "hostname",
    "init",
    "ipc",
    "isolation",
    "label_file",
    "links",
    "logging",
    "mac_address",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "network_mode",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "post_start",
    "pre_stop",
    "privileged",
    "profiles",
    "provider",
    "pull_policy",
    "read_only",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "use_api_socket",
    "user",
    "userns_mode",
    "uts",
    "volumes_from",
    "working_dir",
];

const DEPLOY: &[&str] = &[
    "mode",
    "placement",
    "endpoint_mode",
    "labels",
    "restart_policy",
    "rollback_config",
    "update_config",
];

const BUILD: &[&str] = &[
    "additional_contexts",
    "cache_from",
    "cache_to",
    "dockerfile_inline",
    "entitlements",
    "extra_hosts",
    "isolation",
    "labels",
    "network",
    "no_cache",
    "platforms",
    "privileged",
    "pull",
    "secrets",
    "shm_size",
    "ssh",
    "tags",
    "target",
    "ulimits",
];

/// A service's entry under `networks:`.
const SERVICE_NETWORK: &[&str] = &[
    "driver_opts",
    "gw_priority",
    "interface_name",
    "ipv4_address",
    "ipv6_address",
    "link_local_ips",
    "mac_address",
    "priority",
];

/// An entry of the top-level `volumes:` and `networks:`.
const DECLARED: &[&str] = &[
    "attachable",
    "driver_opts",
    "enable_ipv6",
    "external",
    "internal",
    "ipam",
    "labels",
    "name",
];

/// Why `key` (of the map at `parent`) cannot be used, and what to do, if it is a key of the
/// Compose specification sim does not support; `None` for a key the specification lacks.
pub(super) fn why(parent: &str, key: &str) -> Option<(String, String)> {
    if key == "<<" {
        return Some((
            "sim does not support YAML merge keys (`<<`)".into(),
            "write the merged keys out in this map".into(),
        ));
    }
    let segments: Vec<&str> = parent.split('.').collect();
    let last = segments.last().copied().unwrap_or_default();
    let second_last = segments.len().checked_sub(2).map(|i| segments[i]);
    let service = segments.first() == Some(&"services") && segments.len() == 2;
    let unsupported = match (parent, last, second_last) {
        ("", ..) => TOP,
        _ if service => SERVICE,
        (_, "deploy", _) => DEPLOY,
        (_, "resources", _) => &["reservations"],
        (_, "limits", _) => &["devices", "pids"],
        (_, "healthcheck", _) => &["start_interval"],
        (_, "build", _) => BUILD,
        (_, _, Some("depends_on")) => &["required", "restart"],
        (_, _, Some("networks")) if segments[0] == "services" => SERVICE_NETWORK,
        (_, _, Some("volumes" | "networks")) if segments.len() == 2 => DECLARED,
        _ if last.starts_with("volumes[") => &["bind", "consistency", "image", "tmpfs", "volume"],
        _ => &[],
    };
    if !unsupported.contains(&key) {
        return None;
    }
    Some(match (key, last) {
        ("restart_policy", _) => restart("deploy.restart_policy"),
        ("scale", _) => (
            "sim does not support `scale`".into(),
            "write `deploy: { replicas: N }` instead".into(),
        ),
        ("env_file", _) => (
            "sim does not support `env_file`".into(),
            "write the variables under `environment:`".into(),
        ),
        ("links" | "external_links" | "network_mode", _) => (
            format!(
                "sim does not support `{key}`: it puts the whole project on the run's one network"
            ),
            "remove it; services reach each other by service name".into(),
        ),
        _ if service => (
            format!("sim does not support `{key}`"),
            "remove it, or run this service outside the scenario".into(),
        ),
        _ => (
            format!("sim does not support `{key}` here"),
            "remove it".into(),
        ),
    })
}

/// Why a restart policy (`what`, as written) is refused, and the fix.
pub(super) fn restart(what: &str) -> (String, String) {
    (
        format!(
            "sim does not support `{what}`: Docker would restart containers behind the healer's \
             back, and the healing is what sim measures"
        ),
        "remove it (or write `restart: \"no\"`); to measure Docker's own restarts, run with \
         `--strategy docker-restart`"
            .into(),
    )
}
